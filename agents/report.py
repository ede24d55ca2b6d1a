"""Benchmark report of a folder of runs: ``python -m agents.report runs/<folder> [key=value ...]``.

Writes ``<out>/report.md`` (per env x agent: IQM, mean, median and optimality gap of the final score with
95% stratified bootstrap CIs; probability of improvement between agents; learning curves, final-score
bars and performance profiles embedded as PNG, also saved as SVG; method figures when the runs logged
their data; per-run scores; skipped runs with reasons), ``report.json`` (the same numbers, full precision)
and ``scores.csv`` (one row per run and metric). Options are Hydra-override style ``key=value``
(see ``--help``). Runs in progress count with the evaluations they have; damaged runs are skipped with
the reason printed; failed jobs of a sweep (its ``sweep.json``, written by the ``ray``/``slurm``/``submitit``
launchers) are listed with the skipped folders.

Normalisation references (``refs=refs.yaml``) map env names to the scores of a reference low and high
policy, e.g. ``cartpole: {min: 9.4, max: 500}``; with them, returns get an optimality gap and an
aggregate across envs. Success rates need none.
"""

from __future__ import annotations

import json
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from agents.analysis.cli import Option, check_common, fail, parse_args, print_problems, require_plot_packages

OPTIONS = {
    "metric": Option(
        "auto", "metric(s) to report, comma-separated; auto = eval/return, plus eval/success when logged"
    ),
    "out": Option(None, "output folder (default <folder>/report)", kind=str),
    "window": Option(1, "final score = mean of each run's last N evaluations"),
    "reps": Option(2000, "bootstrap replications"),
    "seed": Option(0, "bootstrap seed"),
    "refs": Option(None, "YAML/JSON file: env -> {min, max} to normalise returns", kind=str),
    "by": Option(None, "comma-separated config keys that split agents (e.g. by=graph,agent.lr)", kind=str),
    "compare": Option(None, "X,Y: only this agent pair for probability of improvement", kind=str),
    "agg": Option("iqm", "aggregate drawn in learning curves: iqm, mean or median"),
    "points": Option(100, "learning-curve grid points"),
    "smooth": Option(1, "moving-average window applied to each run's curve"),
    "method_figures": Option(True, "also draw method figures whose data the runs logged"),
    "formats": Option("png,svg", "image formats"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 on success, 1 when no run has data to report."""
    folder, opts = parse_args(argv, "agents.report", __doc__.split("\n\n")[0], OPTIONS)
    opts["formats"] = ",".join(check_common(opts))
    require_plot_packages("agents.report")
    from agents.analysis import runs as run_io

    try:
        runs, skipped = run_io.discover_runs(folder)
    except FileNotFoundError as err:
        fail(str(err))
    from agents.runtime.launchers import failed_jobs  # failed jobs of sweeps (their sweep.json; issue 18)

    skipped += [run_io.Skipped(path, reason) for path, reason in failed_jobs(folder)]
    print_problems(runs, skipped)
    if not runs:
        print(f"no readable run directory under {folder} (see the skipped list above)", file=sys.stderr)
        return 1
    runs = run_io.split_by(runs, _keys(opts["by"]))
    out = Path(opts["out"] or Path(folder) / "report")
    text, data = build_report(folder, runs, skipped, out, opts, argv)
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(data, indent=1))
    print(f"wrote {out / 'report.md'} ({len(runs)} runs, {len(skipped)} skipped)")
    return 0


def build_report(
    folder: str, runs: list, skipped: list, out: Path, opts: dict[str, Any], argv: list[str] | None
) -> tuple[str, dict[str, Any]]:
    """Compute every metric's statistics, draw and save the figures; returns (markdown, json data)."""
    from importlib.metadata import version

    from agents.analysis import figures as fg
    from agents.analysis.aggregate import analyse_metric, curve_bands
    from agents.analysis.markdown import render_report
    from agents.analysis.method_figures import METHOD_FIGURES, NoData
    from agents.analysis.runs import has_metric

    out.mkdir(parents=True, exist_ok=True)
    formats = [f.strip() for f in opts["formats"].split(",") if f.strip()]
    metrics = _metrics(opts["metric"], runs, has_metric)
    compare = _pair(opts["compare"])
    refs = load_refs(opts["refs"]) if opts["refs"] else None
    results, figures = [], {}
    for metric in metrics:
        result = analyse_metric(runs, metric, opts["window"], opts["reps"], opts["seed"], refs, compare)
        results.append(result)
        if result.scores.empty:
            continue
        stem = fg.slug(metric)
        bands = curve_bands(
            result.groups,
            opts["agg"],
            max(100, opts["reps"] // 2),
            opts["seed"],
            opts["points"],
            opts["smooth"],
        )
        drawn = [
            ("learning curves", fg.plot_learning_curves(bands, metric, opts["agg"]), f"{stem}_curves"),
            ("final scores", fg.plot_final_scores(result.estimates, metric), f"{stem}_final"),
            (
                "performance profiles",
                fg.plot_performance_profiles(result.profiles, f"final {metric} τ"),
                f"{stem}_profiles",
            ),
        ]
        figures[metric] = [
            (caption, fg.save_figure(fig, out, name, formats)[0]) for caption, fig, name in drawn
        ]
    method_paths = []
    if opts["method_figures"]:
        for spec in METHOD_FIGURES:
            try:
                fig = spec.draw(runs, **spec.kwargs)
            except NoData:
                continue
            method_paths.append((spec.name, fg.save_figure(fig, out, f"method_{spec.name}", formats)[0]))
    protocol = _protocol(runs, opts, version("rliable"))
    command = "python -m agents.report " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    text = render_report(folder, command, runs, skipped, results, figures, method_paths, out, protocol)
    _write_scores(out / "scores.csv", results)
    data = {
        "folder": str(folder),
        "command": command,
        "protocol": protocol,
        "metrics": {r.metric: _result_json(r) for r in results},
        "figures": {m: [str(p) for _, p in f] for m, f in figures.items()},
        "method_figures": {name: str(p) for name, p in method_paths},
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped],
    }
    return text, data


def load_refs(path: str) -> dict[str, tuple[float, float]]:
    """Normalisation references: ``{env: {min: lo, max: hi}}`` or ``{env: [lo, hi]}`` from YAML/JSON."""
    file = Path(path)
    if not file.is_file():
        fail(f"refs={path}: no such file; write YAML like 'cartpole: {{min: 9.4, max: 500}}'")
    try:
        raw = yaml.safe_load(file.read_text())
        refs = {}
        for env, ref in (raw or {}).items():
            low, high = (ref["min"], ref["max"]) if isinstance(ref, dict) else ref
            refs[str(env)] = (float(low), float(high))
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as err:
        fail(
            f"refs={path}: cannot read ({type(err).__name__}: {err}); expected 'env: {{min: lo, max: hi}}' per env"
        )
    return refs


def _metrics(spec: str, runs: list, has_metric: Any) -> list[str]:
    if spec != "auto":
        return [m.strip() for m in spec.split(",") if m.strip()]
    return ["eval/return"] + (["eval/success"] if has_metric(runs, "eval/success") else [])


def _keys(spec: str | None) -> list[str]:
    return [k.strip() for k in (spec or "").split(",") if k.strip()]


def _pair(spec: str | None) -> tuple[str, str] | None:
    if not spec:
        return None
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 2 or not all(parts):
        fail(f"compare={spec!r}: give two agent names, compare=<agent X>,<agent Y>")
    return parts[0], parts[1]


def _protocol(runs: list, opts: dict[str, Any], rliable_version: str) -> dict[str, str]:
    def values(section: str, key: str) -> str:
        found = sorted({str((r.config.get(section) or {}).get(key, "?")) for r in runs})
        return "/".join(found)

    return {
        "eval episodes per evaluation": values("eval", "episodes"),
        "deterministic eval": values("eval", "deterministic"),
        "final score": f"mean of the last {opts['window']} evaluation(s)",
        "bootstrap": f"{opts['reps']} reps, seed {opts['seed']}, percentile 95% CIs",
        "software": f"rliable {rliable_version}, pandas {pd.__version__}, python {platform.python_version()}",
    }


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "gamma": result.gamma,
        "window": result.window,
        "notes": result.notes,
        "estimates": {
            env: {agent: {k: e.as_list() for k, e in est.items()} for agent, est in per_agent.items()}
            for env, per_agent in result.estimates.items()
        },
        "aggregate": None
        if result.aggregate is None
        else {agent: {k: e.as_list() for k, e in est.items()} for agent, est in result.aggregate.items()},
        "improvement": [
            {"env": env, "x": x, "y": y, "p": poi.as_list()} for env, x, y, poi in result.improvement
        ],
        "scores": result.scores.to_dict(orient="records"),
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in result.skipped],
    }


def _write_scores(path: Path, results: list) -> None:
    frames = [r.scores.assign(metric=r.metric) for r in results if not r.scores.empty]
    if frames:
        pd.concat(frames, ignore_index=True).to_csv(path, index=False)


if __name__ == "__main__":
    raise SystemExit(main())
