"""Standard result figures: learning curves with bands, final-score bars with CIs, performance profiles.

Figures are ``matplotlib.figure.Figure`` objects drawn without pyplot (no display, no global state; the
Agg canvas renders them), saved as PNG and SVG by ``save_figure``. One panel per environment; an agent
keeps its colour in every figure (``agent_colors``).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from agents.analysis.display import Style
from agents.analysis.stats import CurveBand, Estimate

FORMATS = ("png", "svg")
_AGG_LABEL = {"iqm": "IQM", "mean": "mean", "median": "median", "optimality_gap": "optimality gap"}


def new_figure(panels: int, ncols: int = 3, size: tuple[float, float] = (4.6, 3.4)) -> tuple[Figure, list]:
    """A figure with ``panels`` axes on a grid of at most ``ncols`` columns (unused cells hidden)."""
    ncols = max(1, min(ncols, panels))
    nrows = math.ceil(panels / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[panels:]:
        ax.set_visible(False)
    return fig, axes[:panels]


def title(fig: Figure, text: str) -> None:
    """A figure title wrapped to the figure's width (a one-panel figure is narrow)."""
    width = max(30, int(fig.get_figwidth() * 10))
    fig.suptitle(textwrap.fill(text, width), fontsize="medium")


def save_figure(
    fig: Figure, directory: str | Path, stem: str, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Save ``fig`` as ``<directory>/<stem>.<fmt>`` for each format; returns the paths written.
    SVGs carry no date and a fixed hash salt, so the same data gives the same file."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = directory / f"{stem}.{fmt}"
        with matplotlib.rc_context({"svg.hashsalt": "pgsuite"}):
            metadata = {"Date": None} if fmt == "svg" else None
            fig.savefig(path, dpi=120, metadata=metadata)
        paths.append(path)
    return paths


def slug(text: str) -> str:
    """A file-name-safe version of a metric or env name (``eval/return`` -> ``eval_return``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "figure"


def agent_colors(agents: Iterable[str], style: Style | None = None) -> dict[str, tuple]:
    """A fixed colour per agent name (tab10 / tab20 in sorted order; ``style.colors`` wins)."""
    names = sorted(set(agents))
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    colors = {name: cmap(i % cmap.N) for i, name in enumerate(names)}
    if style is not None:
        colors.update({a: matplotlib.colors.to_rgba(c) for a, c in style.colors.items() if a in colors})
    return colors


def plot_learning_curves(
    bands: dict[str, dict[str, CurveBand]],
    metric: str,
    agg: str = "iqm",
    x_label: str = "environment steps",
    confidence: float = 0.95,
    style: Style | None = None,
) -> Figure:
    """One panel per env: each agent's aggregate curve with its bootstrap confidence band.

    Args:
        bands: env -> agent -> ``CurveBand`` (from ``stats.aggregate_curves``).
        metric: the y-axis label.
        agg: which aggregate the curves show (for the title).
    """
    style = style or Style()
    colors = agent_colors((a for per_env in bands.values() for a in per_env), style)
    fig, axes = new_figure(len(bands))
    for ax, (env, per_agent) in zip(axes, sorted(bands.items()), strict=True):
        for agent in style.sort(per_agent):
            band = per_agent[agent]
            runs = int(band.count.max()) if len(band.count) else 0
            marker = "o" if len(band.steps) < 3 else None  # a lone evaluation is otherwise invisible
            ax.plot(
                band.steps,
                band.point,
                color=colors[agent],
                lw=1.8,
                marker=marker,
                label=f"{agent} (n={runs})",
            )
            ax.fill_between(band.steps, band.low, band.high, color=colors[agent], alpha=0.2, lw=0)
        ax.set_title(env)
        ax.set_xlabel(x_label)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    title(fig, f"{_AGG_LABEL.get(agg, agg)} of {metric} over seeds, {confidence:.0%} stratified bootstrap CI")
    return fig


def plot_final_scores(
    estimates: dict[str, dict[str, dict[str, Estimate]]],
    metric: str,
    stat: str = "iqm",
    confidence: float = 0.95,
    style: Style | None = None,
) -> Figure:
    """One panel per env: a horizontal bar per agent at its final-score ``stat`` with the CI as error bar.

    Args:
        estimates: env -> agent -> {stat: Estimate} (from ``stats.aggregate_estimates``).
    """
    style = style or Style()
    colors = agent_colors((a for per_env in estimates.values() for a in per_env), style)
    fig, axes = new_figure(len(estimates), size=(4.6, 0.6 + 0.45 * max(map(len, estimates.values()))))
    for ax, (env, per_agent) in zip(axes, sorted(estimates.items()), strict=True):
        agents = style.sort(per_agent)
        point = np.array([per_agent[a][stat].point for a in agents])
        low = np.array([per_agent[a][stat].low for a in agents])
        high = np.array([per_agent[a][stat].high for a in agents])
        ypos = np.arange(len(agents))
        ax.barh(ypos, point, color=[colors[a] for a in agents], alpha=0.75)
        xerr = np.stack([point - low, high - point])  # (2, n): a 2-D array, not a list of arrays
        ax.errorbar(point, ypos, xerr=np.clip(xerr, 0, None), fmt="none", ecolor="black", capsize=4)
        ax.set_yticks(ypos, agents)
        ax.invert_yaxis()
        ax.set_title(env)
        ax.set_xlabel(f"final {metric} ({_AGG_LABEL.get(stat, stat)})")
        ax.grid(axis="x", alpha=0.3)
    title(fig, f"Final {metric}: {_AGG_LABEL.get(stat, stat)} with {confidence:.0%} CI")
    return fig


def plot_performance_profiles(
    profiles: dict[str, tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]],
    x_label: str = "score τ",
    style: Style | None = None,
) -> Figure:
    """One panel per entry: the fraction of runs with score > τ for each agent, with CI bands.

    Args:
        profiles: panel title -> (taus, agent -> (profile, low, high)) (from ``stats.performance_profiles``).
    """
    style = style or Style()
    colors = agent_colors((a for _, per_agent in profiles.values() for a in per_agent), style)
    fig, axes = new_figure(len(profiles))
    for ax, (panel, (taus, per_agent)) in zip(axes, profiles.items(), strict=True):
        for agent in style.sort(per_agent):
            profile, low, high = per_agent[agent]
            ax.plot(taus, profile, color=colors[agent], lw=1.8, label=agent)
            ax.fill_between(taus, low, high, color=colors[agent], alpha=0.2, lw=0)
        ax.set_title(panel)
        ax.set_xlabel(x_label)
        ax.set_ylabel("fraction of runs with score > τ")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    title(fig, "Performance profiles (run-score distributions)")
    return fig
