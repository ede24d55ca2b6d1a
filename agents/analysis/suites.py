"""Suite-aware reporting (issue 14): which runs belong to a suite, its metric, and the shipped
normalisation references (``references.yaml`` beside this file, each with its documented source).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import yaml

REFERENCES = Path(__file__).with_name("references.yaml")


def shipped_references() -> dict[str, dict[str, Any]]:
    """name -> {envs (glob), min, max, source} from ``references.yaml``."""
    return yaml.safe_load(REFERENCES.read_text()) or {}


def references_for(names: list[str], envs: list[str]) -> dict[str, tuple[float, float]]:
    """env -> (min, max) for the ``envs`` matched by the shipped references ``names``.

    Raises:
        KeyError: an unknown reference name (the message lists the shipped ones).
    """
    shipped = shipped_references()
    refs: dict[str, tuple[float, float]] = {}
    for name in names:
        if name not in shipped:
            raise KeyError(f"no shipped reference {name!r}; shipped: {', '.join(sorted(shipped))}")
        ref = shipped[name]
        for env in envs:
            if fnmatch.fnmatchcase(env, str(ref["envs"])):
                refs[env] = (float(ref["min"]), float(ref["max"]))
    return refs


def suite_of_runs(runs: list) -> dict[str, Any] | None:
    """The suite config (``config.suite``) the runs were started with, when exactly one suite appears
    among them (runs of no suite are then left out of the report with a reason)."""
    suites = {}
    for run in runs:
        suite = run.config.get("suite")
        if isinstance(suite, dict) and suite.get("name"):
            suites.setdefault(suite["name"], suite)
    return next(iter(suites.values())) if len(suites) == 1 else None


def suite_settings(name: str | None, runs: list) -> dict[str, Any] | None:
    """The suite to report: ``name`` (from the runs' configs, else from the config search path), or the
    one every run was started with; ``None`` when there is none."""
    from_runs = suite_of_runs(runs)
    if name is None:
        return from_runs
    if from_runs is not None and from_runs.get("name") == name:
        return from_runs
    for run in runs:
        suite = run.config.get("suite")
        if isinstance(suite, dict) and suite.get("name") == name:
            return suite
    from agents.core.suites import load_suite

    suite = load_suite(name)
    return {"name": suite.name, "tasks": suite.tasks, "metric": suite.metric, "refs": suite.refs}


def format_summary(results: list, refs_label: str | None) -> str:
    """The numbers to print after a report: the all-env normalised aggregate per metric (else per env)."""
    from agents.analysis.markdown import fmt_ci

    lines = []
    for result in results:
        if result.aggregate:
            envs = sorted(result.scores.env.unique())
            scale = "success rate" if "success" in result.metric else f"normalised by {refs_label}"
            lines.append(f"{result.metric} over {len(envs)} envs ({scale}), 95% CIs:")
            for agent, est in result.aggregate.items():
                gap = fmt_ci(est.get("optimality_gap"))
                lines.append(
                    f"  {agent}: IQM {fmt_ci(est['iqm'])}  mean {fmt_ci(est['mean'])}  optimality gap {gap}"
                )
        elif result.estimates:
            lines.append(f"{result.metric} per env (IQM, 95% CI):")
            for env, per_agent in sorted(result.estimates.items()):
                shown = "  ".join(f"{a}: {fmt_ci(e['iqm'])}" for a, e in per_agent.items())
                lines.append(f"  {env}: {shown}")
        lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)
