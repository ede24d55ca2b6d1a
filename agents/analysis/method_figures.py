"""Each method's own figure, drawn from whatever its runs logged. Column and key names are parameters.

- N2N (Ashok et al., ICLR 2018): reward and compression over policy iterations; accuracy-compression
  scatter of every evaluated student with iso-reward contours of R = C(2 - C) * A / A_teacher (paper Sec.
  3.4).
- Policy-gradient noise mask: the sample masks a run saved as PNG images.
- BN-MARL: open ratio (fraction of possible DAG edges present, paper Sec. 3.3) over training, and
  example DAGs stored as adjacency matrices in ``summary.json``.
- Wireless ICGNN: spectral efficiency against problem size (users/antennas), against baselines, from
  ``summary.json``.

Every function raises ``NoData`` (with the reason) when the runs hold nothing it can draw, so callers can
try them all; ``METHOD_FIGURES`` lists them with their default arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import image as mpimg
from matplotlib.figure import Figure

from agents.analysis.aggregate import curve_bands
from agents.analysis.figures import agent_colors, new_figure, plot_learning_curves, title
from agents.analysis.files import read_jsonl
from agents.analysis.runs import Run, curves_by_group, run_curve

Names = str | Sequence[str]
_OUTPUT_DIRS = {"report", "plots", "checkpoints", "tb"}  # our own figures are not the run's masks


class NoData(Exception):
    """The runs hold no data for this figure (the message says what was looked for)."""


def plot_n2n_progress(
    runs: Sequence[Run],
    reward: Names = ("train/reward", "train/n2n_reward", "eval/return"),
    compression: Names = ("train/compression", "charts/compression", "eval/compression"),
    x_label: str = "environment steps (student architectures sampled)",
) -> Figure:
    """N2N: each run's reward (left) and compression (right) over policy iterations.

    ``reward`` / ``compression`` name the metric (or candidates, first present wins); only runs that
    logged the compression are drawn, so other methods' runs do not produce this figure.
    """
    comp_name = _first_metric(runs, compression)
    if comp_name is None:
        raise NoData(f"no run logged any of {_names(compression)}")
    reward_name = _first_metric(runs, reward)
    pairs = [(r, run_curve(r, reward_name) if reward_name else None, run_curve(r, comp_name)) for r in runs]
    pairs = [p for p in pairs if p[2] is not None]
    colors = agent_colors(r.agent for r, _, _ in pairs)
    fig, (ax_reward, ax_comp) = new_figure(2)
    for run, reward_curve, comp_curve in pairs:
        label = f"{run.env}/{run.agent} seed {run.seed}"
        if reward_curve is not None:
            ax_reward.plot(
                reward_curve.steps, reward_curve.values, color=colors[run.agent], alpha=0.8, label=label
            )
        ax_comp.plot(comp_curve.steps, comp_curve.values, color=colors[run.agent], alpha=0.8, label=label)
    for ax, name in (
        (ax_reward, reward_name or f"reward ({_names(reward)}: not logged)"),
        (ax_comp, comp_name),
    ):
        ax.set_xlabel(x_label)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize="x-small")
    title(fig, "N2N: reward and compression over policy iterations")
    return fig


def plot_accuracy_compression(
    runs: Sequence[Run],
    compression: str = "compression",
    accuracy: Names = ("acc_ratio", "accuracy_ratio"),
    source: str = "eval.jsonl",
    reward_contours: bool = True,
) -> Figure:
    """N2N: one dot per evaluated student, compression against accuracy ratio A / A_teacher, coloured by
    the step it was sampled at.

    Args:
        compression: key of the student records (or a metrics.csv column, see ``source``). Values in
            [0, 1] are read as the paper's C = 1 - #params/#params_teacher; values above 1 as the ratio
            #params_teacher/#params (drawn on a log axis), i.e. C = 1 - 1/ratio.
        accuracy: key (or candidate keys, first present wins) of the accuracy ratio.
        source: a ``.jsonl`` file in each run directory with one record per student (default eval.jsonl),
            or ``metrics.csv`` to use those two columns row by row.
        reward_contours: draw iso-lines of the N2N reward R = C(2 - C) * A / A_teacher (paper Sec. 3.4).
    """
    points = []
    for run in runs:
        for name in _names_list(accuracy):
            found = _student_points(run, compression, name, source)
            if found:
                points += [(run.agent, step, c, a) for step, c, a in found]
                break
    if not points:
        raise NoData(f"no {source} records with both {compression!r} and one of {_names(accuracy)}")
    comp = np.array([p[2] for p in points], dtype=float)
    acc = np.array([p[3] for p in points], dtype=float)
    steps = np.array([p[1] for p in points], dtype=float)
    is_ratio = bool(np.any(comp > 1.0))
    fig, (ax,) = new_figure(1, size=(6.0, 4.6))
    agents = np.array([p[0] for p in points])
    for agent, marker in zip(sorted(set(agents)), "os^Dv<>p*", strict=False):
        mine = agents == agent
        scatter = ax.scatter(
            comp[mine],
            acc[mine],
            c=steps[mine],
            cmap="viridis",
            vmin=steps.min(),
            vmax=max(steps.max(), steps.min() + 1),
            marker=marker,
            s=22,
            label=agent,
            edgecolors="none",
        )
    fig.colorbar(scatter, ax=ax, label="step")
    if reward_contours:
        x = np.geomspace(1.0, max(2.0, comp.max() * 1.2), 200) if is_ratio else np.linspace(0, 1, 101)
        c_grid, a_grid = np.meshgrid(x, np.linspace(0, max(1.05, acc.max()), 101))
        c_frac = 1.0 - 1.0 / c_grid if is_ratio else c_grid
        lines = ax.contour(
            c_grid,
            a_grid,
            c_frac * (2 - c_frac) * a_grid,
            levels=[0.2, 0.4, 0.6, 0.8],
            colors="grey",
            linewidths=0.7,
        )
        ax.clabel(lines, fontsize="x-small", fmt="R=%.1f")
    if is_ratio:
        ax.set_xscale("log")
        ax.set_xlabel(f"compression ×, #params teacher / student ({compression})")
    else:
        ax.set_xlabel(f"compression C = 1 - #params/#params teacher ({compression})")
        ax.set_xlim(min(0.0, comp.min()), 1.0)
    ax.set_ylabel("accuracy ratio A / A_teacher")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(f"N2N: every evaluated student ({len(points)})")
    return fig


def plot_sample_masks(runs: Sequence[Run], pattern: str = "*mask*.png", max_images: int = 8) -> Figure:
    """Noise mask: the mask images runs saved (newest ``max_images`` matching ``pattern``, searched below
    each run directory)."""
    files: list[tuple[Run, Path]] = []
    for run in runs:
        files += [
            (run, f)
            for f in sorted(run.path.rglob(pattern))
            if f.is_file() and not _OUTPUT_DIRS & set(f.relative_to(run.path).parts[:-1])
        ]
    if not files:
        raise NoData(f"no image matching {pattern!r} in any run directory")
    files = sorted(files, key=lambda rf: rf[1].stat().st_mtime)[-max_images:]
    fig, axes = new_figure(len(files), ncols=4, size=(3.0, 3.0))
    for ax, (run, file) in zip(axes, files, strict=True):
        try:
            ax.imshow(mpimg.imread(file), cmap="gray", interpolation="nearest")
        except (OSError, ValueError, SyntaxError) as err:
            ax.text(0.5, 0.5, f"unreadable:\n{type(err).__name__}", ha="center", va="center")
        ax.set_title(f"{run.agent} s{run.seed}\n{file.name}", fontsize="small")
        ax.axis("off")
    title(fig, "Noise mask: sample masks")
    return fig


def plot_open_ratio(
    runs: Sequence[Run],
    column: Names = ("charts/open_ratio", "train/open_ratio", "eval/open_ratio"),
    threshold: Names = ("charts/threshold", "train/threshold"),
    reps: int = 500,
    seed: int = 0,
) -> Figure:
    """BN-MARL: the DAG open ratio over training (IQM over seeds with a bootstrap band, per env), with
    the annealed sparsity threshold dashed where logged (loss alpha * |open_ratio - threshold|)."""
    name = _first_metric(runs, column)
    if name is None:
        raise NoData(f"no run logged any of {_names(column)}")
    groups, _ = curves_by_group(list(runs), name)
    fig = plot_learning_curves(curve_bands(groups, reps=reps, seed=seed), name)
    threshold_name = _first_metric(runs, threshold)
    if threshold_name is not None:
        envs = sorted({env for env, _ in groups})
        for ax, env in zip(fig.axes, envs, strict=False):
            curves = [c for r in runs if r.env == env and (c := run_curve(r, threshold_name)) is not None]
            if curves:
                ax.plot(curves[0].steps, curves[0].values, "k--", lw=1, label=threshold_name)
                ax.legend(fontsize="small")
    title(fig, f"BN-MARL: {name} (fraction of possible DAG edges present) over training")
    return fig


def plot_dags(runs: Sequence[Run], key: str = "example_dags", max_dags: int = 4) -> Figure:
    """BN-MARL: example DAGs, drawn from adjacency matrices (``A[i][j] = 1``: edge i -> j, agent i is a
    parent of agent j) stored under ``summary.json[key]`` as a list of matrices."""
    dags = []
    for run in runs:
        try:
            matrices = np.asarray((run.summary or {}).get(key, []), dtype=float)
        except (TypeError, ValueError):
            continue  # ragged or non-numeric: not adjacency matrices
        if matrices.ndim == 2:
            matrices = matrices[None]  # a single matrix
        if matrices.ndim == 3 and matrices.shape[1] == matrices.shape[2] > 0:
            dags += [(run, adjacency) for adjacency in matrices]
    if not dags:
        raise NoData(f"no summary.json with square adjacency matrices under {key!r}")
    dags = dags[:max_dags]
    fig, axes = new_figure(len(dags), ncols=4, size=(3.2, 3.2))
    for ax, (run, adjacency) in zip(axes, dags, strict=True):
        n = adjacency.shape[0]
        angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
        xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        for i, j in zip(*np.nonzero(adjacency > 0.5), strict=True):
            if i != j:
                ax.annotate(
                    "", xy=xy[j] * 0.88, xytext=xy[i] * 0.88, arrowprops={"arrowstyle": "->", "lw": 1.0}
                )
        ax.scatter(xy[:, 0], xy[:, 1], s=260, color="white", edgecolors="black", zorder=3)
        for k in range(n):
            ax.text(*xy[k], str(k), ha="center", va="center", fontsize="small", zorder=4)
        edges = int((adjacency > 0.5).sum() - (np.diag(adjacency) > 0.5).sum())
        ax.set_title(
            f"{run.agent} s{run.seed}: {edges} edge(s), open ratio {edges / max(1, n * (n - 1) / 2):.2f}",
            fontsize="small",
        )
        ax.set_xlim(-1.25, 1.25)
        ax.set_ylim(-1.25, 1.25)
        ax.set_aspect("equal")
        ax.axis("off")
    title(fig, "BN-MARL: example coordination DAGs")
    return fig


def plot_se_vs_size(
    runs: Sequence[Run],
    key: str = "se_vs_size",
    x_key: str = "size",
    y_key: str = "se",
    series_key: str = "method",
    x_label: str = "problem size (users)",
    y_label: str = "spectral efficiency (bit/s/Hz)",
) -> Figure:
    """Wireless: spectral efficiency against problem size, one line per method, mean ± std over runs.

    ``summary.json[key]`` is either ``{"x": [...], "series": {method: [...]}}`` or a list of records
    ``{x_key: size, series_key: method, y_key: se}``.
    """
    table: dict[str, dict[float, list[float]]] = {}
    for run in runs:
        for method, x, y in _se_records((run.summary or {}).get(key), x_key, y_key, series_key):
            table.setdefault(method, {}).setdefault(x, []).append(y)
    if not table:
        raise NoData(f"no summary.json with {key!r} data")
    colors = agent_colors(table)
    fig, (ax,) = new_figure(1, size=(6.0, 4.2))
    for method, by_x in sorted(table.items()):
        xs = np.array(sorted(by_x))
        mean = np.array([np.mean(by_x[x]) for x in xs])
        std = np.array([np.std(by_x[x]) for x in xs])
        ax.errorbar(xs, mean, yerr=std, color=colors[method], marker="o", capsize=3, label=method)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title("Wireless: spectral efficiency vs size (mean ± std over runs)")
    return fig


@dataclass
class MethodFigure:
    """A method figure to try in the report: ``draw(runs, **kwargs)`` returns a Figure or raises NoData."""

    name: str
    draw: Callable[..., Figure]
    kwargs: dict[str, Any] = field(default_factory=dict)


METHOD_FIGURES = [
    MethodFigure("n2n_progress", plot_n2n_progress),
    MethodFigure("n2n_accuracy_compression", plot_accuracy_compression),
    MethodFigure("noise_mask_samples", plot_sample_masks),
    MethodFigure("bn_marl_open_ratio", plot_open_ratio),
    MethodFigure("bn_marl_dags", plot_dags),
    MethodFigure("wireless_se_vs_size", plot_se_vs_size),
]


def _names_list(names: Names) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _names(names: Names) -> str:
    return ", ".join(_names_list(names))


def _first_metric(runs: Sequence[Run], names: Names) -> str | None:
    """The first of ``names`` that some run has data for."""
    for name in _names_list(names):
        if any(run_curve(run, name) is not None for run in runs):
            return name
    return None


def _student_points(
    run: Run, compression: str, accuracy: str, source: str
) -> list[tuple[float, float, float]]:
    if source == "metrics.csv":
        frame = run.metrics
        if frame is None or compression not in frame or accuracy not in frame:
            return []
        rows = frame[["step", compression, accuracy]].dropna().to_numpy(float)
        return [tuple(r) for r in rows]
    records = read_jsonl(run.path / source, []) or []
    return [
        (float(r["step"]), float(r[compression]), float(r[accuracy]))
        for r in records
        if _finite(r.get(compression)) and _finite(r.get(accuracy))
    ]


def _se_records(value: Any, x_key: str, y_key: str, series_key: str) -> list[tuple[str, float, float]]:
    out = []
    if isinstance(value, dict) and isinstance(value.get("series"), dict) and isinstance(value.get("x"), list):
        for method, ys in value["series"].items():
            if isinstance(ys, list):
                out += [
                    (str(method), float(x), float(y))
                    for x, y in zip(value["x"], ys, strict=False)
                    if _finite(x) and _finite(y)
                ]
    elif isinstance(value, list):
        for record in value:
            if isinstance(record, dict) and _finite(record.get(x_key)) and _finite(record.get(y_key)):
                out.append((str(record.get(series_key, "?")), float(record[x_key]), float(record[y_key])))
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
