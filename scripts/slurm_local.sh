#!/usr/bin/env bash
# A single-node SLURM on this machine (controller + compute daemon on 127.0.0.1), for trying
# `hydra/launcher=slurm` sweeps without a cluster. Needs root and the Debian packages slurm-wlm and munge.
#
#   bash scripts/slurm_local.sh install   # apt-get install slurm-wlm munge (once)
#   eval "$(bash scripts/slurm_local.sh start)"   # starts munged, slurmctld, slurmd; prints `export SLURM_CONF=...`
#   python -m agents.train -m env=cartpole agent=sb3-ppo budget=smoke seed=0,1 hydra/launcher=slurm
#   bash scripts/slurm_local.sh stop      # stops exactly the daemons it started (by their PID files)
#
# Everything lives under $SLURM_LOCAL_DIR (default /tmp/pgsuite-slurm): its own munge key and socket, a
# minimal slurm.conf (no cgroups: proctrack/linuxproc, task/none; no accounting database), state, logs.
# Partition `local`, one node with this machine's CPUs and memory. Not for production: daemons run as root.
set -euo pipefail

DIR="${SLURM_LOCAL_DIR:-/tmp/pgsuite-slurm}"
CONF="$DIR/slurm.conf"
SOCK="$DIR/munge/munge.socket.2"
NODE="$(hostname -s)"

die() { echo "slurm_local: $*" >&2; exit 1; }

need_tools() {
    for t in munged slurmctld slurmd sbatch squeue sinfo; do
        command -v "$t" >/dev/null || die "$t not found: run 'bash scripts/slurm_local.sh install' (Debian: slurm-wlm munge)"
    done
    [ "$(id -u)" = 0 ] || die "the daemons of a local SLURM need root (they run as SlurmUser=root here)"
}

write_conf() {
    local cpus mem_mb
    cpus="$(nproc)"
    mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    chmod 0755 "$DIR"  # munged runs as user munge and must reach $DIR/munge (mktemp -d makes 0700)
    cat >"$CONF" <<EOF
ClusterName=pgsuite-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=${SLURM_LOCAL_CTLD_PORT:-6817}
SlurmdPort=${SLURM_LOCAL_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
LaunchParameters=enable_nss_slurm
KillWait=5
InactiveLimit=0
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    mkdir -p "$DIR/munge"
    chown munge:munge "$DIR/munge" 2>/dev/null || true
    chmod 0700 "$DIR/munge"
    if [ ! -s "$DIR/munge/munge.key" ]; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    fi
    chown munge:munge "$DIR/munge/munge.key" 2>/dev/null || true
    chmod 0400 "$DIR/munge/munge.key"
    # --force: the state folder sits under /tmp, which munged otherwise refuses as world-writable.
    runuser -u munge -- munged --force --socket="$SOCK" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
        --seed-file="$DIR/munge/munged.seed" >/dev/null 2>&1 || die "munged did not start: see $DIR/munge/munged.log"
}

wait_node_idle() {
    for _ in $(seq 1 60); do
        state="$(SLURM_CONF="$CONF" sinfo -h -n "$NODE" -o %T 2>/dev/null || true)"
        case "$state" in idle*|mixed*|allocated*) return 0 ;; esac
        sleep 1
    done
    die "node $NODE is not idle after 60 s (state: ${state:-none}); logs: $DIR/log"
}

case "${1:-}" in
    install)
        [ "$(id -u)" = 0 ] || die "install needs root"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >&2
        ;;
    start)
        need_tools
        [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null \
            && die "already running (stop it first: bash scripts/slurm_local.sh stop)"
        write_conf
        start_munge
        slurmctld -f "$CONF" -i >"$DIR/log/slurmctld.out" 2>&1 || die "slurmctld did not start: see $DIR/log"
        slurmd -f "$CONF" >"$DIR/log/slurmd.out" 2>&1 || die "slurmd did not start: see $DIR/log"
        wait_node_idle
        echo "export SLURM_CONF=$CONF"
        ;;
    stop)
        for pidfile in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
            if [ -f "$pidfile" ]; then
                pid="$(cat "$pidfile")"
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
                rm -f "$pidfile"
            fi
        done
        ;;
    status)
        SLURM_CONF="$CONF" sinfo
        ;;
    *)
        die "usage: bash scripts/slurm_local.sh install|start|stop|status"
        ;;
esac
