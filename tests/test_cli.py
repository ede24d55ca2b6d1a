"""End-to-end CLI smoke runs with tiny budgets: run directory, evaluate, sweeps, errors."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from agents.runtime.checkpoint import load_checkpoint
from tests.conftest import only_run_dir, run_module


def test_train_writes_a_complete_run_directory(train_cli, tmp_path):
    proc = train_cli(
        "env=cartpole", "agent=sb3-ppo", "budget=smoke", f"run.root={tmp_path}", "seed=1", "eval.video=true"
    )
    run = only_run_dir(tmp_path)
    assert run.relative_to(tmp_path).parts[:3] == ("cartpole", "sb3-ppo", "seed1")
    for name in ("config.yaml", "metrics.csv", "eval.jsonl", "run.json", "summary.json"):
        assert (run / name).is_file(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert {p.name for p in (run / "checkpoints").iterdir()} >= {"last", "best", "step_0000002048"}
    assert list((run / "videos").glob("eval_*.mp4"))
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {
        "step",
        "time",
        "time/sps",
        "losses/value_loss",
        "train/episode_return",
        "eval/return_mean",
    } <= set(header)
    lines = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert {line["step"] for line in lines} == {1024, 2048} and len(lines) == 4
    assert all({"return", "length", "episode"} <= set(line) for line in lines)
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert "eval:" in proc.stdout

    out = run_module("agents.evaluate", f"run={run}", "episodes=2", "checkpoint=last")
    assert "eval/return_mean" in out.stdout
    assert len(list((run / "evaluations").glob("last_*.jsonl"))) == 1
    split = run_module("agents.evaluate", f"run={run}", "split=test", check=False)
    assert split.returncode == 2 and "has no data splits" in split.stderr


def test_resume_auto_continues_and_extends_budget(train_cli, tmp_path):
    common = [
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        f"run.root={tmp_path}",
        "logger.tensorboard=false",
    ]
    train_cli(*common, "run.total_steps=1024")
    proc = train_cli(*common, "run.total_steps=2048", "resume=auto")
    assert "Resuming" in proc.stdout
    run = only_run_dir(tmp_path)
    assert load_checkpoint(run / "checkpoints" / "last")[0]["step"] == 2048
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    train_steps = [int(r["step"]) for r in rows if r["losses/value_loss"]]
    eval_steps = [int(r["step"]) for r in rows if r["eval/return_mean"]]
    assert steps == sorted(steps) and len(train_steps) == len(set(train_steps)) and eval_steps == [1024, 2048]


def test_resume_refuses_a_different_config(train_cli, tmp_path):
    common = [
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        f"run.root={tmp_path}",
        "logger.tensorboard=false",
    ]
    train_cli(*common, "run.total_steps=1024")
    run = only_run_dir(tmp_path)
    proc = train_cli(*common, f"resume={run}", "++agent.hyperparams.gamma=0.5", check=False)
    assert proc.returncode == 2 and "agent.hyperparams.gamma" in proc.stderr


def test_unknown_env_gets_did_you_mean(train_cli):
    proc = train_cli("env=cartpol", "agent=sb3-ppo", check=False)
    assert proc.returncode == 2 and "Did you mean 'cartpole'" in proc.stderr


@pytest.mark.parametrize("agent", ["sb3-sac", "sb3-td3"])
def test_off_policy_smoke(train_cli, tmp_path, agent):
    train_cli(
        "env=pendulum", f"agent={agent}", "budget=smoke", f"run.root={tmp_path}", "logger.tensorboard=false"
    )
    run = only_run_dir(tmp_path)
    state, arrays = load_checkpoint(run / "checkpoints" / "last")
    assert state["step"] == 600 and arrays["observations"].shape[-1] == 3  # replay buffer saved


def test_a2c_with_vecnormalize_saves_statistics(train_cli, tmp_path):
    train_cli(
        "env=cartpole",
        "agent=sb3-a2c",
        "budget=smoke",
        f"run.root={tmp_path}",
        "agent.normalize=true",
        "logger.tensorboard=false",
    )
    state, _ = load_checkpoint(only_run_dir(tmp_path) / "checkpoints" / "last")
    rms = state["learner"]["vecnormalize"]["obs_rms"]
    assert rms["count"] > 1000 and rms["mean"].shape == (4,)


def test_multirun_two_seeds_in_parallel_with_joblib(train_cli, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    train_cli(
        "-m",
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        "seed=0,1",
        f"run.root={tmp_path}",
        "hydra/launcher=local",
        "logger.tensorboard=false",
    )
    runs = sorted(p.parent.relative_to(tmp_path).parts[2] for p in tmp_path.rglob("run.json"))
    assert runs == ["seed0", "seed1"]


@pytest.mark.parametrize(
    "args",
    [
        ["env=n2n-resnet18", "agent=sb3-ppo"],  # the N2N MDP with a generic learner
        [
            "env=metaworld-reach",
            "obs=state",
            "agent=sb3-sac",
            "run.total_steps=300",
            "++agent.hyperparams.learning_starts=100",
        ],
    ],
)
def test_sb3_trains_suite_envs(train_cli, tmp_path, args):
    train_cli(*args, "budget=smoke", f"run.root={tmp_path}", "logger.tensorboard=false", "eval.episodes=1")
    run = only_run_dir(tmp_path)
    lines = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert lines and all("success" in line for line in lines)  # the env's is_success reaches eval.jsonl


def test_async_vectorization_matches_sync(train_cli, tmp_path):
    common = [
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        "env.num_envs=2",
        "run.total_steps=256",
        "run.eval_every=256",
        "run.checkpoint_every=256",
        "eval.episodes=1",
        "logger.tensorboard=false",
    ]
    weights = []
    for mode in ("sync", "async"):
        train_cli(*common, f"env.vectorization={mode}", f"run.root={tmp_path / mode}")
        state, _ = load_checkpoint(only_run_dir(tmp_path / mode) / "checkpoints" / "last")
        weights.append(state["learner"]["modules"]["policy"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
