"""From runs to numbers: final scores per run, per env x agent estimates, cross-env aggregates,
probability of improvement and performance profiles for one metric (used by ``agents.report``), and
aggregate learning curves (used by ``agents.plot`` and the report).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from agents.analysis.runs import Curve, Run, Skipped, curves_by_group
from agents.analysis.stats import (
    CurveBand,
    Estimate,
    aggregate_curves,
    aggregate_estimates,
    normalize,
    performance_profiles,
    probability_of_improvement,
)

Groups = dict[tuple[str, str], list[tuple[Run, Curve]]]


@dataclass
class MetricResult:
    """Everything the report says about one metric.

    Attributes:
        scores: one row per run: env, agent, seed, status, final_step, score, path.
        estimates: env -> agent -> {iqm, mean, median[, optimality_gap]: Estimate} over that env's runs.
        improvement: (env, agent_x, agent_y, P(X > Y)) for agent pairs of an env ("all envs" when aggregated).
        aggregate: agent -> estimates over all envs on normalised scores (None when not comparable).
        profiles: panel title -> (taus, agent -> (profile, low, high)).
        notes: caveats to print next to the tables.
    """

    metric: str
    window: int
    scores: pd.DataFrame
    groups: Groups
    estimates: dict[str, dict[str, dict[str, Estimate]]]
    gamma: float | None
    improvement: list[tuple[str, str, str, Estimate]] = field(default_factory=list)
    aggregate: dict[str, dict[str, Estimate]] | None = None
    profiles: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def is_rate(metric: str) -> bool:
    """Success rates already live in [0, 1]: comparable across envs, optimality gap against 1."""
    return "success" in metric


def score_table(groups: Groups, window: int = 1) -> pd.DataFrame:
    """One row per run with its final score (mean of its last ``window`` curve points)."""
    rows = [
        {
            "env": run.env,
            "agent": run.agent,
            "seed": run.seed,
            "status": run.status,
            "final_step": int(curve.steps[-1]),
            "points": len(curve.steps),
            "score": curve.final(window),
            "source": curve.source,
            "path": str(run.path),
        }
        for (_, pairs) in sorted(groups.items())
        for run, curve in pairs
    ]
    columns = ["env", "agent", "seed", "status", "final_step", "points", "score", "source", "path"]
    return pd.DataFrame(rows, columns=columns)


def analyse_metric(
    runs: list[Run],
    metric: str,
    window: int = 1,
    reps: int = 2000,
    seed: int = 0,
    refs: dict[str, tuple[float, float]] | None = None,
    compare: tuple[str, str] | None = None,
) -> MetricResult:
    """Final-score statistics of ``metric`` for every env x agent, plus cross-env aggregates.

    Args:
        refs: env -> (min, max) normalisation references (e.g. random and expert return). Scores of envs
            with a reference are normalised for the optimality gap and the cross-env aggregate; success
            rates need none.
        compare: restrict probability of improvement to this (X, Y) pair; default all pairs per env.
    """
    groups, skipped = curves_by_group(runs, metric)
    scores = score_table(groups, window)
    refs = refs or {}
    result = MetricResult(metric, window, scores, groups, {}, None, skipped=skipped)
    if scores.empty:
        result.notes.append(f"no run has data for {metric}")
        return result
    envs = sorted(scores.env.unique())
    normalised = {env: _normalised(scores[scores.env == env], env, metric, refs) for env in envs}
    result.gamma = 1.0 if all(v is not None for v in normalised.values()) else None
    for env in envs:
        per_env = scores[scores.env == env]
        matrices = {
            a: per_env[per_env.agent == a].score.to_numpy()[:, None] for a in sorted(per_env.agent.unique())
        }
        norm = normalised[env]
        rate = is_rate(metric)  # success rates: already on the [0, 1] scale, gamma = 1
        result.estimates[env] = aggregate_estimates(
            matrices, reps=reps, seed=seed, gamma=1.0 if rate else None
        )
        if norm is not None and not rate:  # optimality gap on the normalised scale, gamma = 1
            gaps = aggregate_estimates(
                {a: m[:, None] for a, m in norm.items()}, reps=reps, seed=seed, gamma=1.0
            )
            for agent, estimates in gaps.items():
                result.estimates[env][agent]["optimality_gap"] = estimates["optimality_gap"]
        for x, y in _pairs(list(matrices), compare):
            poi = probability_of_improvement(matrices[x], matrices[y], reps=reps, seed=seed)
            result.improvement.append((env, x, y, poi))
        taus = np.linspace(0.0, 1.0, 101) if is_rate(metric) else None
        result.profiles[env] = performance_profiles(matrices, taus, reps=max(100, reps // 4), seed=seed)
    if not is_rate(metric) and any(env in refs for env in envs):
        result.notes.append(
            "optimality gap: on the normalised scale (refs: min -> 0, max -> 1), threshold gamma = 1; "
            "the other columns are raw scores"
        )
    if any(v is None for v in normalised.values()):
        missing = [env for env, v in normalised.items() if v is None]
        result.notes.append(
            f"optimality gap and the all-env aggregate need normalised scores: pass refs=<file> with "
            f"min/max for {', '.join(missing)} (see `python -m agents.report --help`)"
        )
    elif len(envs) > 1:
        _aggregate_across_envs(result, normalised, reps, seed, compare)
    return result


def curve_bands(
    groups: Groups, agg: str = "iqm", reps: int = 1000, seed: int = 0, points: int = 100, smooth: int = 1
) -> dict[str, dict[str, CurveBand]]:
    """env -> agent -> aggregate learning curve with bootstrap band."""
    bands: dict[str, dict[str, CurveBand]] = {}
    for (env, agent), pairs in sorted(groups.items()):
        curves = [curve for _, curve in pairs]
        bands.setdefault(env, {})[agent] = aggregate_curves(
            curves, agg=agg, reps=reps, seed=seed, points=points, smooth=smooth
        )
    return bands


def _normalised(
    per_env: pd.DataFrame, env: str, metric: str, refs: dict[str, tuple[float, float]]
) -> dict[str, np.ndarray] | None:
    by_agent = {
        a: per_env[per_env.agent == a].sort_values("seed").score.to_numpy() for a in per_env.agent.unique()
    }
    if is_rate(metric):
        return by_agent
    if env in refs:
        low, high = refs[env]
        return {a: normalize(s, low, high) for a, s in by_agent.items()}
    return None


def _pairs(agents: list[str], compare: tuple[str, str] | None) -> list[tuple[str, str]]:
    if compare is not None:
        return [compare] if compare[0] in agents and compare[1] in agents else []
    return list(itertools.combinations(sorted(agents), 2))


def _aggregate_across_envs(
    result: MetricResult,
    normalised: dict[str, dict[str, np.ndarray]],
    reps: int,
    seed: int,
    compare: tuple[str, str] | None,
) -> None:
    """(runs x envs) matrices per agent present in every env; runs beyond the smallest seed count dropped."""
    envs = sorted(normalised)
    agents = sorted(set.intersection(*(set(normalised[e]) for e in envs)))
    if not agents:
        result.notes.append("no agent ran on every env: no all-env aggregate")
        return
    matrices = {}
    for agent in agents:
        n = min(len(normalised[e][agent]) for e in envs)
        if any(len(normalised[e][agent]) > n for e in envs):
            result.notes.append(
                f"all-env aggregate of {agent}: first {n} seed(s) per env (uneven seed counts)"
            )
        matrices[agent] = np.stack([normalised[e][agent][:n] for e in envs], axis=1)
    result.aggregate = aggregate_estimates(matrices, reps=reps, seed=seed, gamma=1.0)
    for x, y in _pairs(agents, compare):
        poi = probability_of_improvement(matrices[x], matrices[y], reps=reps, seed=seed)
        result.improvement.append(("all envs", x, y, poi))
    result.profiles["all envs (normalised)"] = performance_profiles(
        matrices, taus=np.linspace(0.0, 1.0, 101), reps=max(100, reps // 4), seed=seed
    )
