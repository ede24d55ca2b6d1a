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
aggregate across envs. Success rates need none. Shipped references with their sources
(``agents/analysis/references.yaml``): ``refs=dmc`` (return / 1000), ``refs=cartpole``. Runs of a suite
(``python -m agents.train suite=...``) are reported as that suite: its tasks, metric and references, and
the normalised aggregate (IQM, mean, optimality gap with CIs) is printed.
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

from agents import callable_module
from agents.analysis.cli import Option, check_common, fail, parse_args, print_problems, require_plot_packages

OPTIONS = {
    "metric": Option(
        "auto", "metric(s) to report, comma-separated; auto = eval/return, plus eval/success when logged"
    ),
    "out": Option(None, "output folder (default <folder>/report)", kind=str),
    "window": Option(1, "final score = mean of each run's last N evaluations"),
    "reps": Option(2000, "bootstrap replications"),
    "seed": Option(0, "bootstrap seed"),
    "refs": Option(
        None,
        "normalise returns: shipped reference name(s) (dmc, cartpole; agents/analysis/references.yaml) or a "
        "YAML/JSON file env -> {min, max}",
        kind=str,
    ),
    "suite": Option(
        None,
        "report a suite: only its tasks, its metric and references (default: the suite the runs belong to)",
        kind=str,
    ),
    "labels": Option(None, "display names, e.g. labels=drqv2:DrQ-v2,sb3-sac:SAC", kind=str),
    "colors": Option(None, "agent colours, e.g. colors=drqv2:tab:blue,sb3-sac:#d62728", kind=str),
    "order": Option(None, "agent order in figures, e.g. order=sb3-sac,drqv2", kind=str),
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
    runs, skipped = _apply_suite(runs, skipped, opts)
    from agents.runtime.launchers import failed_jobs  # failed jobs of sweeps (their sweep.json; issue 18)

    skipped += [run_io.Skipped(path, reason) for path, reason in failed_jobs(folder)]
    print_problems(runs, skipped)
    if not runs:
        print(f"no readable run directory under {folder} (see the skipped list above)", file=sys.stderr)
        return 1
    from agents.analysis.display import relabel, style_from_options

    labels, _ = style_from_options(opts)
    runs = relabel(run_io.split_by(runs, _keys(opts["by"])), labels)
    out = Path(opts["out"] or Path(folder) / "report")
    text, data = build_report(folder, runs, skipped, out, opts, argv)
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(data, indent=1))
    print(data.pop("_summary"))
    print(f"wrote {out / 'report.md'} ({len(runs)} runs, {len(skipped)} skipped)")
    return 0


def _apply_suite(runs: list, skipped: list, opts: dict[str, Any]) -> tuple[list, list]:
    """Keep the suite's tasks; take its metric and references unless the command line set them."""
    from agents.analysis.runs import Skipped
    from agents.analysis.suites import suite_settings
    from agents.core.suites import SuiteError

    try:
        suite = suite_settings(opts["suite"], runs)
    except SuiteError as err:
        fail(str(err))
    if suite is None:
        return runs, skipped
    tasks = set(suite.get("tasks") or [])
    if opts["suite"] is None:  # found in the runs' configs: only the runs started with the suite
        outside = [r for r in runs if (r.config.get("suite") or {}).get("name") != suite["name"]]
        reason = (
            f"not started with suite={suite['name']} (pass suite={suite['name']} to include its envs' runs)"
        )
    else:
        outside = [r for r in runs if r.env not in tasks]
        reason = f"not a task of suite {suite['name']}"
    skipped = skipped + [Skipped(r.path, f"env {r.env}: {reason}") for r in outside]
    if opts["metric"] == "auto":
        opts["metric"] = suite.get("metric") or "auto"
    if opts["refs"] is None and suite.get("refs"):
        refs = suite["refs"]  # shipped name(s), or {env: {min, max}}
        opts["refs"] = refs if isinstance(refs, str | dict) else ",".join(refs)
    opts["suite"] = suite["name"]
    dropped = {id(r) for r in outside}
    return [r for r in runs if id(r) not in dropped], skipped


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
    spec = opts["refs"]
    if isinstance(spec, dict):  # a suite's own references, inline: {env: {min, max}}
        refs = {str(env): (float(ref["min"]), float(ref["max"])) for env, ref in spec.items()}
    else:
        refs = load_refs(spec, sorted({r.env for r in runs})) if spec else None
    from agents.analysis.display import style_from_options

    _, style = style_from_options(opts)
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
            (
                "learning curves",
                fg.plot_learning_curves(bands, metric, opts["agg"], style=style),
                f"{stem}_curves",
            ),
            ("final scores", fg.plot_final_scores(result.estimates, metric, style=style), f"{stem}_final"),
            (
                "performance profiles",
                fg.plot_performance_profiles(result.profiles, f"final {metric} τ", style=style),
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
        "suite": opts.get("suite"),
        "refs": opts["refs"],
    }
    from agents.analysis.suites import format_summary

    label = "the suite's references" if isinstance(opts["refs"], dict) else opts["refs"]
    data["_summary"] = format_summary(results, label)
    return text, data


def load_refs(path: str, envs: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Normalisation references: shipped names (``dmc``, comma-separated) matched against ``envs``, or a
    YAML/JSON file ``{env: {min: lo, max: hi}}`` / ``{env: [lo, hi]}``."""
    from agents.analysis.suites import references_for, shipped_references

    file = Path(path)
    names = [n.strip() for n in path.split(",") if n.strip()]
    if not file.is_file() and names and all(n in shipped_references() for n in names):
        return references_for(names, envs or [])
    if not file.is_file():
        fail(
            f"refs={path}: no such file or shipped reference ({', '.join(shipped_references())}); "
            "write YAML like 'cartpole: {min: 9.4, max: 500}'"
        )
    try:
        raw = yaml.safe_load(file.read_text())
        refs = {}
        for env, ref in (raw or {}).items():
            low, high = (ref["min"], ref["max"]) if isinstance(ref, dict) else ref
            refs[str(env)] = (float(low), float(high))
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as err:
        fail(
            f"refs={path}: cannot read ({type(err).__name__}: {err}); expected 'env: {{min: lo, max: hi}}' "
            f"per env"
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


callable_module(__name__)  # issue 14: `from agents import report` calls agents.api.report

if __name__ == "__main__":
    raise SystemExit(main())
