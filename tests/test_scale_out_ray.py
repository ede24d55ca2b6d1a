"""Ray for real (issue 18): a local head on 127.0.0.1, the N2N pool on it, worker deaths, a Hydra sweep.

The head is ``ray start --head --block`` in its own session, bound to 127.0.0.1 only and stopped (SIGTERM
to its PID, then its process group) at the end of the module. Needs ``pip install -e '.[ray]'``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from benchmarks.n2n_settings import TINY
from envs.compression.pool import PoolError, check_ray_address

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Ray (2.60) authenticates every connection with a token; the head, this process and the CLI runs share one
#: made for this module (not whatever ~/.ray/auth_token holds). Ray reads the mode when it is imported, so
#: it is set before any test imports Ray.
RAY_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
os.environ.update(RAY_AUTH)


def _ray_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(RAY_AUTH)
    env.update(
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # node IP 127.0.0.1: every Ray server binds loopback only
        RAY_USAGE_STATS_ENABLED="0",
        OMP_NUM_THREADS="1",
        PYTHONHASHSEED="0",
        PYTHONPATH=f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}",  # workers import this tree
    )
    return env


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _listen_addresses(pids: list[int]) -> set[str]:
    """IPs on which ``pids`` have listening TCP sockets (from /proc/net/tcp{,6})."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ips = set()
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A = LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            if v6:
                words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
                addr = socket.inet_ntop(socket.AF_INET6, b"".join(words))
                ips.add(addr.removeprefix("::ffff:"))
            else:
                ips.add(socket.inet_ntoa(raw[::-1]))
    return ips


@pytest.fixture(scope="module")
def ray_head():
    """``host:port`` of a 2-CPU Ray head on 127.0.0.1, stopped when the module's tests are done."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must stay under 107 characters
    cmd = [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--object-store-memory=100000000",
        f"--temp-dir={temp}",
        "--disable-usage-stats",
    ]
    log = open(Path(temp) / "head.log", "w")
    head = subprocess.Popen(cmd, env=_ray_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                check_ray_address(address, timeout=1.0)
                break
            except PoolError:
                if head.poll() is not None or time.time() > deadline:
                    pytest.fail(
                        f"the Ray head did not start: {(Path(temp) / 'head.log').read_text()[-2000:]}"
                    )
                time.sleep(1)
        yield address, head.pid
    finally:
        if ray.is_initialized():
            ray.shutdown()
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops the daemons it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        for pid in _group_pids(head.pid):  # anything of that session still alive
            os.kill(pid, signal.SIGKILL)
        log.close()


def test_unreachable_head_is_a_one_line_error() -> None:
    address = f"127.0.0.1:{_free_port()}"  # nothing listens there
    with pytest.raises(PoolError) as err:
        check_ray_address(address, timeout=2.0)
    message = str(err.value)
    assert address in message and "\n" not in message and "ray start --head" in message


@pytest.mark.slow  # Ray head start-up (~20 s) + a 4-update N2N search twice
def test_ray_pool_search_matches_serial(ray_head, tmp_path: Path) -> None:
    import ray

    from agents.core.env_factory import EnvConfig, EnvFactory
    from agents.core.seeding import seed_everything
    from agents.n2n.learner import N2NConfig, N2NLearner
    from envs.compression import core

    address, head_pid = ray_head
    assert _listen_addresses(_group_pids(head_pid)) <= {"127.0.0.1"}, "a Ray server listens beyond loopback"
    kwargs = {**TINY, "cache_dir": str(tmp_path / "teachers")}
    factory = EnvFactory(EnvConfig(name="n2n-resnet18", id="pgsuite/N2NRemoval-ResNet18-v0", kwargs=kwargs))

    def search(**pool) -> tuple[list[dict], dict, list]:
        core._CORES.clear()  # a fresh reward cache: every student is trained again
        seed_everything(0)  # as the run loop does: the policies sample from the global RNG
        cfg = N2NConfig(stage1_iterations=2, stage2_iterations=2, rollouts=3, finetune_epochs=1, **pool)
        learner = N2NLearner(cfg, factory, seed=0)
        learner.total_steps = 12
        try:
            metrics = list(learner.train_until(12))
            cache = dict(learner.core.cache)
            rewards = [(c.stage, c.spec_json, c.reward) for c in learner.candidates]
        finally:
            learner.close()
        return metrics, cache, rewards

    factory.make(seed=0).close()  # train and cache the teacher first: both searches then load it
    serial = search(workers=0)
    on_ray = search(pool="ray", workers=2, ray_address=address)
    assert not ray.is_initialized(), "the pool must disconnect on close"
    assert serial[1] and len(serial[1]) >= 4  # students were trained, not all degenerate
    assert on_ray[0] == serial[0]  # every update's metrics
    assert on_ray[1] == serial[1]  # the reward cache: same architectures, same accuracies
    assert on_ray[2] == serial[2]


def _worker_killer(kills: int, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the Ray worker process running a student, ``kills`` times (each time a new one appears)."""
    while not stop.is_set() and len(killed) < kills:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in killed:
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::train_student_task"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
                break
        time.sleep(0.05)


@pytest.mark.slow  # Ray head + one student trained 3 times
def test_killed_worker_is_retried_once_then_failed(ray_head, tmp_path: Path, caplog) -> None:
    import gymnasium as gym
    import numpy as np

    from envs.compression import core
    from envs.compression.pool import RayPool, SerialPool

    address, _ = ray_head
    kwargs = {**TINY, "student_epochs": 20, "cache_dir": str(tmp_path / "teachers")}
    env = gym.make("pgsuite/N2NRemoval-ResNet18-v0", **kwargs).unwrapped
    cfg = env.cfg
    spec = env.student_spec((np.random.default_rng(0).random(env.num_layers) < 0.7).astype(np.int8))
    expected = SerialPool(cfg).train([spec])[0]["val_acc"]

    pool = RayPool(cfg, address=address)
    try:
        for kills in (1, 2):
            stop, killed = threading.Event(), []
            killer = threading.Thread(target=_worker_killer, args=(kills, stop, killed), daemon=True)
            killer.start()
            core._CORES.clear()
            oracle = core.get_core(cfg)
            with caplog.at_level("WARNING", logger="envs.compression.pool"):
                ((reward, info),) = oracle.evaluate([spec], env.parent_params, pool=pool)
            stop.set()
            killer.join()
            assert len(killed) == kills
            if kills == 1:  # retried once on a fresh worker: the same student, the same accuracy
                assert info["val_acc"] == expected and not info["degenerate"]
            else:  # killed again: recorded as failed, reward −1, the reason logged; not cached
                assert reward == -1.0 and info["degenerate"]
                assert "after 2 tries" in info["reason"] and "WorkerCrashedError" in info["reason"]
                assert "recorded as failed" in caplog.text and info["arch_hash"] in caplog.text
                assert info["arch_hash"] not in oracle.cache
    finally:
        pool.close()


@pytest.mark.slow  # 4 smoke runs as Ray tasks on the 2-CPU head, then the report
def test_ray_launcher_sweep_and_report(ray_head, tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install -e '.[ray]'")
    address, _ = ray_head
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        "-m",
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        "seed=0,1,2,3",
        "hydra/launcher=ray",
        f"hydra.launcher.ray.init.address={address}",
        f"run.root={tmp_path}",
        "run.progress=false",
        "logger.tensorboard=false",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=_ray_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = sorted(p.parent for p in tmp_path.rglob("run.json"))
    assert len(runs) == 4
    assert all(json.loads((r / "run.json").read_text())["status"] == "finished" for r in runs)
    sweep = json.loads(next(tmp_path.rglob("sweep.json")).read_text())
    assert sweep["engine"] == "ray" and sweep["failed"] == 0
    assert sorted(j["run_dir"] for j in sweep["jobs"]) == [str(r) for r in runs]
    report = subprocess.run(
        [sys.executable, "-m", "agents.report", str(tmp_path), "formats=png"],
        cwd=ROOT,
        env=_ray_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    text = (tmp_path / "report" / "report.md").read_text()
    assert "4 run(s) (4 finished" in text


@pytest.mark.slow  # the CLI builds the smoke teacher before the first update opens the pool
def test_cli_unreachable_head_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    address = f"127.0.0.1:{_free_port()}"
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        "env=n2n-resnet18",
        "budget=smoke",
        f"run.root={tmp_path}",
        "agent.pool=ray",
        f"agent.ray_address={address}",
        "run.progress=false",
        "logger.tensorboard=false",
    ]
    env = {**_ray_env(), "PGSUITE_TEACHER_CACHE": str(tmp_path / "teachers")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"Ray head at {address} is unreachable" in errors[0]
    assert "Traceback" not in proc.stderr
