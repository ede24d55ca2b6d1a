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


def test_random_bytes_are_called_corrupted_not_unsafe(tmp_path):
    import os

    path = tmp_path / "ckpt"
    path.mkdir()
    (path / "state.pt").write_bytes(os.urandom(2048))
    with pytest.raises(CheckpointError, match="corrupted or truncated") as caught:
        load_checkpoint(path)
    assert "execute code" not in str(caught.value)


def test_crash_leftovers_are_cleaned_and_newest_intact_is_found(tmp_path):
    from agents.runtime.checkpoint import cleanup, load_newest_intact

    manager = CheckpointManager(tmp_path / "checkpoints", keep=3)
    for step in (1, 2):
        manager.save(step, {"step": step}, {"buf": np.arange(step)}, is_best=False)
    ckpts = tmp_path / "checkpoints"
    (ckpts / "last").rename(ckpts / ".last.old")  # killed between the two renames of a `last` update
    (ckpts / ".step_0000000003.tmp").mkdir()
    (ckpts / "step_0000000002" / "state.pt").unlink()
    (ckpts / "step_0000000002" / "state.pt").write_bytes(b"cut")
    assert sorted(cleanup(ckpts)) == [".last.old -> last", ".step_0000000003.tmp"]
    path, state, arrays, problems = load_newest_intact(ckpts)
    assert path.name == "last" and state["step"] == 2 and len(arrays["buf"]) == 2
    (ckpts / "last" / "state.pt").unlink()
    path, state, _, problems = load_newest_intact(ckpts)
    assert path.name == "step_0000000001" and len(problems) == 1  # step 2 is unreadable


def test_arrays_only_in_last(tmp_path):
    manager = CheckpointManager(tmp_path / "c", keep=2, arrays_in_steps=False, compress=True)
    manager.save(5, {"step": 5}, {"buf": np.zeros(10_000)}, is_best=False)
    assert not (tmp_path / "c" / "step_0000000005" / "arrays.npz").exists()
    assert (tmp_path / "c" / "last" / "arrays.npz").stat().st_size < 10_000  # compressed zeros
    assert load_checkpoint(tmp_path / "c" / "last")[1]["buf"].shape == (10_000,)
