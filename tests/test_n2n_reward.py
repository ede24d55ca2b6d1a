"""The N2N reward R = C(2 − C)·A/A_teacher and the annealed constraint penalty."""

from __future__ import annotations

import pytest

from envs.compression.reward import (
    DEGENERATE_REWARD,
    anneal_epsilon,
    compression_reward,
    constrained_reward,
    n2n_reward,
)


def test_reward_formula() -> None:
    # 10x fewer parameters: C = 0.9, C(2-C) = 0.99; same accuracy as the teacher
    assert n2n_reward(100, 1000, 0.9, 0.9) == pytest.approx(0.99)
    # half the parameters, accuracy ratio 0.8: 0.5 * 1.5 * 0.8
    assert n2n_reward(500, 1000, 0.72, 0.9) == pytest.approx(0.6)
    assert compression_reward(1000, 1000) == 0.0
    assert compression_reward(0, 1000) == 1.0


def test_compression_term_punishes_low_accuracy_at_high_compression() -> None:
    # the non-linear R_c: 20x at 50% accuracy ratio scores below 2x at 90%
    assert n2n_reward(50, 1000, 0.5, 1.0) < n2n_reward(500, 1000, 0.9, 1.0)


def test_bad_teacher_values_raise() -> None:
    with pytest.raises(ValueError):
        n2n_reward(1, 0, 0.5, 0.5)


def test_constraint_annealing() -> None:
    assert DEGENERATE_REWARD == -1.0
    assert anneal_epsilon(0) == 1.0 and anneal_epsilon(15) == 0.0 and anneal_epsilon(30) == 0.0
    assert anneal_epsilon(5) == pytest.approx((1 - 5 / 15) ** 4)
    assert constrained_reward(0.8, False, 20) == 0.8
    assert constrained_reward(0.8, True, 0) == pytest.approx(0.8)
    assert constrained_reward(0.8, True, 15) == pytest.approx(-1.0)
    eps = anneal_epsilon(3, 6)
    assert constrained_reward(0.5, True, 3, 6) == pytest.approx(eps - 1 + eps * 0.5)
