"""SIGKILL-then-resume bit-identity for every method learner at smoke budgets (issue 20).

Each case runs uninterrupted, then again killed with SIGKILL after its first checkpoint and resumed with
``resume=auto``; the final learner state (every tensor, number and string) and ``eval.jsonl`` must match.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest
import torch

from agents.runtime.checkpoint import load_checkpoint
from tests.test_resume import _train

CASES = {
    "drqv2": ["env=dmc-cartpole-balance", "agent=drqv2", "run.total_steps=80", "run.checkpoint_every=20"],
    "mentor": ["env=metaworld-hammer", "agent=mentor", "run.total_steps=80", "run.checkpoint_every=20"],
    "bn-mappo": [
        "env=marl-coordination",
        "agent=bn-mappo",
        "run.total_steps=1600",
        "run.checkpoint_every=400",
    ],
    "n2n": ["env=n2n-resnet18", "agent=n2n", "run.total_steps=15", "run.checkpoint_every=5"],
    "icgnn": ["env=wireless-ic", "agent=icgnn", "run.total_steps=512", "run.checkpoint_every=128"],
    "icgnn-pg": ["env=wireless-ic", "agent=icgnn-pg", "run.total_steps=512", "run.checkpoint_every=128"],
    "noise-mask": [
        "env=noise-mask-digits",
        "agent=noise-mask",
        "run.total_steps=15000",
        "run.checkpoint_every=5000",
    ],
}


def _args(root, name: str, case: str) -> list[str]:
    return [
        *CASES[case],
        "budget=smoke",
        "seed=5",
        f"run.root={root}",
        f"run.name={name}",
        "logger.tensorboard=false",
    ]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(value, (list, tuple)):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): value}


def _wall_clock(key: str) -> bool:
    """Wall-clock bookkeeping (e.g. N2N's ``elapsed``) legitimately differs between two runs."""
    last = key.rsplit(".", 1)[-1]
    return "elapsed" in last or "time" in last


def _same(a: Any, b: Any) -> bool:
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return a == b


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_method_resumes_bit_identically_after_sigkill(tmp_path, case):
    full = _train(_args(tmp_path, "full", case))
    out, _ = full.communicate(timeout=1200)
    assert full.returncode == 0, out[-4000:]

    killed = tmp_path / "killed"
    proc = _train(_args(tmp_path, "killed", case))
    deadline = time.time() + 900
    while not (killed / "checkpoints" / "last" / "state.pt").exists():
        assert proc.poll() is None, "the run finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    resumed = _train([*_args(tmp_path, "killed", case), "resume=auto"])
    out, _ = resumed.communicate(timeout=1200)
    assert resumed.returncode == 0, out[-4000:]
    assert "Resuming" in out
    assert json.loads((killed / "run.json").read_text())["history"][-1]["status"] == "killed"

    a, _ = load_checkpoint(tmp_path / "full" / "checkpoints" / "last")
    b, _ = load_checkpoint(killed / "checkpoints" / "last")
    assert a["step"] == b["step"]
    fa, fb = _flat(a["learner"]), _flat(b["learner"])
    assert fa.keys() == fb.keys()
    differ = [k for k in fa if not _wall_clock(k) and not _same(fa[k], fb[k])]
    assert not differ, f"{case}: {differ[:10]} differ"
    assert (tmp_path / "full" / "eval.jsonl").read_text() == (killed / "eval.jsonl").read_text()
