"""The one checkpoint format of pgsuite.

A checkpoint is a directory holding ``state.pt`` (a dict of tensors, numbers, strings, lists and dicts,
written by ``torch.save`` and read with ``torch.load(weights_only=True)``, so loading never executes pickled
code) and, optionally, ``arrays.npz`` (big NumPy arrays such as replay buffers, read with
``allow_pickle=False``). Directories are written to a temporary name and renamed, so a run killed while
saving never leaves a half-written checkpoint under a real name.

Layout inside a run: ``checkpoints/step_<N>/`` (the newest ``keep`` are kept), ``checkpoints/last/`` and
``checkpoints/best/`` (best evaluation score so far). A learner may keep its big arrays in ``last`` only
(``arrays_in_steps=False``, SB3 off-policy replay): step checkpoints then hold weights and optimizers.

After a crash mid-write (SIGKILL, full disk), :func:`cleanup` removes the temporary ``.<name>.tmp``
directories and restores a ``.<name>.old`` whose replacement never landed; :func:`load_newest_intact` then
finds the newest checkpoint that reads back (``last``, else the newest ``step_<N>``).
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.runtime.errors import CheckpointError

__all__ = [
    "CheckpointError",
    "CheckpointManager",
    "cleanup",
    "list_checkpoints",
    "load_checkpoint",
    "load_newest_intact",
    "resolve_checkpoint",
    "save_checkpoint",
]

FORMAT = "pgsuite-checkpoint"
VERSION = 1


def _write_state(file: Path, state: dict[str, Any]) -> None:
    """The writer of ``state.pt`` (tests patch it to simulate a full disk)."""
    torch.save(state, file)


def _write_arrays(file: Path, arrays: dict[str, np.ndarray], compress: bool) -> None:
    """The writer of ``arrays.npz``; ``compress`` zips them (replay buffers compress well)."""
    (np.savez_compressed if compress else np.savez)(file, **arrays)


def save_checkpoint(
    path: str | Path,
    state: dict[str, Any],
    arrays: dict[str, np.ndarray] | None = None,
    compress: bool = False,
) -> Path:
    """Atomically write a checkpoint directory at ``path`` (replacing an existing one)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    _write_state(tmp / "state.pt", {"format": FORMAT, "version": VERSION, **state})
    if arrays:
        _write_arrays(tmp / "arrays.npz", arrays, compress)
    _replace(tmp, path)
    return path


def _replace(tmp: Path, path: Path) -> None:
    """Move the finished ``tmp`` to ``path``; an existing ``path`` is kept as ``.old`` until then."""
    old = path.with_name(f".{path.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    if old.exists():
        shutil.rmtree(old)


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
    corrupted = (
        f"{state_file} is corrupted or truncated and cannot be read ({{}}); use another checkpoint, e.g. an "
        f"older checkpoints/step_<N>"
    )
    with state_file.open("rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # torch.save writes a zip archive
        raise CheckpointError(corrupted.format("not a torch zip archive"))
    try:
        state = torch.load(state_file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).splitlines()[0] if str(err) else "no detail"
        if "weights only load failed" not in str(err).lower():
            raise CheckpointError(corrupted.format(f"UnpicklingError: {first}")) from None
        raise CheckpointError(
            f"{state_file} contains objects other than tensors and plain containers; refusing to load it "
            f"because unpickling it could execute code ({_unsafe_detail(str(err))})"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
        raise CheckpointError(
            corrupted.format(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'}")
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{state_file} is not a pgsuite checkpoint (no '{FORMAT}' format tag)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{state_file} was written by a newer pgsuite (format v{state['version']} > v{VERSION}); upgrade "
            f"pgsuite"
        )
    arrays: dict[str, np.ndarray] = {}
    array_file = path / "arrays.npz"
    if with_arrays and array_file.exists():
        try:
            with np.load(array_file, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
            raise CheckpointError(
                f"{array_file} is corrupted or unsafe ({type(err).__name__}: {str(err).splitlines()[0]}); "
                f"use another checkpoint"
            ) from None
    return state, arrays


def _unsafe_detail(message: str) -> str:
    for line in message.splitlines():
        if "Unsupported global" in line or "Unsupported operand" in line:
            return line.strip()
    return message.splitlines()[0] if message else "no detail"


_STEP = re.compile(r"^step_(\d+)$")


def list_checkpoints(directory: str | Path) -> list[str]:
    """Names of the checkpoint directories in ``directory``: ``best``, ``last``, then steps, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = [n for n in ("best", "last") if (directory / n).is_dir()]
    steps = sorted((p.name for p in directory.iterdir() if _STEP.match(p.name)), reverse=True)
    return names + steps


def resolve_checkpoint(directory: str | Path, name: str) -> Path:
    """``best``, ``last``, ``step_<N>`` (any zero padding) or ``<N>`` to a checkpoint directory.

    Raises:
        CheckpointError: no such checkpoint; the message lists the existing ones.
    """
    directory = Path(directory)
    match = _STEP.match(name) or re.match(r"^(\d+)$", name)
    path = directory / (f"step_{int(match.group(1)):010d}" if match else name)
    if not (path / "state.pt").exists():
        existing = list_checkpoints(directory)
        raise CheckpointError(
            f"no checkpoint {name!r} in {directory}; existing: {', '.join(existing) or 'none'} "
            f"(pass checkpoint=best|last|step_<N>|<N>)"
        )
    return path


def cleanup(directory: str | Path) -> list[str]:
    """Remove what a crashed write left behind; returns the names removed or restored."""
    directory = Path(directory)
    done: list[str] = []
    if not directory.is_dir():
        return done
    for old in directory.glob(".*.old"):
        real = directory / old.name[1:].removesuffix(".old")
        if not real.exists():
            old.rename(real)  # the replacement never landed: the previous checkpoint is still good
            done.append(f"{old.name} -> {real.name}")
        else:
            shutil.rmtree(old)
            done.append(old.name)
    for tmp in directory.glob(".*.tmp"):
        shutil.rmtree(tmp)
        done.append(tmp.name)
    return done


def load_newest_intact(
    directory: str | Path,
) -> tuple[Path, dict[str, Any], dict[str, np.ndarray], list[str]] | None:
    """The newest checkpoint of a run that reads back: ``last``, else the newest ``step_<N>``.

    Returns:
        ``(path, state, arrays, problems)`` with one line per skipped checkpoint, or None when none exists.

    Raises:
        CheckpointError: checkpoints exist but none reads back; the message names each and why.
    """
    directory = Path(directory)
    candidates = [n for n in list_checkpoints(directory) if n != "best"]
    if "last" in candidates:
        # prefer the newest step when it is newer than last (a crash between the step and last writes)
        candidates.remove("last")
        last_step = _peek_step(directory / "last")
        newer = [n for n in candidates if int(n[5:]) > last_step]
        candidates = [*newer, "last", *[n for n in candidates if n not in newer]]
    problems: list[str] = []
    for name in candidates:
        try:
            state, arrays = load_checkpoint(directory / name)
        except CheckpointError as err:
            problems.append(f"{name}: {err}")
            continue
        return directory / name, state, arrays, problems
    if problems:
        raise CheckpointError(
            f"no readable checkpoint in {directory}: "
            + "; ".join(problems)
            + "; start over with resume=never"
        )
    return None


def _peek_step(path: Path) -> int:
    try:
        return int(load_checkpoint(path, with_arrays=False)[0].get("step", -1))
    except CheckpointError:
        return -1


class CheckpointManager:
    """Writes ``step_<N>``, ``last`` and ``best`` checkpoints of a run and prunes old ones.

    Args:
        directory: the run's ``checkpoints/``.
        keep: how many ``step_<N>`` to keep.
        arrays_in_steps: also store the big arrays in ``step_<N>`` (else only in ``last``).
        compress: compress ``arrays.npz``.
    """

    def __init__(
        self, directory: str | Path, keep: int = 3, arrays_in_steps: bool = True, compress: bool = False
    ) -> None:
        if keep < 1:
            raise ValueError(f"run.keep_checkpoints must be >= 1, got {keep}")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.arrays_in_steps = arrays_in_steps
        self.compress = compress

    @property
    def last(self) -> Path:
        return self.dir / "last"

    @property
    def best(self) -> Path:
        return self.dir / "best"

    def save(
        self, step: int, state: dict[str, Any], arrays: dict[str, np.ndarray] | None, is_best: bool
    ) -> Path:
        step_arrays = arrays if self.arrays_in_steps else None
        path = save_checkpoint(self.dir / f"step_{step:010d}", state, step_arrays, self.compress)
        if arrays and not self.arrays_in_steps:
            save_checkpoint(self.last, state, arrays, self.compress)
        else:
            _link_dir(path, self.last)
        if is_best:
            # The best checkpoint is for acting/transfer: skip big arrays (replay buffers).
            save_checkpoint(self.best, state)
        steps = sorted(p for p in self.dir.glob("step_*") if p.is_dir())
        for old in steps[: -self.keep]:
            shutil.rmtree(old)
        return path


def _link_file(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (no extra disk space), copying where links are not supported."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _link_dir(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for file in sorted(src.iterdir()):
        _link_file(file, tmp / file.name)
    _replace(tmp, dst)
