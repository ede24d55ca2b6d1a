"""N2N architecture specs: teachers, descriptors, removal and shrinkage rebuilding on every teacher."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs.compression.arch import (
    ARCHS,
    DESCRIPTOR_FIELDS,
    descriptor_scale,
    descriptors,
    layer_sequence,
    normalized_descriptors,
    removal_fixed_mask,
    shrink_free_mask,
    spec_hash,
    teacher_spec,
)
from envs.compression.network import build, check_and_flops, count_params
from envs.compression.student import SHRINK_RATIOS, apply_removal, apply_shrink, ratios_from_actions

# Parameter counts of the standard CIFAR networks (kuangliu/pytorch-cifar; N2N's 11.17M / 21.28M teachers).
PAPER_PARAMS = {"resnet18": 11_173_962, "resnet34": 21_282_122}


@pytest.mark.parametrize("arch", sorted(PAPER_PARAMS))
def test_full_width_resnets_match_published_parameter_counts(arch: str) -> None:
    assert count_params(teacher_spec(arch, 1.0, (3, 32, 32), 10)) == PAPER_PARAMS[arch]


def test_descriptors_of_resnet18() -> None:
    spec = teacher_spec("resnet18", 0.25, (3, 32, 32), 10)
    d = descriptors(spec)
    # stem + 8 blocks x 2 convs + avgpool + linear; shortcut convs are not action-bearing layers
    assert d.shape == (19, len(DESCRIPTOR_FIELDS))
    np.testing.assert_array_equal(d[0], [1, 3, 1, 1, 16, 0, 0])  # stem conv, 64 * 0.25 filters
    np.testing.assert_array_equal(d[1], [1, 3, 1, 1, 16, 1, 0])  # first conv of a block: skip starts
    np.testing.assert_array_equal(d[2], [1, 3, 1, 1, 16, 0, 1])  # last conv of a block: skip ends
    np.testing.assert_array_equal(d[5], [1, 3, 2, 1, 32, 1, 0])  # strided conv of stage 2
    np.testing.assert_array_equal(d[-2], [8, 0, 0, 0, 0, 0, 0])  # global average pool
    np.testing.assert_array_equal(d[-1], [5, 0, 0, 0, 10, 0, 0])  # linear
    norm = normalized_descriptors(spec, descriptor_scale(spec))
    assert norm.min() >= 0.0 and norm.max() == 1.0
    assert norm[0, 4] == pytest.approx(16 / 128)


def test_vgg_descriptors_include_pools() -> None:
    d = descriptors(teacher_spec("vgg11", 0.5, (3, 32, 32), 10))
    assert d.shape == (8 + 5 + 2, 7)
    np.testing.assert_array_equal(d[1], [2, 2, 2, 0, 0, 0, 0])  # max pool: kernel 2, stride 2


def test_removal_fixed_layers() -> None:
    spec = teacher_spec("resnet34", 0.125, (1, 16, 16), 10)
    fixed = removal_fixed_mask(spec)
    refs = layer_sequence(spec)
    assert fixed[0] and fixed[-1] and fixed[-2]
    strided = [t for t, r in enumerate(refs) if r.unit.get("stride", 1) == 2]
    assert len(strided) == 3 and fixed[strided].all()
    assert fixed.sum() == 6


@pytest.mark.parametrize("arch", ARCHS)
def test_remove_everything_removable_on_every_teacher(arch: str) -> None:
    teacher = teacher_spec(arch, 0.25, (3, 32, 32), 10)
    n = len(layer_sequence(teacher))
    child = apply_removal(teacher, np.zeros(n, dtype=bool))
    assert len(layer_sequence(child)) == int(removal_fixed_mask(teacher).sum())
    net = build(child)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    params, _ = check_and_flops(child)
    assert params == sum(p.numel() for p in net.parameters()) < count_params(teacher)
    # keeping everything gives the teacher back
    assert spec_hash(apply_removal(teacher, np.ones(n, dtype=bool))) == spec_hash(teacher)


def test_removal_empty_identity_block_is_skipped_exactly() -> None:
    teacher = teacher_spec("resnet18", 0.25, (3, 16, 16), 10)
    keep = np.ones(19, dtype=bool)
    keep[3:5] = False  # both convs of the second block of stage 1 (identity shortcut)
    child = apply_removal(teacher, keep)
    assert child["layers"][2]["body"] == [] and child["layers"][2]["shortcut"] is None
    block_convs = 2 * (16 * 16 * 9 + 2 * 16)
    assert count_params(teacher) - count_params(child) == block_convs
    net = build(child).eval()
    x = torch.rand(1, 16, 8, 8)
    assert torch.equal(net.units[2](x), x)  # ReLU(x) of a non-negative input


@pytest.mark.parametrize("arch", ARCHS)
def test_random_removal_then_shrink_builds_on_every_teacher(arch: str) -> None:
    rng = np.random.default_rng(0)
    teacher = teacher_spec(arch, 0.25, (3, 32, 32), 10)
    n = len(layer_sequence(teacher))
    for _ in range(5):
        child = apply_removal(teacher, rng.random(n) < 0.5)
        m = len(layer_sequence(child))
        actions = rng.integers(0, len(SHRINK_RATIOS), m * 3)
        small = apply_shrink(child, ratios_from_actions(actions, m), min_outputs=2)
        try:
            params, _ = check_and_flops(small)
        except (RuntimeError, ValueError):
            continue  # a collapsed feature map is a legitimate degenerate student
        net = build(small)
        assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
        assert params == sum(p.numel() for p in net.parameters()) <= count_params(child)


def test_shrink_resizes_projection_and_keeps_identity_widths() -> None:
    teacher = teacher_spec("resnet18", 0.5, (3, 32, 32), 10)  # stem 32, stages 32/64/128/256
    m = len(layer_sequence(teacher))
    half = np.full((m, 3), 0.5)
    child = apply_shrink(teacher, half, min_outputs=1)
    layers = child["layers"]
    assert layers[0]["out"] == 16 and layers[0]["kernel"] == 1 and layers[0]["padding"] == 0
    ident = layers[1]
    assert ident["shortcut"] is None and ident["body"][0]["out"] == 16 and ident["body"][1]["out"] == 16
    proj = layers[3]  # first block of stage 2: projection shortcut
    assert proj["body"][0]["kernel"] == 3 and proj["body"][0]["stride"] == 2  # frozen inside blocks
    assert proj["body"][1]["out"] == proj["shortcut"]["out"] == proj["out"] == 32
    assert layers[4]["body"][1]["out"] == 32  # the next identity block follows the new width
    net = build(child)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    # ratio 1.0 everywhere changes nothing
    assert spec_hash(apply_shrink(teacher, np.ones((m, 3)))) == spec_hash(teacher)


def test_shrink_free_mask_and_min_outputs() -> None:
    teacher = teacher_spec("vgg11", 0.125, (3, 32, 32), 10)
    free = shrink_free_mask(teacher)
    d = descriptors(teacher)
    assert not free[d[:, 0] != 1].any()  # pools and linear are frozen
    assert free[d[:, 0] == 1].all()  # stride-1 3x3 convs: kernel, padding, filters
    child = apply_shrink(teacher, np.full((len(d), 3), 0.25), min_outputs=10)
    assert [u["out"] for u in child["layers"] if u["type"] == "conv"][:2] == [8, 10]  # 8 stays, 16 -> 10


def test_shrink_after_removal_with_empty_blocks() -> None:
    teacher = teacher_spec("resnet34", 0.125, (1, 16, 16), 10)
    child = apply_removal(teacher, np.zeros(35, dtype=bool))
    m = len(layer_sequence(child))
    small = apply_shrink(child, np.full((m, 3), 0.5), min_outputs=2)
    assert build(small)(torch.zeros(1, 1, 16, 16)).shape == (1, 10)
    with pytest.raises(ValueError, match="ratios"):
        apply_shrink(child, np.ones((m + 1, 3)))
    with pytest.raises(ValueError, match="one action per layer"):
        apply_removal(teacher, np.ones(3))
