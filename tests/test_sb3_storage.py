"""SB3 off-policy storage (issue 20): replay saved up to its filled size, compressed, in ``last`` only;
metric rows every ``run.log_every`` env steps."""

from __future__ import annotations

import csv

import pytest

from agents.runtime.checkpoint import load_checkpoint
from tests.conftest import only_run_dir


def _size(path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_sac_replay_only_in_last_and_filled_part(train_cli, tmp_path):
    train_cli(
        "env=pendulum",
        "agent=sb3-sac",
        "budget=smoke",
        "run.total_steps=400",
        "run.checkpoint_every=200",
        "run.eval_every=400",
        "run.log_every=100",
        "eval.episodes=1",
        "+agent.hyperparams.learning_starts=100",
        f"run.root={tmp_path}",
    )
    run = only_run_dir(tmp_path)
    ckpts = run / "checkpoints"
    assert not list(ckpts.glob("step_*/arrays.npz"))  # step checkpoints: weights and optimizers only
    _, arrays = load_checkpoint(ckpts / "last")
    assert arrays["observations"].shape[0] == 400 and int(arrays["pos"]) == 400
    with (run / "metrics.csv").open() as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert len(steps) <= 400 // 100 + 2  # one row per log_every (plus the evaluation row)


@pytest.mark.slow
@pytest.mark.mujoco
def test_1000_step_sac_on_metaworld_writes_under_20_mb(train_cli, tmp_path):
    train_cli(
        "env=metaworld-reach",
        "agent=sb3-sac",
        "obs=state",
        "budget=smoke",
        "run.total_steps=1000",
        "run.checkpoint_every=250",
        "run.eval_every=500",
        "eval.episodes=1",
        f"run.root={tmp_path}",
        timeout=1200,
    )
    run = only_run_dir(tmp_path)
    assert _size(run) < 20 * 2**20, f"{_size(run) / 2**20:.1f} MB"
