"""The student builder: apply stage-1 removal or stage-2 shrinkage actions to a parent spec.

Both functions return a new spec; channel counts downstream are re-inferred when it is built
(:class:`envs.compression.network.SpecNet`). Residual blocks are rebuilt explicitly (Ashok et al. 2018, Sec.
3;
github.com/anubhavashok/N2N at 544f5dd, ``utils.py``, without the official code's index drift and empty-block
crash):

* removal drops convs from a block body; an empty body leaves the block as its shortcut alone;
* shrinkage changes only filter counts inside blocks; a block with a projection shortcut takes its new
  output width from the action on its last conv and resizes the shortcut to match, while the last conv of
  an identity block is set to the incoming width so the addition keeps its shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.compression.arch import (
    SHRINK_FIELDS,
    Spec,
    copy_spec,
    layer_sequence,
    removal_fixed_mask,
    shrink_free_mask,
    spec_from_json,
    spec_to_json,
)

#: Stage-2 reduction ratios, indexed by action
#: (official ``lookup`` table, github.com/anubhavashok/N2N at 544f5dd).
SHRINK_RATIOS: tuple[float, ...] = (0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def apply_removal(parent: Spec, keep: np.ndarray) -> Spec:
    """Stage 1: keep layer t of :func:`~envs.compression.arch.layer_sequence` where ``keep[t]`` is truthy.

    Layers in :func:`~envs.compression.arch.removal_fixed_mask` are always kept whatever the action says.
    """
    refs = layer_sequence(parent)
    keep = np.asarray(keep).reshape(-1)
    if len(keep) != len(refs):
        raise ValueError(f"removal needs one action per layer: got {len(keep)}, the parent has {len(refs)}")
    keep = keep.astype(bool) | removal_fixed_mask(parent)
    child = copy_spec(parent)
    drop_top: set[int] = set()
    drop_body: dict[int, set[int]] = {}
    for ref, k in zip(refs, keep, strict=True):
        if k:
            continue
        if ref.in_block:
            drop_body.setdefault(ref.path[0], set()).add(ref.path[1])
        else:
            drop_top.add(ref.path[0])
    for i, js in drop_body.items():
        block = child["layers"][i]
        block["body"] = [c for j, c in enumerate(block["body"]) if j not in js]
    child["layers"] = [u for i, u in enumerate(child["layers"]) if i not in drop_top]
    return child


def _shrink(value: int, ratio: float, floor: int) -> int:
    # official applyActionsShrinkage: o = max(int(o·r), 10); never widen a layer already below the floor.
    return min(value, max(int(value * ratio), floor))


def apply_shrink(parent: Spec, ratios: np.ndarray, min_outputs: int = 10) -> Spec:
    """Stage 2: ``ratios`` is (L, 3), the ratio for (kernel, padding, outputs) of each layer.

    kernel k ← max(int(k·r), 1), padding p ← int(p·r), filters n ← min(n, max(int(n·r), ``min_outputs``))
    (official ``applyActionsShrinkage``). Entries where :func:`~envs.compression.arch.shrink_free_mask` is
    False are ignored.
    """
    refs = layer_sequence(parent)
    ratios = np.asarray(ratios, dtype=np.float64).reshape(-1, len(SHRINK_FIELDS)) if len(refs) else ratios
    if ratios.shape != (len(refs), len(SHRINK_FIELDS)):
        raise ValueError(f"shrinkage needs ({len(refs)}, 3) ratios for this parent, got {np.shape(ratios)}")
    free = shrink_free_mask(parent)
    child = copy_spec(parent)
    by_path = {ref.path: (ref, ratios[t], free[t]) for t, ref in enumerate(refs)}
    width = int(parent["input_shape"][0])  # width of the incoming activation
    for i, unit in enumerate(child["layers"]):
        if unit["type"] == "conv":
            _, r, f = by_path[(i,)]
            if f[0]:
                unit["kernel"] = max(int(unit["kernel"] * r[0]), 1)
            if f[1]:
                unit["padding"] = int(unit["padding"] * r[1])
            if f[2]:
                unit["out"] = _shrink(unit["out"], r[2], min_outputs)
            width = unit["out"]
        elif unit["type"] == "block":
            body = unit["body"]
            for j, conv in enumerate(body):
                _, r, f = by_path[(i, j)]
                last = j == len(body) - 1
                if last and unit["shortcut"] is None:
                    conv["out"] = width  # identity shortcut: the sum needs the incoming width
                elif f[2]:
                    conv["out"] = _shrink(conv["out"], r[2], min_outputs)
            if unit["shortcut"] is not None:
                if body:
                    unit["shortcut"]["out"] = body[-1]["out"]  # projection resized to the body's width
                unit["out"] = unit["shortcut"]["out"]
            else:
                unit["out"] = width
            width = unit["out"]
        elif unit["type"] == "linear":
            width = unit["out"]
    return child


def ratios_from_actions(actions: np.ndarray, num_layers: int) -> np.ndarray:
    """Map MultiDiscrete indices (L·3,) into :data:`SHRINK_RATIOS` values, shape (L, 3)."""
    idx = np.asarray(actions, dtype=np.int64).reshape(num_layers, len(SHRINK_FIELDS))
    return np.asarray(SHRINK_RATIOS, dtype=np.float64)[idx]


# -- saving and reloading a student -----------------------------------------------------------------------
SPEC_KEY = "__spec_json__"


def student_tensors(spec: Spec, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights plus the spec (UTF-8 bytes in a uint8 tensor), ready for ``safetensors.torch.save_file``."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors[SPEC_KEY] = torch.tensor(list(spec_to_json(spec).encode()), dtype=torch.uint8)
    return tensors


def load_student(path: str | Path) -> Any:
    """Rebuild a student saved with :func:`student_tensors`: ``model = envs.compression.load_student(path)``.

    Returns the :class:`~envs.compression.network.SpecNet` in eval mode; ``model.spec`` is its architecture.
    """
    from safetensors.torch import load_file

    from envs.compression.network import build

    tensors = load_file(str(path))
    if SPEC_KEY not in tensors:
        raise ValueError(f"{path} holds no {SPEC_KEY!r} entry; it was not saved by the N2N learner")
    spec = spec_from_json(bytes(tensors.pop(SPEC_KEY).tolist()).decode())
    model = build(spec)
    model.load_state_dict(tensors)
    return model.eval()
