"""Architecture specs: teacher definitions, the layer sequence the policies act on, and layer descriptors.

A *spec* is a JSON-able dict, so a student can be hashed, cached, sent to a worker and saved next to its
weights::

    {"input_shape": [C, H, W], "num_classes": K, "layers": [unit, ...]}
    unit = {"type": "conv", "out": 64, "kernel": 3, "stride": 1, "padding": 1}   # conv-BN-ReLU
         | {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 0}           # ceil mode
         | {"type": "avgpool"}                                                   # global average pool
         | {"type": "linear", "out": K}
         | {"type": "block", "out": W, "body": [conv units], "shortcut": None | conv unit (1x1)}

A ``block`` is a residual BasicBlock, y = ReLU(body(x) + shortcut(x)) (He et al. 2016), with an identity
shortcut when ``shortcut`` is None. A *layer* of the MDP is one unit outside a block or one conv inside a
block body; BN and ReLU belong to their conv (removing a BN alone removes no meaningful capacity). The
projection shortcut is not an action-bearing layer, so actions index exactly the layers the policy sees
(the official code listed shortcut layers but skipped them when applying actions: github.com/anubhavashok/N2N
at 544f5dd,
``utils.traverse_removal``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

Spec = dict[str, Any]

#: Layer type ids of the official code (``layerTypes`` in N2N's Layer.py): Conv2d=1, MaxPool2d=2,
#: Linear=5, AvgPool2d=8.
TYPE_IDS = {"conv": 1, "maxpool": 2, "linear": 5, "avgpool": 8}
#: Descriptor fields x_t = (l, k, s, p, n, s_start, s_end) (paper Sec. 3.2.1).
DESCRIPTOR_FIELDS = ("type", "kernel", "stride", "padding", "outputs", "skip_start", "skip_end")

_RESNET_BLOCKS = {"resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3]}
_VGG_CFG = {  # kuangliu/pytorch-cifar VGG configurations; "M" = 2x2 max pool
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg19": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}
ARCHS = tuple(_RESNET_BLOCKS) + tuple(_VGG_CFG)


def _conv(out: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> dict[str, Any]:
    return {"type": "conv", "out": int(out), "kernel": kernel, "stride": stride, "padding": padding}


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def teacher_spec(
    arch: str, width: float, input_shape: tuple[int, int, int], num_classes: int, stem: str = "cifar"
) -> Spec:
    """Spec of a CIFAR-style teacher with every channel count multiplied by ``width``.

    ``stem="imagenet"`` gives ResNets He et al.'s 7×7/2 conv + 3×3/2 max-pool stem (for ≥ 96 px inputs; the
    noise-mask classifiers use it), otherwise the 3×3/1 CIFAR stem.

    ResNet-18/34: 3×3 stem, four stages of BasicBlocks ([2,2,2,2] / [3,4,6,3]) with 64·w…512·w channels,
    strides 1,2,2,2, projection shortcuts where the shape changes, global average pool, linear
    (kuangliu/pytorch-cifar). VGG-11/13/19: 3×3 conv-BN-ReLU stacks with max pools, global average pool,
    linear. Max pools use ceil mode so that inputs smaller than 32×32 never shrink to zero.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown teacher {arch!r}; choose one of {', '.join(ARCHS)}")
    if width <= 0:
        raise ValueError(f"width multiplier must be > 0, got {width}")
    if stem not in ("cifar", "imagenet"):
        raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")
    layers: list[dict[str, Any]] = []
    if arch in _RESNET_BLOCKS:
        in_planes = _scaled(64, width)
        if stem == "imagenet":
            layers.append(_conv(in_planes, kernel=7, stride=2, padding=3))
            layers.append({"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1})
        else:
            layers.append(_conv(in_planes))
        for stage, n_blocks in enumerate(_RESNET_BLOCKS[arch]):
            planes = _scaled(64 * 2**stage, width)
            for b in range(n_blocks):
                stride = 2 if (stage > 0 and b == 0) else 1
                shortcut = None
                if stride != 1 or in_planes != planes:
                    shortcut = _conv(planes, kernel=1, stride=stride, padding=0)
                body = [_conv(planes, stride=stride), _conv(planes)]
                layers.append({"type": "block", "out": planes, "body": body, "shortcut": shortcut})
                in_planes = planes
    else:
        for v in _VGG_CFG[arch]:
            if v == "M":
                layers.append({"type": "maxpool", "kernel": 2, "stride": 2, "padding": 0})
            else:
                layers.append(_conv(_scaled(int(v), width)))
    layers += [{"type": "avgpool"}, {"type": "linear", "out": int(num_classes)}]
    return {"input_shape": [int(x) for x in input_shape], "num_classes": int(num_classes), "layers": layers}


@dataclass(frozen=True)
class LayerRef:
    """One action-bearing layer: its unit, its path in the spec and its place inside a residual block."""

    path: tuple[int, ...]  # (i,) top-level unit, or (i, j) the j-th conv of block i's body
    unit: dict[str, Any]
    block_pos: int = -1  # position in the block body, -1 outside blocks
    block_len: int = 0
    identity_block: bool = False

    @property
    def in_block(self) -> bool:
        return self.block_pos >= 0

    @property
    def block_last(self) -> bool:
        return self.in_block and self.block_pos == self.block_len - 1


def layer_sequence(spec: Spec) -> list[LayerRef]:
    """The layers the policies act on, in forward order (shortcut convs excluded, see module doc)."""
    refs: list[LayerRef] = []
    for i, unit in enumerate(spec["layers"]):
        if unit["type"] == "block":
            body = unit["body"]
            for j, conv in enumerate(body):
                refs.append(LayerRef((i, j), conv, j, len(body), unit["shortcut"] is None))
        else:
            refs.append(LayerRef((i,), unit))
    return refs


def descriptors(spec: Spec) -> np.ndarray:
    """Raw descriptors x_t = (type, kernel, stride, padding, outputs, skip_start, skip_end), shape (L, 7).

    ``skip_start`` is 1 where a skip connection starts at the layer's input (first conv of a block body) and
    ``skip_end`` is 1 where it joins the layer's output (last conv of the body) (paper Sec. 3.2.1).
    """
    rows = []
    for ref in layer_sequence(spec):
        u = ref.unit
        rows.append(
            [
                TYPE_IDS[u["type"]],
                u.get("kernel", 0),
                u.get("stride", 0),
                u.get("padding", 0),
                u.get("out", 0),
                float(ref.in_block and ref.block_pos == 0),
                float(ref.block_last),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(-1, len(DESCRIPTOR_FIELDS))


def descriptor_scale(teacher: Spec) -> np.ndarray:
    """Per-field divisor (the teacher's column maxima, at least 1) so teacher and students lie in [0, 1]."""
    return np.maximum(descriptors(teacher).max(axis=0), 1.0).astype(np.float32)


def normalized_descriptors(spec: Spec, scale: np.ndarray) -> np.ndarray:
    """:func:`descriptors` divided by ``scale`` and clipped to [0, 1] (the policies' input)."""
    return np.clip(descriptors(spec) / scale, 0.0, 1.0).astype(np.float32)


def removal_fixed_mask(spec: Spec) -> np.ndarray:
    """True for layers stage 1 must keep: the first and last layer, strided convs, linear and average pool
    (``Architecture.fixLayers`` of the official code, github.com/anubhavashok/N2N at 544f5dd)."""
    refs = layer_sequence(spec)
    fixed = np.zeros(len(refs), dtype=bool)
    for t, ref in enumerate(refs):
        u = ref.unit
        fixed[t] = (
            t in (0, len(refs) - 1)
            or u["type"] in ("linear", "avgpool")
            or (u["type"] == "conv" and u["stride"] != 1)
        )
    return fixed


#: Shrinkable fields per layer in stage 2, in the order the shrink policy decides them.
SHRINK_FIELDS = ("kernel", "padding", "outputs")


def shrink_free_mask(spec: Spec) -> np.ndarray:
    """(L, 3) booleans: which of (kernel, padding, outputs) stage 2 may change for each layer.

    Outside blocks, a stride-1 conv may shrink its kernel (if > 1), padding (if > 0) and filters; strided
    convs, pools, average pool and linear are frozen (official ``fixParams``; max pools are frozen too since
    shrinking them changes no parameter). Inside residual blocks only filter counts change (official
    ``fixBlockLayers``), and the last conv of an identity block keeps the incoming width so the addition
    stays valid.
    """
    refs = layer_sequence(spec)
    free = np.zeros((len(refs), len(SHRINK_FIELDS)), dtype=bool)
    for t, ref in enumerate(refs):
        u = ref.unit
        if u["type"] != "conv":
            continue
        if ref.in_block:
            free[t, 2] = not (ref.block_last and ref.identity_block)
        elif u["stride"] == 1:
            free[t] = (u["kernel"] > 1, u["padding"] > 0, True)
    return free


def spec_hash(spec: Spec) -> str:
    """Stable 16-hex-digit hash of a spec (the reward cache key)."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def spec_to_json(spec: Spec) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def spec_from_json(text: str) -> Spec:
    spec = json.loads(text)
    if not isinstance(spec, dict) or "layers" not in spec or "input_shape" not in spec:
        raise ValueError("not an architecture spec: expected a JSON object with 'input_shape' and 'layers'")
    return spec


def describe(spec: Spec) -> str:
    """One readable line per unit, e.g. ``conv 3x3/1 p1 -> 16`` and ``block[conv 3x3/2 p1 -> 32] +proj``."""

    def one(u: dict[str, Any]) -> str:
        if u["type"] == "conv":
            return f"conv {u['kernel']}x{u['kernel']}/{u['stride']} p{u['padding']} -> {u['out']}"
        if u["type"] == "maxpool":
            return f"maxpool {u['kernel']}/{u['stride']}"
        if u["type"] == "linear":
            return f"linear -> {u['out']}"
        return u["type"]

    lines = []
    for u in spec["layers"]:
        if u["type"] == "block":
            body = ", ".join(one(c) for c in u["body"]) or "empty"
            tail = (
                f" + proj 1x1/{u['shortcut']['stride']} -> {u['shortcut']['out']}"
                if u["shortcut"]
                else " + id"
            )
            lines.append(f"block[{body}]{tail}")
        else:
            lines.append(one(u))
    return "\n".join(lines)


def copy_spec(spec: Spec) -> Spec:
    return copy.deepcopy(spec)
