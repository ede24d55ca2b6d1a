"""rliable-based aggregation checked against hand computations on small arrays."""

from __future__ import annotations

import numpy as np
import pytest
from rliable import library, metrics
from scipy.stats import trim_mean

from agents.analysis.runs import Curve
from agents.analysis.stats import (
    aggregate_curves,
    aggregate_estimates,
    nan_aggregate,
    normalize,
    performance_profiles,
    probability_of_improvement,
    rliable_aggregates,
    rliable_probability_of_improvement,
    run_score_distribution,
)


def test_estimates_match_hand_computation():
    scores = np.array([1.0, 2.0, 3.0, 10.0])
    est = aggregate_estimates({"a": scores}, reps=200, seed=0, gamma=5.0)["a"]
    assert est["iqm"].point == pytest.approx(2.5)  # drop 1 and 10, mean of 2 and 3
    assert est["mean"].point == pytest.approx(4.0)
    assert est["median"].point == pytest.approx(4.0)  # rliable: median of per-task means (one task)
    assert est["optimality_gap"].point == pytest.approx((4 + 3 + 2 + 0) / 4)  # mean(gamma - min(x, gamma))
    for e in est.values():
        assert scores.min() - 5 <= e.low <= e.point <= e.high <= scores.max() + 5
    # Two tasks: IQM pools 8 values; mean and median are over the 2 task means.
    two = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [3.0, 40.0]])
    est = aggregate_estimates({"b": two}, reps=100)["b"]
    assert est["iqm"].point == pytest.approx(trim_mean(two.ravel(), 0.25))
    assert est["mean"].point == pytest.approx(np.mean([1.5, 25.0]))


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (4, 1), (5, 3), (10, 2)])
def test_aggregates_equal_rliable_metrics(shape):
    x = np.random.default_rng(sum(shape)).normal(size=shape) + 0.5
    expected = [
        metrics.aggregate_iqm(x),
        metrics.aggregate_mean(x),
        metrics.aggregate_median(x),
        metrics.aggregate_optimality_gap(x, 1.0),
    ]
    np.testing.assert_allclose(rliable_aggregates(x, gamma=1.0), expected, rtol=1e-12)


def test_probability_of_improvement_equals_rliable():
    rng = np.random.default_rng(3)
    for x, y in [(rng.integers(0, 4, (5, 2)), rng.integers(0, 4, (3, 2))), (rng.normal(size=(4, 3)),) * 2]:
        x, y = np.asarray(x, float), np.asarray(y, float)
        assert rliable_probability_of_improvement(x, y) == pytest.approx(
            metrics.probability_of_improvement(x, y)
        )


def test_bootstrap_is_seeded_and_leaves_global_rng_alone():
    scores = {"a": np.random.default_rng(0).normal(size=(6, 2))}
    np.random.seed(123)
    expected_next = np.random.rand()
    np.random.seed(123)
    first = aggregate_estimates(scores, reps=100, seed=7)
    assert np.random.rand() == expected_next  # caller's global numpy stream untouched
    again = aggregate_estimates(scores, reps=100, seed=7)
    other = aggregate_estimates(scores, reps=100, seed=8)
    assert first == again
    assert first != other


def test_probability_of_improvement_is_mann_whitney():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0])
    poi = probability_of_improvement(x, y, reps=100)
    assert poi.point == pytest.approx(5.5 / 6)  # 5 wins and 1 tie out of 6 pairs
    assert 0.0 <= poi.low <= poi.point <= poi.high <= 1.0
    with pytest.raises(ValueError, match="same tasks"):
        probability_of_improvement(np.ones((2, 2)), np.ones((2, 3)))


def test_performance_profile_is_fraction_above_tau():
    taus, profiles = performance_profiles(
        {"a": np.array([1.0, 2.0, 3.0, 4.0])}, taus=[0.5, 2.5, 4.0], reps=50
    )
    np.testing.assert_allclose(profiles["a"][0], [1.0, 0.5, 0.0])
    x, taus = np.random.default_rng(0).normal(size=(6, 2)), np.linspace(-2, 2, 9)
    np.testing.assert_allclose(run_score_distribution(x, taus), library.score_distributions(x, taus))
    taus, _ = performance_profiles({"a": np.array([1.0, 3.0])}, reps=20)
    assert taus[0] < 1.0 and taus[-1] > 3.0 and len(taus) == 101


def test_nan_aggregate_matches_scipy_trim_mean():
    x = np.random.default_rng(1).normal(size=(9, 6))
    x[0, 1] = x[3, 1] = np.nan
    x[:, 4] = np.nan
    got = nan_aggregate(x, "iqm")
    for j in range(6):
        column = x[:, j][np.isfinite(x[:, j])]
        assert (np.isnan(got[j]) and column.size == 0) or got[j] == pytest.approx(trim_mean(column, 0.25))
    np.testing.assert_allclose(nan_aggregate(x, "mean")[[0, 1]], [x[:, 0].mean(), np.nanmean(x[:, 1])])
    with pytest.raises(ValueError, match="iqm, mean or median"):
        nan_aggregate(x, "max")


def test_curves_of_unequal_length_are_not_extrapolated():
    short = Curve(np.array([0.0, 10.0, 20.0]), np.array([0.0, 1.0, 2.0]), "eval.jsonl")
    long = Curve(np.array([0.0, 10.0, 20.0, 30.0]), np.array([2.0, 3.0, 4.0, 5.0]), "eval.jsonl")
    band = aggregate_curves([short, long], agg="mean", reps=100)
    np.testing.assert_allclose(band.steps, [0, 10, 20, 30])
    np.testing.assert_allclose(band.point, [1.0, 2.0, 3.0, 5.0])  # the last step has only the long run
    np.testing.assert_array_equal(band.count, [2, 2, 2, 1])
    assert np.all(band.low <= band.point + 1e-12) and np.all(band.point <= band.high + 1e-12)
    smoothed = aggregate_curves([long], agg="iqm", reps=10, smooth=2)
    np.testing.assert_allclose(smoothed.point, [2.0, 2.5, 3.5, 4.5])
    thinned = aggregate_curves([Curve(np.arange(500.0), np.arange(500.0), "x")], reps=10, points=50)
    assert len(thinned.steps) == 50 and thinned.steps[-1] == 499.0


def test_normalize():
    np.testing.assert_allclose(normalize([0.0, 50.0, 100.0], 0.0, 100.0), [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="min == max"):
        normalize([1.0], 2.0, 2.0)


def test_split_by_labels_only_keys_the_run_has(tmp_path):
    """``by=`` across agents with different options: absent keys are left out, present ``null`` is shown."""
    from agents.analysis.runs import Run, split_by

    mentor = Run(path=tmp_path, env="mw", agent="mentor", seed=0, config={"agent": {"backbone": "mlp"}})
    sac = Run(path=tmp_path, env="mw", agent="sb3-sac", seed=0, config={"agent": {"lr": 1}})
    nulls = Run(path=tmp_path, env="mw", agent="x", seed=0, config={"agent": {"backbone": None}})
    labels = [r.agent for r in split_by([mentor, sac, nulls], ["agent.backbone"])]
    assert labels == ["mentor[backbone=mlp]", "sb3-sac", "x[backbone=None]"]
