"""CLI smoke runs of DrQ-v2 on each robotics family (budget=smoke), and save → resume through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import only_run_dir

pytestmark = pytest.mark.mujoco


@pytest.mark.parametrize(
    ("env", "obs"),
    [("dmc-cartpole-balance", "pixels"), ("metaworld-reach", "state"), ("adroit-door", "pixels+state")],
)
def test_smoke_run_each_family(train_cli, tmp_path, env: str, obs: str) -> None:
    train_cli(
        f"env={env}",
        "agent=drqv2",
        "budget=smoke",
        f"obs={obs}",
        f"run.root={tmp_path}",
        "seed=0",
        "run.progress=false",
        "env.kwargs.fast_render=true",
    )
    run = only_run_dir(tmp_path)
    episodes = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert episodes and all(e["length"] == 10 for e in episodes)  # smoke horizon: 20 sim steps / repeat 2
    if not env.startswith("dmc"):
        assert all("success" in e for e in episodes)  # info["is_success"] reaches the eval log
    assert (run / "checkpoints" / "last" / "state.pt").exists()


def test_resume_with_replay_matches_uninterrupted_run(train_cli, tmp_path) -> None:
    common = [
        "env=dmc-cartpole-balance",
        "agent=drqv2",
        "budget=smoke",
        "obs=state",
        "seed=0",
        "run.progress=false",
    ]
    train_cli(*common, f"run.root={tmp_path / 'full'}")
    train_cli(*common, f"run.root={tmp_path / 'cut'}", "run.total_steps=20")
    train_cli(*common, f"run.root={tmp_path / 'cut'}", "resume=auto")
    full, cut = only_run_dir(tmp_path / "full"), only_run_dir(tmp_path / "cut")
    with np.load(cut / "checkpoints" / "last" / "arrays.npz") as arrays:
        assert {"replay/states", "replay/actions", "replay/rewards"} <= set(arrays.files)

    def returns(run):
        return [
            (e["step"], e["return"]) for e in map(json.loads, (run / "eval.jsonl").read_text().splitlines())
        ]

    assert returns(full) == returns(cut) and returns(full)[-1][0] == 40
