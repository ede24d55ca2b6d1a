"""SLURM through submitit (issue 18): a single-node SLURM on 127.0.0.1 (scripts/slurm_local.sh) runs a
2-run smoke sweep with ``hydra/launcher=slurm``; a failing job is listed as failed in the sweep's report
and by ``agents.report``. The same failure path through submitit's local executor needs no SLURM.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm_local.sh"
SMOKE = ["env=cartpole", "agent=sb3-ppo", "budget=smoke", "run.progress=false", "logger.tensorboard=false"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONHASHSEED="0", **extra)
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


def _sweep(
    root: Path, launcher: list[str], *overrides: str, env: dict[str, str]
) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "agents.train", "-m", *SMOKE, f"run.root={root}", *launcher, *overrides]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def _sweep_report(root: Path) -> dict:
    (path,) = list(root.rglob("sweep.json"))
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def slurm_conf():
    """SLURM_CONF of a private single-node SLURM (own munge key, ports, state dir), stopped afterwards."""
    missing = [t for t in ("munged", "slurmctld", "slurmd", "sbatch", "squeue") if shutil.which(t) is None]
    if missing:
        pytest.skip(
            f"SLURM is not installed ({', '.join(missing)} missing): bash scripts/slurm_local.sh install"
        )
    if os.geteuid() != 0:
        pytest.skip("a local SLURM's daemons need root")
    state = tempfile.mkdtemp(prefix="slurm")
    env = _env(
        SLURM_LOCAL_DIR=state,
        SLURM_LOCAL_CTLD_PORT=str(_free_port()),
        SLURM_LOCAL_SLURMD_PORT=str(_free_port()),
    )
    start = subprocess.run(
        ["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120
    )
    try:
        assert start.returncode == 0, start.stderr
        yield start.stdout.strip().removeprefix("export SLURM_CONF=")
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=60)


@pytest.mark.slow  # two smoke runs as SLURM jobs (~1 min on 2 cores), then a failing one
def test_slurm_sweep_finishes_and_reports_a_failed_job(slurm_conf: str, tmp_path: Path) -> None:
    env = _env(SLURM_CONF=slurm_conf)
    launcher = [
        "hydra/launcher=slurm",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=2",
        "hydra.launcher.timeout_min=15",
    ]
    ok = _sweep(tmp_path / "ok", launcher, "seed=0,1", env=env)
    assert ok.returncode == 0, ok.stderr[-3000:]
    runs = sorted(p.parent for p in (tmp_path / "ok").rglob("run.json"))
    assert len(runs) == 2
    assert all(json.loads((r / "run.json").read_text())["status"] == "finished" for r in runs)
    report = _sweep_report(tmp_path / "ok")
    assert report["engine"] == "submitit/slurm" and report["failed"] == 0
    assert all(j["engine_id"].split("_")[0].isdigit() for j in report["jobs"])  # real SLURM job ids

    bad = _sweep(tmp_path / "ok", launcher, "seed=2", "+agent.hyperparams.n_steps=0", env=env)
    assert bad.returncode != 0  # Hydra raises the failure after the sweep's report is written
    failed = [
        j
        for p in (tmp_path / "ok").rglob("sweep.json")
        for j in json.loads(p.read_text())["jobs"]
        if j["status"] == "failed"
    ]
    assert len(failed) == 1 and "n_steps=0" in " ".join(failed[0]["overrides"]) and failed[0]["reason"]
    proc = subprocess.run(
        [sys.executable, "-m", "agents.report", str(tmp_path / "ok"), "formats=png"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = (tmp_path / "ok" / "report" / "report.md").read_text()
    assert "2 run(s) (2 finished" in text and "sweep job #0 failed" in text and "n_steps=0" in text


@pytest.mark.slow  # two smoke jobs as local processes through submitit
def test_submitit_local_sweep_lists_failed_job(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install -e '.[launchers]'")
    proc = _sweep(
        tmp_path, ["hydra/launcher=submitit"], "seed=0", "+agent.hyperparams.n_steps=64,0", env=_env()
    )
    assert proc.returncode != 0
    jobs = {j["num"]: j for j in _sweep_report(tmp_path)["jobs"]}
    assert jobs[0]["status"] == "finished" and Path(jobs[0]["run_dir"], "run.json").is_file()
    assert jobs[1]["status"] == "failed" and jobs[1]["reason"]
    assert "sweep.md" in os.listdir(Path(next(tmp_path.rglob("sweep.json")).parent))


@pytest.mark.slow  # one SLURM job cancelled while it runs (no accounting: found through squeue)
def test_slurm_job_killed_mid_run_is_listed_failed(slurm_conf: str, tmp_path: Path) -> None:
    env = _env(SLURM_CONF=slurm_conf)
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        "-m",
        *SMOKE,
        f"run.root={tmp_path}",
        "seed=0,1",
        "hydra/launcher=slurm",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=2",
    ]
    sweep = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        target = None
        for _ in range(300):  # cancel task 1 of the array once it runs
            out = subprocess.run(
                ["squeue", "-h", "-r", "-t", "R", "-o", "%i"], env=env, capture_output=True, text=True
            ).stdout.split()
            target = next((i for i in out if i.endswith("_1")), None)
            if target or sweep.poll() is not None:
                break
            time.sleep(0.5)
        assert target, "the job never ran"
        subprocess.run(["scancel", target], env=env, check=True)
        output, _ = sweep.communicate(timeout=600)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode != 0
    jobs = {j["num"]: j for j in _sweep_report(tmp_path)["jobs"]}
    assert jobs[0]["status"] == "finished", output[-2000:]
    assert jobs[1]["status"] == "failed" and jobs[1]["engine_id"] == target
    assert "left the SLURM queue without a result" in jobs[1]["reason"]
