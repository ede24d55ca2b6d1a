"""A full disk while checkpointing: the run is marked failed, and ``resume=auto`` continues from the intact
step checkpoint to the same result as an uninterrupted run (issue 20)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from agents.core.config import CONF_DIR, compose_run_config
from agents.runtime import checkpoint
from agents.runtime.checkpoint import load_checkpoint
from agents.runtime.loop import train


def _cfg(root: Path, name: str, *extra: str):
    overrides = [
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        "seed=2",
        "run.total_steps=768",
        "run.checkpoint_every=256",
        "run.eval_every=256",
        "eval.episodes=1",
        "logger.tensorboard=false",
        "run.progress=false",
        f"run.root={root}",
        f"run.name={name}",
        *extra,
    ]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose_run_config(compose(config_name="config", overrides=overrides), overrides)


def _tensors(state: dict) -> dict[str, torch.Tensor]:
    return {
        f"{m}.{k}": v
        for m, sd in state["learner"]["modules"].items()
        for k, v in sd.items()
        if torch.is_tensor(v)
    }


def test_enospc_during_first_checkpoint_then_resume(tmp_path, monkeypatch):
    full = train(_cfg(tmp_path, "full"))

    real_link = checkpoint._link_file

    def full_disk(src: Path, dst: Path) -> None:
        dst.write_bytes(src.read_bytes()[:100])  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(checkpoint, "_link_file", full_disk)
    with pytest.raises(OSError) as caught:
        train(_cfg(tmp_path, "crashed"))
    assert caught.value.errno == errno.ENOSPC
    run = tmp_path / "crashed"
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "failed" and "No space left on device" in info["error"]
    assert (run / "checkpoints" / ".last.tmp").exists() and (run / "checkpoints" / "step_0000000256").exists()

    monkeypatch.setattr(checkpoint, "_link_file", real_link)  # space freed
    train(_cfg(tmp_path, "crashed", "resume=auto"))
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["resumed_from"] == "step_0000000256 (step 256)"
    assert info["history"][-1]["status"] == "failed"
    assert not (run / "checkpoints" / ".last.tmp").exists()
    a, _ = load_checkpoint(full / "checkpoints" / "last")
    b, _ = load_checkpoint(run / "checkpoints" / "last")
    assert a["step"] == b["step"] == 768
    ta, tb = _tensors(a), _tensors(b)
    assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


def test_a_crash_inside_training_marks_the_run_failed(tmp_path, monkeypatch):
    from agents.sb3 import SB3Learner

    def broken_update(self, segment: int) -> None:
        raise ZeroDivisionError("a bug in an update")

    monkeypatch.setattr(SB3Learner, "on_segment_end", broken_update)
    with pytest.raises(ZeroDivisionError):
        train(_cfg(tmp_path, "crash"))
    info = json.loads((tmp_path / "crash" / "run.json").read_text())
    assert info["status"] == "failed" and info["error"] == "ZeroDivisionError: a bug in an update"
    assert info["finished"] is not None
