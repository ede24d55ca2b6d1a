"""Tables of ``python -m benchmarks.noise_mask``: baseline vs both objectives, macro and per-class, with CIs.

Input is the benchmark's per-seed file (``{"args", "tasks": {task: {objective: {"results", "seconds"}}}}``,
``results`` as :class:`agents.noise_mask.learner.NoiseMaskLearner` keeps them). For every task and
evaluation (``main``: the seen classes' test split; ``transfer``: few-shot transfer to the held-out
classes) three models stand side by side on the same seeds: the mask-free baseline and the heated +
fine-tuned model of each objective (``reinforce``, the default, and ``paper``). Every cell is the mean over
seeds with its 95 % Student-t interval (:func:`agents.noise_mask.report.t_interval`); the differences are
paired by seed (same initial weights and data order) with the same interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.noise_mask.report import mean_std, paired, per_class_summary

#: Macro metrics shown in the docs table (all of ``agents.noise_mask.report.METRICS`` are in the summary).
SHOWN = ("accuracy", "f1", "balanced_accuracy", "roc_auc")
MACRO = ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc")
#: evaluation -> (noise-mask row, baseline row) of the learner's per-seed results
EVALUATIONS = {"main": ("heated_finetuned", "baseline"), "transfer": ("transfer_heated", "transfer_baseline")}


def paired_results(runs: dict[str, Any], row: str, base: str) -> dict[str, dict[str, Any]]:
    """seed -> {"baseline": …, objective: …}: one objective-independent baseline and each objective's row.

    Raises ``ValueError`` when the objectives' baselines differ (the pairing would not hold).
    """
    objectives = list(runs)
    first = runs[objectives[0]]["results"]
    merged: dict[str, dict[str, Any]] = {}
    for seed, res in first.items():
        if row not in res:
            continue
        merged[seed] = {"baseline": res[base]}
        for objective in objectives:
            other = runs[objective]["results"][seed]
            if other[base] != res[base]:
                raise ValueError(f"seed {seed}: the baseline differs between objectives; rerun the benchmark")
            merged[seed][objective] = other[row]
    return merged


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """task -> evaluation -> macro and per-class summaries of every model, paired differences, and the
    classes where the two objectives' F1 intervals do not overlap."""
    out: dict[str, Any] = {}
    for task, runs in raw["tasks"].items():
        objectives = list(runs)
        for evaluation, (row, base) in EVALUATIONS.items():
            merged = paired_results(runs, row, base)
            if not merged:
                continue
            models = ["baseline", *objectives]
            entry: dict[str, Any] = {
                "seeds": sorted(merged, key=int),
                "macro": {
                    m: {k: mean_std(np.array([res[k][m] for res in merged.values()])) for k in models}
                    for m in MACRO
                },
                "per_class": {k: per_class_summary(merged, k) for k in models},
                "paired": {},
            }
            comparisons = [(o, "baseline") for o in objectives]
            if len(objectives) == 2:
                comparisons.append((objectives[1], objectives[0]))
            for a, b in comparisons:
                entry["paired"][f"{a} - {b}"] = {
                    "macro": {m: paired(merged, a, b, m) for m in MACRO},
                    "per_class": per_class_summary(merged, a, b),
                }
            if len(objectives) == 2:
                entry["distinct_f1_classes"] = distinct_classes(entry, *objectives)
            out.setdefault(task, {})[evaluation] = entry
    return out


def distinct_classes(entry: dict[str, Any], first: str, second: str) -> list[dict[str, Any]]:
    """Classes whose per-class F1 95 % intervals of the two objectives do not overlap."""
    a, b = entry["per_class"][first], entry["per_class"][second]
    found = []
    for j, c in enumerate(a["class"]):
        x, y = a["f1"][j], b["f1"][j]
        if x["ci_high"] < y["ci_low"] or y["ci_high"] < x["ci_low"]:
            found.append({"class": c, first: x["mean"], second: y["mean"]})
    return found


def cell(stat: dict[str, float], signed: bool = False) -> str:
    """``mean [low, high]`` with 4 decimals; the interval clipped to the metric's range, [0, 1] (differences:
    signed, [−1, 1]), which a t-interval of a few seeds near 0 or 1 overshoots."""
    f, lowest = ("{:+.4f}", -1.0) if signed else ("{:.4f}", 0.0)
    if np.isnan(stat["ci_low"]):
        return f.format(stat["mean"])
    low, high = max(stat["ci_low"], lowest), min(stat["ci_high"], 1.0)
    return f"{f.format(stat['mean'])} [{f.format(low)}, {f.format(high)}]"


def rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Docs rows: per task and evaluation, the shown macro metrics then per-class F1, models side by side,
    with the paired differences (objective − baseline, paper − reinforce) and their intervals."""
    out = []
    for task, evaluations in summary.items():
        for evaluation, entry in evaluations.items():
            models = list(entry["per_class"])
            lines = [
                (m, entry["macro"][m], {k: v["macro"][m] for k, v in entry["paired"].items()}) for m in SHOWN
            ]
            classes = entry["per_class"]["baseline"]["class"]
            for j, c in enumerate(classes):
                stats = {k: entry["per_class"][k]["f1"][j] for k in models}
                diffs = {k: v["per_class"]["f1"][j] for k, v in entry["paired"].items()}
                lines.append((f"F1 class {c}", stats, diffs))
            for metric, stats, diffs in lines:
                row = {"task": task, "evaluation": evaluation, "metric": metric}
                row |= {k: cell(stats[k]) for k in models}
                row |= {f"Δ {k.replace(' - ', ' − ')}": cell(d, signed=True) for k, d in diffs.items()}
                out.append(row)
    return out


def markdown(table: list[dict[str, Any]]) -> str:
    """A markdown table of ``rows`` (for the console)."""
    if not table:
        return "(no rows)"
    columns = list(table[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in table]
    return "\n".join(lines)


def notes(summary: dict[str, Any]) -> list[str]:
    """One line per task and evaluation naming the classes where the objectives' F1 CIs do not overlap."""
    out = []
    for task, evaluations in summary.items():
        for evaluation, entry in evaluations.items():
            if "distinct_f1_classes" not in entry:
                continue
            found = entry["distinct_f1_classes"]
            names = ", ".join(str(d["class"]) for d in found) if found else "none"
            out.append(
                f"{task} / {evaluation}: classes where the objectives' F1 95 % CIs do not overlap: {names}"
            )
    return out
