"""Learning curves of a folder of runs: ``python -m agents.plot runs/<folder> metric=eval/success``.

One panel per env, one line per agent: the IQM (or mean/median) over seeds at each step with a 95%
stratified bootstrap band (rliable), saved as ``<out>/<metric>.png`` and ``.svg``. ``metric`` is
``eval/<key>`` (from eval.jsonl: ``eval/return``, ``eval/success``, ``eval/length`` or any extra key your
evaluation logs; falls back to metrics.csv's ``eval/<key>_mean``) or any metrics.csv column
(``train/episode_return``, ``losses/policy_loss``, ``time/sps`` ...). Options are Hydra-override style
``key=value`` (see ``--help``). Runs in progress are drawn up to their last evaluation; damaged runs are
skipped with the reason printed. Display: ``labels=``, ``colors=``, ``order=`` and ``x=steps|frames``
(agents/analysis/display.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from agents.analysis.cli import Option, check_common, fail, parse_args, print_problems, require_plot_packages

OPTIONS = {
    "metric": Option("eval/return", "metric to plot: eval/<key> or a metrics.csv column"),
    "out": Option(None, "output folder (default <folder>/plots)", kind=str),
    "name": Option(None, "file name stem (default: from the metric, e.g. eval_return)", kind=str),
    "by": Option(None, "comma-separated config keys that split agents (e.g. by=graph,agent.lr)", kind=str),
    "agg": Option("iqm", "aggregate over seeds: iqm, mean or median"),
    "reps": Option(1000, "bootstrap replications for the bands"),
    "seed": Option(0, "bootstrap seed"),
    "points": Option(100, "at most this many grid steps per curve"),
    "smooth": Option(1, "moving-average window applied to each run first (noisy train/ metrics)"),
    "formats": Option("png,svg", "image formats"),
    "labels": Option(None, "display names, e.g. labels=drqv2:DrQ-v2,sb3-sac:SAC", kind=str),
    "colors": Option(None, "agent colours, e.g. colors=drqv2:tab:blue,sb3-sac:#d62728", kind=str),
    "order": Option(None, "legend order, e.g. order=sb3-sac,drqv2 (the rest follow, sorted)", kind=str),
    "x": Option("steps", "x-axis: steps (env steps) or frames (env steps x env.kwargs.action_repeat)"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 when the figure was written, 1 when no run has the metric."""
    folder, opts = parse_args(argv, "agents.plot", __doc__.split("\n\n")[0], OPTIONS)
    require_plot_packages("agents.plot")
    formats = check_common(opts)
    if opts["x"] not in ("steps", "frames"):
        fail(f"x={opts['x']}: choose steps or frames")
    from agents.analysis import figures as fg
    from agents.analysis.aggregate import curve_bands
    from agents.analysis.display import X_AXES, relabel, style_from_options, to_frames
    from agents.analysis.runs import config_differences, curves_by_group, discover_runs, split_by

    try:
        runs, skipped = discover_runs(folder)
    except FileNotFoundError as err:
        fail(str(err))
    labels, style = style_from_options(opts)
    runs = relabel(split_by(runs, [k.strip() for k in (opts["by"] or "").split(",") if k.strip()]), labels)
    for (env, agent), keys in config_differences(runs).items():
        print(
            f"warning: {env}/{agent} runs differ in {', '.join(keys[:6])}; split them with by=<key>",
            file=sys.stderr,
        )
    metric = opts["metric"]
    groups, missing = curves_by_group(runs, metric)
    print_problems(runs, skipped + missing)
    if not groups:
        names = sorted({name for run in runs for name in run.metric_names()})
        print(
            f"no run under {folder} has data for {metric}; available: {', '.join(names) or 'none'}",
            file=sys.stderr,
        )
        return 1
    if opts["x"] == "frames":
        groups = to_frames(groups)
    bands = curve_bands(groups, opts["agg"], opts["reps"], opts["seed"], opts["points"], opts["smooth"])
    fig = fg.plot_learning_curves(bands, metric, opts["agg"], x_label=X_AXES[opts["x"]], style=style)
    out = Path(opts["out"] or Path(folder) / "plots")
    paths = fg.save_figure(fig, out, opts["name"] or fg.slug(metric), formats)
    count = sum(len(pairs) for pairs in groups.values())
    print(f"{metric}: {count} run(s) in {len(groups)} env×agent group(s) -> " + ", ".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
