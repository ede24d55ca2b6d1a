"""The prepared GPU comparison (issue 16, item 4): its runs compose to the paper's pixel settings with
``device=cuda``, it refuses a missing GPU clearly, and the whole pipeline runs on CPU at a smoke budget."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from agents.core.config import CONF_DIR, compose_run_config
from benchmarks import mentor_gpu

ROOT = Path(__file__).resolve().parents[1]


def _args(*argv: str):
    defaults = dict(device="cuda", frames=200_000, eval_frames=20_000, eval_episodes=10, tiny=False)
    return argparse.Namespace(**{**defaults, **dict(a.split("=", 1) for a in argv)})


@pytest.mark.parametrize("agent", ["mentor", "drqv2"])
def test_gpu_runs_compose_to_paper_pixel_settings_on_cuda(agent: str, tmp_path) -> None:
    cmd = mentor_gpu.command(agent, "hammer", 1, _args(), tmp_path)
    overrides = cmd[cmd.index("agents.train") + 1 :]
    assert "device=cuda" in overrides and "budget=paper" in overrides and "obs=pixels" in overrides
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose_run_config(compose(config_name="config", overrides=overrides), overrides)
    assert cfg.device == "cuda" and cfg.run.total_steps == 100_000 and cfg.run.eval_every == 10_000
    kwargs = cfg.env.kwargs
    assert (kwargs.camera, kwargs.frame_stack, kwargs.image_size, kwargs.action_repeat) == (
        "mentor",
        3,
        84,
        2,
    )
    assert cfg.agent.hidden_dim == 1024 and cfg.agent.batch_size == 256 and cfg.agent.feature_dim == 50
    if agent == "mentor":
        assert (cfg.agent.num_experts, cfg.agent.top_k, cfg.agent.critic_dropout) == (16, 4, 0.01)
        assert cfg.agent.nstep_anneal is True and cfg.agent.moe_dispatch == "sparse"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error(capsys) -> None:
    with pytest.raises(SystemExit):
        mentor_gpu.main(["--device", "cuda", "--figures", ""])
    assert "torch sees no GPU" in capsys.readouterr().err


def test_shell_wrapper_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu_mentor.sh")], check=True)


@pytest.mark.mujoco
def test_time_limit_keeps_partial_runs(tmp_path) -> None:
    argv = [
        "--device",
        "cpu",
        "--tiny",
        "--tasks",
        "hammer",
        "--seeds",
        "1",
        "--agents",
        "drqv2",
        "--max-minutes",
        "0.0005",
        "--runs",
        str(tmp_path / "runs"),
        "--out",
        str(tmp_path / "r.json"),
        "--figures",
        "",
    ]
    assert mentor_gpu.main(argv) == 0
    row = json.loads((tmp_path / "r.json").read_text())["rows"][0]
    assert row["partial_runs"] == 1 and row["runs"] == 1


@pytest.mark.mujoco
@pytest.mark.slow
def test_cpu_smoke_of_the_whole_pipeline(tmp_path) -> None:
    argv = [
        "--device",
        "cpu",
        "--tiny",
        "--frames",
        "40",
        "--eval-frames",
        "20",
        "--eval-episodes",
        "1",
        "--tasks",
        "hammer",
        "--seeds",
        "1",
        "--workers",
        "2",
        "--runs",
        str(tmp_path / "runs"),
        "--out",
        str(tmp_path / "r.json"),
        "--figures",
        str(tmp_path),
    ]
    assert mentor_gpu.main(argv) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert {r["agent"] for r in result["rows"]} == {"mentor", "drqv2"}
    assert all(r["partial_runs"] == 0 and r["frames_mean"] == 40 for r in result["rows"])
    assert all(r["frames_per_s_wall"] > 0 for r in result["rows"])
    assert (tmp_path / "mentor_gpu_smoke_curves.png").exists()
