"""The one checkpoint format of pgsuite.

A checkpoint is a directory holding ``state.pt`` (a dict of tensors, numbers, strings, lists and dicts,
written by ``torch.save`` and read with ``torch.load(weights_only=True)``, so loading never executes pickled
code) and, optionally, ``arrays.npz`` (big NumPy arrays such as replay buffers, read with
``allow_pickle=False``). Directories are written to a temporary name and renamed, so a run killed while
saving never leaves a half-written checkpoint under a real name.

Layout inside a run: ``checkpoints/step_<N>/`` (the newest ``keep`` are kept), ``checkpoints/last/`` and
``checkpoints/best/`` (best evaluation score so far).
"""

from __future__ import annotations

import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "pgsuite-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted, truncated, foreign or unsafe; the message names the file."""


def save_checkpoint(
    path: str | Path, state: dict[str, Any], arrays: dict[str, np.ndarray] | None = None
) -> Path:
    """Atomically write a checkpoint directory at ``path`` (replacing an existing one)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    torch.save({"format": FORMAT, "version": VERSION, **state}, tmp / "state.pt")
    if arrays:
        np.savez(tmp / "arrays.npz", **arrays)
    old = path.with_name(f".{path.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    if old.exists():
        shutil.rmtree(old)
    return path


def load_checkpoint(
    path: str | Path, with_arrays: bool = True
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a checkpoint directory (or its ``state.pt``) safely.

    Returns:
        ``(state, arrays)``; ``arrays`` is empty when the checkpoint has none or ``with_arrays`` is False.

    Raises:
        CheckpointError: with the file named and what to do, for every way a file can be bad.
    """
    path = Path(path)
    if path.is_dir():
        state_file = path / "state.pt"
    elif path.suffix == ".pt":
        state_file, path = path, path.parent
    else:
        state_file = path / "state.pt"
    if not state_file.exists():
        raise CheckpointError(
            f"no checkpoint at {state_file}: expected a checkpoint directory written by pgsuite "
            f"(e.g. runs/<run>/checkpoints/last) holding state.pt"
        )
    try:
        state = torch.load(state_file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{state_file} contains objects other than tensors and plain containers; refusing to load it "
            f"because unpickling it could execute code ({str(err).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(
            f"{state_file} is corrupted or truncated and cannot be read ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'}); use another checkpoint, e.g. an older "
            f"checkpoints/step_<N>"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{state_file} is not a pgsuite checkpoint (no '{FORMAT}' format tag)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{state_file} was written by a newer pgsuite (format v{state['version']} > v{VERSION}); upgrade pgsuite"
        )
    arrays: dict[str, np.ndarray] = {}
    array_file = path / "arrays.npz"
    if with_arrays and array_file.exists():
        try:
            with np.load(array_file, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
            raise CheckpointError(
                f"{array_file} is corrupted or unsafe ({type(err).__name__}: {err})"
            ) from None
    return state, arrays


class CheckpointManager:
    """Writes ``step_<N>``, ``last`` and ``best`` checkpoints of a run and prunes old ones."""

    def __init__(self, directory: str | Path, keep: int = 3) -> None:
        if keep < 1:
            raise ValueError(f"run.keep_checkpoints must be >= 1, got {keep}")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keep = keep

    @property
    def last(self) -> Path:
        return self.dir / "last"

    @property
    def best(self) -> Path:
        return self.dir / "best"

    def save(
        self, step: int, state: dict[str, Any], arrays: dict[str, np.ndarray] | None, is_best: bool
    ) -> Path:
        path = save_checkpoint(self.dir / f"step_{step:010d}", state, arrays)
        _copy_dir(path, self.last)
        if is_best:
            # The best checkpoint is for acting/transfer: skip big arrays (replay buffers).
            save_checkpoint(self.best, state)
        steps = sorted(p for p in self.dir.glob("step_*") if p.is_dir())
        for old in steps[: -self.keep]:
            shutil.rmtree(old)
        return path


def _copy_dir(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    old = dst.with_name(f".{dst.name}.old")
    if dst.exists():
        dst.rename(old)
    tmp.rename(dst)
    if old.exists():
        shutil.rmtree(old)
