"""Shared fixtures: a CLI runner for end-to-end smoke tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYTHONHASHSEED", "0")


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


def run_module(
    module: str, *args: str, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> args...`` from the repository root; fail with its output on error."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"python -m {module} {' '.join(args)} exited "
            f"{proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


@pytest.fixture
def train_cli():
    """``train_cli(*overrides)`` runs ``python -m agents.train`` and returns the completed process."""

    def run(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        return run_module("agents.train", *args, timeout=timeout, check=check)

    return run


def only_run_dir(root: Path) -> Path:
    """The single run directory under ``root`` (a directory holding run.json)."""
    runs = sorted(p.parent for p in root.rglob("run.json"))
    assert len(runs) == 1, f"expected one run under {root}, found {runs}"
    return runs[0]
