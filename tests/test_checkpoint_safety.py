"""Bad checkpoints give a clear error naming the file and never execute pickled code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.runtime.checkpoint import CheckpointError, CheckpointManager, load_checkpoint, save_checkpoint


def _good(tmp_path: Path) -> Path:
    return save_checkpoint(
        tmp_path / "ckpt", {"learner": {"w": torch.ones(3)}, "step": 7}, {"buf": np.arange(5)}
    )


def test_round_trip(tmp_path):
    path = _good(tmp_path)
    state, arrays = load_checkpoint(path)
    assert state["step"] == 7 and torch.equal(state["learner"]["w"], torch.ones(3))
    np.testing.assert_array_equal(arrays["buf"], np.arange(5))


def test_missing_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*nothing.*state\.pt"):
        load_checkpoint(tmp_path / "nothing")


def test_truncated(tmp_path):
    path = _good(tmp_path)
    data = (path / "state.pt").read_bytes()
    (path / "state.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "ckpt"
    path.mkdir()
    (path / "state.pt").write_bytes(b"\x00not a checkpoint at all" * 10)
    with pytest.raises(CheckpointError, match=re.escape(str(path / "state.pt"))):
        load_checkpoint(path)


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "ckpt"
    path.mkdir()
    torch.save({"model": torch.zeros(2)}, path / "state.pt")
    with pytest.raises(CheckpointError, match="not a pgsuite checkpoint"):
        load_checkpoint(path)


class _Exploit:
    """Unpickling this would create a file: the test checks it never happens."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    exploit = _Exploit()
    exploit.marker = marker
    path = tmp_path / "ckpt"
    path.mkdir()
    torch.save({"format": "pgsuite-checkpoint", "version": 1, "learner": exploit}, path / "state.pt")
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_checkpoint(path)
    assert not marker.exists()


def test_pickled_object_arrays_refused(tmp_path):
    path = _good(tmp_path)
    np.savez(path / "arrays.npz", obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match=r"arrays\.npz"):
        load_checkpoint(path)


def test_plain_pickle_file(tmp_path):
    path = tmp_path / "ckpt"
    path.mkdir()
    (path / "state.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_manager_keeps_n_and_writes_last_and_best(tmp_path):
    manager = CheckpointManager(tmp_path / "checkpoints", keep=2)
    for step in (1, 2, 3):
        manager.save(step, {"step": step}, None, is_best=step == 2)
    steps = sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*"))
    assert steps == ["step_0000000002", "step_0000000003"]
    assert load_checkpoint(manager.last)[0]["step"] == 3
    assert load_checkpoint(manager.best)[0]["step"] == 2
    assert not list((tmp_path / "checkpoints").glob(".*"))  # no temporary directories left
