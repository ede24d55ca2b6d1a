"""Aggregate scores across seeds with ``rliable`` (Agarwal et al., NeurIPS 2021, "Deep RL at the Edge of
the Statistical Precipice", NeurIPS 2021).

Scores are ``(num_runs x num_tasks)`` matrices, one per agent, as rliable expects. Interval estimates are
stratified-bootstrap percentile CIs (``rliable.library.get_interval_estimates``). rliable draws its
resampling indices from numpy's *global* RNG (``StratifiedBootstrap.update_indices`` calls
``np.random.choice``), so every bootstrap here runs inside ``seeded_numpy(seed)``, which seeds it and
restores the caller's state afterwards: same data and seed, same CIs.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from rliable import library as rly

from agents.analysis.runs import Curve

AGGREGATES = ("iqm", "mean", "median", "optimality_gap")


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its confidence interval ``[low, high]``."""

    point: float
    low: float
    high: float

    def as_list(self) -> list[float]:
        return [self.point, self.low, self.high]


@contextlib.contextmanager
def seeded_numpy(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG (which rliable's bootstrap uses) for the block; restore it afterwards.
    (Passing ``random_state`` to rliable does not help: its index sampling ignores it, and arch warns.)"""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def aggregate_estimates(
    scores: dict[str, np.ndarray],
    reps: int = 2000,
    seed: int = 0,
    gamma: float | None = None,
    confidence: float = 0.95,
) -> dict[str, dict[str, Estimate]]:
    """IQM, mean, median (and optimality gap when ``gamma`` is given) with stratified bootstrap CIs.

    Args:
        scores: agent name -> ``(num_runs x num_tasks)`` final scores.
        reps: bootstrap replications (rliable's default is 50,000; 2,000 gives stable 95% CIs).
        seed: bootstrap seed.
        gamma: optimality-gap threshold, ``mean(gamma - min(score, gamma))`` (rliable
            ``aggregate_optimality_gap``); 1.0 for normalised scores and success rates.
        confidence: coverage of the intervals.

    Returns:
        agent -> {"iqm", "mean", "median"[, "optimality_gap"]: Estimate}. As in rliable, IQM pools all
        runs x tasks; mean and median are over the per-task means (so median == mean for one task).
    """
    names = list(AGGREGATES if gamma is not None else AGGREGATES[:3])

    def aggregate(x: np.ndarray) -> np.ndarray:
        return rliable_aggregates(x, gamma)

    out: dict[str, dict[str, Estimate]] = {}
    for agent, matrix in scores.items():
        matrix = _matrix(matrix)
        with seeded_numpy(seed):
            points, intervals = rly.get_interval_estimates(
                {agent: matrix},
                aggregate,
                reps=reps,
                confidence_interval_size=confidence,
            )
        out[agent] = {
            name: Estimate(float(points[agent][i]), *map(float, intervals[agent][:, i]))
            for i, name in enumerate(names)
        }
    return out


def rliable_aggregates(x: np.ndarray, gamma: float | None = None) -> np.ndarray:
    """``[IQM, mean, median(, optimality gap)]`` of a (runs x tasks) matrix, exactly as rliable's
    ``metrics.aggregate_iqm`` (``scipy.stats.trim_mean(x, 0.25, axis=None)``), ``aggregate_mean`` and
    ``aggregate_median`` (of the per-task means) and ``aggregate_optimality_gap`` define them, in plain
    numpy: 4x faster inside the bootstrap loop, where scipy's per-call overhead dominates (the test
    suite checks equality with rliable's functions)."""
    flat = np.sort(x, axis=None)
    cut = int(0.25 * flat.size)
    task_means = np.mean(x, axis=0)
    values = [np.mean(flat[cut : flat.size - cut]), np.mean(task_means), np.median(task_means)]
    if gamma is not None:
        values.append(np.mean(gamma - np.minimum(x, gamma)))
    return np.array(values)


def rliable_probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """rliable's ``metrics.probability_of_improvement`` in plain numpy: per task, the Mann-Whitney U of X
    over Y divided by the number of pairs (= P(x > y) + P(x = y) / 2), averaged over tasks. Equal to
    rliable's (tested) and ~100x faster than its per-task ``scipy.stats.mannwhitneyu`` call."""
    greater = scores_x[:, None, :] > scores_y[None, :, :]
    ties = scores_x[:, None, :] == scores_y[None, :, :]
    return float(np.mean(np.mean(greater + 0.5 * ties, axis=(0, 1))))


def run_score_distribution(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all runs x tasks with score > tau, for each tau: rliable's default profile
    (``library.score_distributions``) vectorised over taus (it loops over them with ``np.vectorize``)."""
    return np.mean(np.asarray(scores)[..., None] > np.asarray(taus), axis=tuple(range(np.ndim(scores))))


def probability_of_improvement(
    scores_x: np.ndarray, scores_y: np.ndarray, reps: int = 2000, seed: int = 0, confidence: float = 0.95
) -> Estimate:
    """P(X > Y): the chance that a run of X beats a run of Y on a random task (Mann-Whitney U statistic,
    ties count 1/2; rliable ``metrics.probability_of_improvement``), with an independent stratified
    bootstrap CI over each agent's runs (rliable ``StratifiedIndependentBootstrap``)."""
    x, y = _matrix(scores_x), _matrix(scores_y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"both agents need the same tasks: {x.shape[1]} vs {y.shape[1]} columns")
    with seeded_numpy(seed):
        points, intervals = rly.get_interval_estimates(
            {"poi": [x, y]},
            lambda a, b: np.array([rliable_probability_of_improvement(a, b)]),
            reps=reps,
            confidence_interval_size=confidence,
        )
    return Estimate(float(points["poi"][0]), float(intervals["poi"][0, 0]), float(intervals["poi"][1, 0]))


def performance_profiles(
    scores: dict[str, np.ndarray], taus: Sequence[float] | None = None, reps: int = 2000, seed: int = 0
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Run-score distributions: the fraction of runs scoring above each threshold tau, with CIs
    (rliable ``create_performance_profile``). ``taus`` default to 101 points over the scores' range.

    Returns ``taus`` and agent -> (profile, low, high).
    """
    matrices = {agent: _matrix(m) for agent, m in scores.items()}
    if taus is None:
        values = np.concatenate([m.ravel() for m in matrices.values()])
        low, high = float(values.min()), float(values.max())
        pad = 0.05 * (high - low) if high > low else max(1.0, abs(high)) * 0.05
        taus = np.linspace(low - pad, high + pad, 101)
    taus = np.asarray(taus, dtype=float)
    with seeded_numpy(seed):
        profiles, cis = rly.create_performance_profile(
            matrices, taus, custom_profile_func=run_score_distribution, reps=reps
        )
    return taus, {agent: (profiles[agent], cis[agent][0], cis[agent][1]) for agent in matrices}


@dataclass
class CurveBand:
    """A group's aggregate learning curve: ``point`` with a ``[low, high]`` band at each of ``steps``;
    ``count`` is how many runs cover each step (partial runs end early)."""

    steps: np.ndarray
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray


def aggregate_curves(
    curves: Sequence[Curve],
    agg: str = "iqm",
    reps: int = 1000,
    seed: int = 0,
    points: int = 100,
    smooth: int = 1,
    confidence: float = 0.95,
) -> CurveBand:
    """Aggregate several runs' curves on a common step grid with pointwise stratified bootstrap CIs.

    Each run is linearly interpolated onto the grid inside its own step range (never extrapolated), so a
    run in progress only counts where it has data. The grid is the union of the runs' steps, thinned to
    ``points`` evenly spaced steps when longer. Resampling is rliable's ``StratifiedBootstrap`` over runs,
    independently per step, as rliable's sample-efficiency curves do; ``agg`` is ``iqm``, ``mean`` or
    ``median``, NaN-aware. ``smooth`` > 1 applies a trailing moving average to each run first.
    """
    if agg not in ("iqm", "mean", "median"):
        raise ValueError(f"agg={agg!r}: choose iqm, mean or median")
    if not curves:
        raise ValueError("aggregate_curves needs at least one curve")
    grid = np.unique(np.concatenate([c.steps for c in curves]))
    if len(grid) > points:
        grid = np.linspace(grid[0], grid[-1], points)
    matrix = np.full((len(curves), len(grid)), np.nan)
    for i, curve in enumerate(curves):
        values = _moving_average(curve.values, smooth)
        inside = (grid >= curve.steps[0]) & (grid <= curve.steps[-1])
        matrix[i, inside] = np.interp(grid[inside], curve.steps, values)
    point = nan_aggregate(matrix, agg)
    count = np.sum(np.isfinite(matrix), axis=0)
    with seeded_numpy(seed):
        bootstrap = rly.StratifiedBootstrap(matrix[:, None, :])
        replicates = bootstrap.apply(lambda x: nan_aggregate(x[:, 0, :], agg), reps)
    tail = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps in a replicate
        low, high = np.nanpercentile(replicates, [tail, 100 - tail], axis=0)
    return CurveBand(grid, point, low, high, count)


def nan_aggregate(x: np.ndarray, agg: str) -> np.ndarray:
    """Column-wise IQM / mean / median of ``x`` (runs x steps), ignoring NaN. IQM trims
    ``floor(0.25 n)`` values at each end, exactly as ``scipy.stats.trim_mean(x, 0.25)`` (rliable's IQM)."""
    x = np.asarray(x, dtype=float)
    valid = np.isfinite(x)
    count = valid.sum(axis=0)
    out = np.full(x.shape[1], np.nan)
    has = count > 0
    if agg == "mean":
        out[has] = np.where(valid, x, 0.0).sum(axis=0)[has] / count[has]
    elif agg == "median":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.nanmedian(x, axis=0)
    elif agg == "iqm":
        ordered = np.sort(np.where(valid, x, np.inf), axis=0)  # invalid entries sort last
        cut = np.floor(0.25 * count).astype(int)
        rank = np.arange(x.shape[0])[:, None]
        keep = (rank >= cut) & (rank < count - cut)
        kept = keep.sum(axis=0)
        ok = kept > 0
        out[ok] = np.where(keep, ordered, 0.0).sum(axis=0)[ok] / kept[ok]
    else:
        raise ValueError(f"agg={agg!r}: choose iqm, mean or median")
    return out


def normalize(scores: np.ndarray, low: float, high: float) -> np.ndarray:
    """Min-max normalise: 0 at ``low`` (e.g. random policy), 1 at ``high`` (e.g. expert / max return)."""
    if high == low:
        raise ValueError(f"normalisation reference has min == max == {low}; set different min/max")
    return (np.asarray(scores, dtype=float) - low) / (high - low)


def _matrix(scores: np.ndarray) -> np.ndarray:
    matrix = np.asarray(scores, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(
            f"scores must be a non-empty (num_runs x num_tasks) matrix, got shape {matrix.shape}"
        )
    return matrix


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < 2:
        return values
    cumsum = np.cumsum(np.insert(values.astype(float), 0, 0.0))
    out = np.empty(len(values))
    for i in range(len(values)):
        start = max(0, i + 1 - window)
        out[i] = (cumsum[i + 1] - cumsum[start]) / (i + 1 - start)
    return out
