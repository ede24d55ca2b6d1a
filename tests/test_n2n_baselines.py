"""Equal-parameter yardsticks of the N2N benchmark: uniform width, L1-norm filter pruning, random students."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from envs.compression.arch import teacher_spec
from envs.compression.baselines import (
    _conv_bn,
    l1_kept_filters,
    l1_prune,
    l1_prune_to,
    random_student,
    uniform_width_spec,
)
from envs.compression.network import build, check_and_flops, count_params


def _trained_like(arch: str) -> tuple[dict, torch.nn.Module]:
    """A teacher with random (non-trivial) BatchNorm statistics, in eval mode."""
    spec = teacher_spec(arch, 0.125, (1, 16, 16), 10)
    torch.manual_seed(0)
    model = build(spec)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return spec, model.eval()


@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "vgg11"])
def test_l1_pruning_equals_the_teacher_with_pruned_filters_silenced(arch: str) -> None:
    """Li et al. 2017: the pruned network computes what the teacher computes when the pruned filters output
    0."""
    spec, model = _trained_like(arch)
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(l1_prune(spec, model, 1.0).eval()(x), model(x))  # keep all: the same network
        pruned = l1_prune(spec, model, 0.4).eval()
        for key, idx in l1_kept_filters(spec, model, 0.4).items():
            bn = _conv_bn(model, key)[1]
            off = torch.ones(bn.num_features, dtype=torch.bool)
            off[idx] = False
            bn.weight[off] = 0.0  # silence the pruned filters: BN output 0, ReLU 0
            bn.bias[off] = 0.0
            assert len(idx) == max(1, math.ceil(0.4 * bn.num_features))
        torch.testing.assert_close(pruned(x), model(x), rtol=1e-4, atol=1e-5)
    assert count_params(pruned.spec) < count_params(spec)


@pytest.mark.parametrize("arch", ["resnet34", "vgg19"])
def test_equal_parameter_students_hit_the_target(arch: str) -> None:
    spec, model = _trained_like(arch)
    target = count_params(spec) // 12
    uniform = uniform_width_spec(arch, 0.125, (1, 16, 16), 10, target)
    assert abs(count_params(uniform) / target - 1) < 0.1
    assert [u["type"] for u in uniform["layers"]] == [u["type"] for u in spec["layers"]]  # same depth
    pruned = l1_prune_to(spec, model, target)
    assert abs(count_params(pruned.spec) / target - 1) < 0.1
    rng = np.random.default_rng(0)
    for _ in range(5):
        student = random_student(spec, rng, 4)
        assert check_and_flops(student)[0] <= count_params(spec)


def test_shrink_policy_initial_keep_probability() -> None:
    """``init_keep`` sets the initial probability of ratio 1.0; the default keeps the official init."""
    from envs.compression.arch import descriptor_scale, normalized_descriptors, shrink_free_mask
    from envs.compression.student import SHRINK_RATIOS
    from policies.sequence import ShrinkPolicy

    spec = teacher_spec("vgg11", 0.125, (1, 16, 16), 10)
    desc = torch.from_numpy(normalized_descriptors(spec, descriptor_scale(spec)))
    free = torch.from_numpy(shrink_free_mask(spec)).reshape(-1)
    for keep, lo, hi in ((0.5, 0.4, 0.6), (None, 0.0, 0.25)):
        torch.manual_seed(0)
        actions = ShrinkPolicy(SHRINK_RATIOS, init_keep=keep).sample(desc, free.reshape(-1, 3), 64)[0]
        share = (actions[:, free] == len(SHRINK_RATIOS) - 1).float().mean()
        assert lo < share < hi, (keep, float(share))
    with pytest.raises(ValueError, match="init_keep"):
        ShrinkPolicy(SHRINK_RATIOS, init_keep=1.0)
