"""Plain-torch networks built from architecture specs (:mod:`envs.compression.arch`), and their costs.

Teachers and students are both :class:`SpecNet`; input channels are inferred while building, so a spec
only names output widths (the official ``resizeToFit`` step, github.com/anubhavashok/N2N at 544f5dd).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from envs.compression.arch import Spec


def _conv_bn(in_ch: int, unit: dict[str, Any], relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, unit["out"], unit["kernel"], unit["stride"], unit["padding"], bias=False),
        nn.BatchNorm2d(unit["out"]),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """y = ReLU(body(x) + shortcut(x)); an empty body leaves y = ReLU(shortcut(x)) (identity: x itself,
    since x is already non-negative), so a block whose convs were all removed is simply skipped."""

    def __init__(self, in_ch: int, unit: dict[str, Any]) -> None:
        super().__init__()
        convs = []
        ch = in_ch
        for j, conv in enumerate(unit["body"]):
            convs.append(_conv_bn(ch, conv, relu=j < len(unit["body"]) - 1))
            ch = conv["out"]
        self.body = nn.Sequential(*convs)
        self.shortcut: nn.Module = (
            nn.Identity() if unit["shortcut"] is None else _conv_bn(in_ch, unit["shortcut"], False)
        )
        sc_out = in_ch if unit["shortcut"] is None else unit["shortcut"]["out"]
        if convs and ch != sc_out:
            raise ValueError(f"residual block body ends with {ch} channels but its shortcut gives {sc_out}")
        self.out_channels = sc_out
        self.has_body = bool(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.shortcut(x)
        if self.has_body:
            y = self.body(x) + y
        return torch.relu(y)


class SpecNet(nn.Module):
    """A CNN built from a spec; ``forward`` returns logits (no softmax)."""

    def __init__(self, spec: Spec) -> None:
        super().__init__()
        self.spec = spec
        ch = int(spec["input_shape"][0])
        units: list[nn.Module] = []
        for unit in spec["layers"]:
            kind = unit["type"]
            if kind == "conv":
                units.append(_conv_bn(ch, unit, relu=True))
                ch = unit["out"]
            elif kind == "block":
                block = ResidualBlock(ch, unit)
                units.append(block)
                ch = block.out_channels
            elif kind == "maxpool":
                units.append(nn.MaxPool2d(unit["kernel"], unit["stride"], unit["padding"], ceil_mode=True))
            elif kind == "avgpool":
                units.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
            elif kind == "linear":
                units.append(nn.Linear(ch, unit["out"]))
                ch = unit["out"]
            else:
                raise ValueError(f"unknown unit type {kind!r} in spec")
        self.units = nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x)


def build(spec: Spec, device: str | torch.device = "cpu") -> SpecNet:
    """Build a freshly initialised network (PyTorch default init) on ``device``."""
    with torch.device(device):
        return SpecNet(spec)


def count_params(spec: Spec) -> int:
    """Number of trainable parameters (built on the meta device: no memory, no compute)."""
    return sum(p.numel() for p in build(spec, "meta").parameters())


def check_and_flops(spec: Spec) -> tuple[int, int]:
    """Run a meta-device forward pass; returns (params, multiply-accumulates per image).

    Raises:
        ValueError / RuntimeError: the spec cannot be built or its forward pass fails (degenerate student).
    """
    net = build(spec, "meta").eval()  # eval: BatchNorm accepts a 1×1 map of one image
    macs = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            macs += output.numel() * k
        elif isinstance(module, nn.Linear):
            macs += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        out = net(torch.empty(1, *spec["input_shape"], device="meta"))
    finally:
        for h in handles:
            h.remove()
    if tuple(out.shape) != (1, spec["num_classes"]):
        raise ValueError(f"forward gives {tuple(out.shape)}, expected (1, {spec['num_classes']})")
    return sum(p.numel() for p in net.parameters()), int(macs)
