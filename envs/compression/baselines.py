"""Hand-made students at a given parameter count, the yardsticks of an N2N search (issue 19).

* :func:`uniform_width_spec`: the teacher's architecture with every channel count scaled by one factor,
  found by bisection so that the parameter count is as close as possible to the target.
* :func:`l1_prune`: L1-norm filter pruning (Li, Kadav, Durdanovic, Samet, Graf, *Pruning Filters for
  Efficient ConvNets*, ICLR 2017, Sec. 3.1-3.2): every conv keeps the fraction ``keep`` of its filters with
  the largest sum of absolute kernel weights, and the kept weights are copied into the smaller network.
  Channels that feed a residual addition form one group (the stem or projection shortcut and the last conv
  of every block writing into that stream) and are ranked by the sum of their writers' L1 norms (the
  paper's Sec. 3.3 prunes such layers together).
* :func:`random_student`: one random removal + shrinkage student (the N2N action spaces, uniform actions).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from envs.compression.arch import (
    SHRINK_FIELDS,
    Spec,
    copy_spec,
    layer_sequence,
    removal_fixed_mask,
    teacher_spec,
)
from envs.compression.network import SpecNet, build, count_params
from envs.compression.student import SHRINK_RATIOS, apply_removal, apply_shrink


def _closest(candidates: list[tuple[int, Any]], target: int) -> Any:
    return min(candidates, key=lambda c: abs(c[0] - target))[1]


def uniform_width_spec(
    arch: str, width: float, input_shape: tuple[int, int, int], num_classes: int, target_params: int
) -> Spec:
    """The teacher ``arch`` at the width in (0, ``width``] whose parameter count is closest to the target."""
    lo, hi = 1e-4, float(width)
    tried: list[tuple[int, Any]] = []
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        spec = teacher_spec(arch, mid, input_shape, num_classes)
        params = count_params(spec)
        tried.append((params, spec))
        lo, hi = (mid, hi) if params < target_params else (lo, mid)
    return _closest(tried, target_params)


# -- L1-norm filter pruning ---------------------------------------------------------------------------------
def _writers(spec: Spec) -> tuple[list[list[tuple]], dict[tuple, int]]:
    """Groups of convs whose filters index one channel space; key → group id.

    Keys: ``(i,)`` a top-level conv, ``(i, j)`` conv j of block i's body, ``(i, "sc")`` its shortcut.
    """
    groups: list[list[tuple]] = []
    stream: list[tuple] | None = None
    for i, unit in enumerate(spec["layers"]):
        if unit["type"] == "conv":
            stream = [(i,)]
            groups.append(stream)
        elif unit["type"] == "block":
            body = unit["body"]
            for j in range(len(body) - 1):
                groups.append([(i, j)])
            last = [(i, len(body) - 1)] if body else []
            if unit["shortcut"] is not None:
                stream = [*last, (i, "sc")]
                groups.append(stream)
            elif last:
                if stream is None:
                    raise ValueError("an identity block needs a conv before it")
                stream.extend(last)
    return groups, {key: g for g, keys in enumerate(groups) for key in keys}


def _conv_bn(model: SpecNet, key: tuple) -> nn.Sequential:
    unit = model.units[key[0]]
    if len(key) == 1:
        return unit
    return unit.shortcut if key[1] == "sc" else unit.body[key[1]]


def _copy_conv_bn(
    src: nn.Sequential, dst: nn.Sequential, out_idx: torch.Tensor, in_idx: torch.Tensor
) -> None:
    conv_s, bn_s, conv_d, bn_d = src[0], src[1], dst[0], dst[1]
    conv_d.weight.copy_(conv_s.weight[out_idx][:, in_idx])
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(bn_d, name).copy_(getattr(bn_s, name)[out_idx])


@torch.no_grad()
def l1_kept_filters(spec: Spec, model: SpecNet, keep: float) -> dict[tuple, torch.Tensor]:
    """Sorted indices of the filters :func:`l1_prune` keeps, per conv key (``(i,)``, ``(i, j)``, ``(i,
    "sc")``)."""
    groups, _ = _writers(spec)
    out: dict[tuple, torch.Tensor] = {}
    for keys in groups:
        score = sum(_conv_bn(model, k)[0].weight.abs().sum(dim=(1, 2, 3)) for k in keys)
        n = max(1, math.ceil(keep * len(score)))
        idx = torch.sort(torch.topk(score, n).indices).values
        out.update(dict.fromkeys(keys, idx))
    return out


@torch.no_grad()
def l1_prune(spec: Spec, model: SpecNet, keep: float) -> SpecNet:
    """The network ``model`` (built from ``spec``) with the fraction ``keep`` of each conv's filters kept
    (at least one), ranked by L1 norm (Li et al. 2017); BatchNorm statistics and the classifier columns of
    kept channels are copied. Returns the pruned :class:`SpecNet` (its ``spec`` is the pruned spec)."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    groups, group_of = _writers(spec)
    kept_by_key = l1_kept_filters(spec, model, keep)
    kept = [kept_by_key[keys[0]] for keys in groups]
    pruned = build(_pruned_spec(spec, groups, group_of, keep))
    in_idx = torch.arange(int(spec["input_shape"][0]))
    for i, unit in enumerate(spec["layers"]):
        if unit["type"] == "conv":
            out_idx = kept[group_of[(i,)]]
            _copy_conv_bn(model.units[i], pruned.units[i], out_idx, in_idx)
            in_idx = out_idx
        elif unit["type"] == "block":
            cur = in_idx
            for j in range(len(unit["body"])):
                out_idx = kept[group_of[(i, j)]]
                _copy_conv_bn(model.units[i].body[j], pruned.units[i].body[j], out_idx, cur)
                cur = out_idx
            if unit["shortcut"] is not None:
                sc_idx = kept[group_of[(i, "sc")]]
                _copy_conv_bn(model.units[i].shortcut, pruned.units[i].shortcut, sc_idx, in_idx)
                in_idx = sc_idx
        elif unit["type"] == "linear":
            pruned.units[i].weight.copy_(model.units[i].weight[:, in_idx])
            pruned.units[i].bias.copy_(model.units[i].bias)
            in_idx = torch.arange(unit["out"])
    return pruned


def l1_prune_to(spec: Spec, model: SpecNet, target_params: int) -> SpecNet:
    """:func:`l1_prune` at the keep fraction whose parameter count is closest to ``target_params``."""
    groups, group_of = _writers(spec)
    lo, hi = 1e-4, 1.0
    tried: list[tuple[int, float]] = []
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        params = count_params(_pruned_spec(spec, groups, group_of, mid))
        tried.append((params, mid))
        lo, hi = (mid, hi) if params < target_params else (lo, mid)
    return l1_prune(spec, model, _closest(tried, target_params))


def _pruned_spec(spec: Spec, groups: list, group_of: dict, keep: float) -> Spec:
    """The spec :func:`l1_prune` produces at ``keep`` (widths only; which filters are kept is irrelevant)."""
    child = copy_spec(spec)
    sizes = []
    for keys in groups:
        n = _key_conv(spec, keys[0])["out"]
        sizes.append(max(1, math.ceil(keep * n)))
    for key, g in group_of.items():
        _key_conv(child, key)["out"] = sizes[g]
    width = int(spec["input_shape"][0])
    for unit in child["layers"]:
        if unit["type"] == "block":
            unit["out"] = unit["shortcut"]["out"] if unit["shortcut"] is not None else width
            width = unit["out"]
        elif unit["type"] in ("conv", "linear"):
            width = unit["out"]
    return child


def _key_conv(spec: Spec, key: tuple) -> dict[str, Any]:
    unit = spec["layers"][key[0]]
    if len(key) == 1:
        return unit
    return unit["shortcut"] if key[1] == "sc" else unit["body"][key[1]]


# -- random students ----------------------------------------------------------------------------------------
def random_student(parent: Spec, rng: np.random.Generator, min_outputs: int) -> Spec:
    """A random student in the N2N action spaces: removal actions Bernoulli(p) on the free layers, then
    shrink-ratio indices uniform in [0, m]; p ~ U(0.1, 1) and m ~ U{0..10} are drawn per student so that
    samples spread over all sizes (uniform actions alone concentrate near one size)."""
    fixed = removal_fixed_mask(parent)
    keep = np.where(fixed, 1, rng.random(len(fixed)) < rng.uniform(0.1, 1.0))
    removed = apply_removal(parent, keep)
    top = int(rng.integers(0, len(SHRINK_RATIOS)))
    idx = rng.integers(0, top + 1, (len(layer_sequence(removed)), len(SHRINK_FIELDS)))
    return apply_shrink(removed, np.asarray(SHRINK_RATIOS)[idx], min_outputs)
