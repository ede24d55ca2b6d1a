"""A run killed mid-way (SIGKILL) and resumed with ``resume=auto`` ends identical to an uninterrupted run."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from agents.runtime.checkpoint import load_checkpoint
from agents.runtime.rundir import effective_status
from tests.conftest import ROOT, cli_env

CASES = {
    # on-policy, 8 vectorized envs
    "ppo": [
        "env=cartpole",
        "agent=sb3-ppo",
        "run.total_steps=6144",
        "run.checkpoint_every=1024",
        "run.eval_every=2048",
    ],
    # off-policy with its replay buffer in the checkpoint
    "sac": [
        "env=pendulum",
        "agent=sb3-sac",
        "run.total_steps=900",
        "run.checkpoint_every=300",
        "run.eval_every=300",
        "+agent.hyperparams.learning_starts=100",
    ],
}


def _args(root: Path, name: str, case: str) -> list[str]:
    return [
        *CASES[case],
        "budget=smoke",
        "seed=3",
        f"run.root={root}",
        f"run.name={name}",
        "eval.episodes=1",
        "logger.tensorboard=false",
    ]


def _train(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agents.train", *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as f:
        return [{k: v for k, v in r.items() if k not in ("time", "time/sps")} for r in csv.DictReader(f)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_killed_and_resumed_run_equals_uninterrupted(tmp_path, case):
    full = _train(_args(tmp_path, "full", case))
    out, _ = full.communicate(timeout=600)
    assert full.returncode == 0, out

    killed_dir = tmp_path / "killed"
    proc = _train(_args(tmp_path, "killed", case))
    deadline = time.time() + 300
    while not (killed_dir / "checkpoints" / "last" / "state.pt").exists():
        assert proc.poll() is None, "the run finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads((killed_dir / "run.json").read_text())["status"] == "running"
    assert effective_status(killed_dir) == "killed"  # the kernel released the dead process's lock

    resumed = _train([*_args(tmp_path, "killed", case), "resume=auto"])
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert "Resuming" in out

    a, _ = load_checkpoint(tmp_path / "full" / "checkpoints" / "last")
    b, _ = load_checkpoint(killed_dir / "checkpoints" / "last")
    assert a["step"] == b["step"]
    for name, module in a["learner"]["modules"].items():
        for key, value in module.items():
            if torch.is_tensor(value):
                assert torch.equal(value, b["learner"]["modules"][name][key]), f"{name}.{key} differs"
    assert _rows(tmp_path / "full") == _rows(killed_dir)  # same metric axis, no duplicated rows
    assert (tmp_path / "full" / "eval.jsonl").read_text() == (killed_dir / "eval.jsonl").read_text()
