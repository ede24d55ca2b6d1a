"""Noise mask vs a mask-free baseline at equal total epochs, over seeds; ``python -m benchmarks.noise_mask``.

Two tasks on scikit-learn's digits (no download):

* ``digits``: all 10 classes; baseline (pretrain + finetune epochs, no mask) vs heated + fine-tuned;
* ``digits-unseen``: classes 5-9 held out; pretraining on 0-4, then a new head fine-tuned on
  ``few_shot`` images per unseen class from the heated vs the baseline weights (the unseen-concept task).

Both objectives run on the same seeds: ``reinforce`` (default: per-sample rewards, baseline) and ``paper``
(mean LSE × CE, the official code). Each seed's baseline uses the same initial weights and data order as its
noise-mask run, so comparisons are paired: the script prints mean ± std, per-seed differences with wins and
a paired t-test, and the ratio noise mask / baseline measured in this run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.core.seeding import seed_everything
from agents.noise_mask.learner import NoiseMaskConfig, NoiseMaskLearner
from agents.noise_mask.report import mean_std, paired

TASKS: dict[str, list[int]] = {"digits": [], "digits-unseen": [5, 6, 7, 8, 9]}
METRICS = ("accuracy", "f1", "balanced_accuracy", "roc_auc")
RAW = "docs/results/raw/noise_mask_per_seed.json"


def run_task(task: str, objective: str, args: argparse.Namespace) -> dict[str, Any]:
    """All seeds of one (task, objective) inside one learner (``replicates`` = seeds)."""
    kwargs = {"image_size": args.image_size, "held_out_classes": TASKS[task]}
    factory = EnvFactory(EnvConfig(name=f"noise-mask-{task}", id="pgsuite/NoiseMask-v0", kwargs=kwargs))
    cfg = NoiseMaskConfig(
        objective=objective,
        replicates=args.seeds,
        pretrain_epochs=args.pretrain_epochs,
        finetune_epochs=args.finetune_epochs,
        finetune_warmup_epochs=min(3, args.finetune_epochs - 1),
        transfer_epochs=args.transfer_epochs,
        few_shot=args.few_shot,
    )
    seed_everything(args.seed)
    learner = NoiseMaskLearner(cfg, factory, seed=args.seed)
    start = time.perf_counter()
    for _ in learner.train_until(learner.plan_steps):
        pass
    seconds = time.perf_counter() - start
    learner.close()
    return {"results": learner.results, "seconds": seconds}


def _cell(stat: dict[str, float]) -> str:
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def report(task: str, runs: dict[str, dict[str, Any]], seeds: int) -> str:
    """Markdown tables for one task: absolute metrics, then paired comparisons against the baseline."""
    first = next(iter(runs.values()))["results"]
    rows = [("baseline", "baseline", first)]
    for objective, run in runs.items():
        rows += [(f"heated + fine-tuned ({objective})", "heated_finetuned", run["results"])]
    lines = [
        f"### {task}: main task (test split, {seeds} seeds)",
        "",
        "| model | " + " | ".join(METRICS) + " |",
        "|---" * (len(METRICS) + 1) + "|",
    ]
    for label, key, results in rows:
        values = {m: mean_std(_values(results, key, m)) for m in METRICS}
        lines.append(f"| {label} | " + " | ".join(_cell(values[m]) for m in METRICS) + " |")
    lines += [
        "",
        "| paired vs baseline | metric | Δ mean ± std | wins | p (paired t) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    pairs = [("heated_finetuned", "baseline", "main")]
    if TASKS[task]:
        pairs.append(("transfer_heated", "transfer_baseline", "few-shot transfer"))
    for row, base, label in pairs:
        for objective, run in runs.items():
            for m in ("accuracy", "f1"):
                d = paired(run["results"], row, base, m)
                ratio = (
                    mean_std(_values(run["results"], row, m))["mean"]
                    / mean_std(_values(run["results"], base, m))["mean"]
                )
                lines.append(
                    f"| {label} ({objective}) | {m} | {d['mean']:+.4f} ± {d['std']:.4f} | "
                    f"{d['wins']}/{d['n']} | {d['p_value']:.3g} | {ratio:.4f} |"
                )
    if TASKS[task]:
        lines += ["", f"few-shot transfer (unseen classes {TASKS[task]}):", ""]
        lines += ["| initialisation | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
        trows = [("baseline", "transfer_baseline", first)]
        trows += [(f"heated ({o})", "transfer_heated", r["results"]) for o, r in runs.items()]
        for label, key, results in trows:
            values = {m: mean_std(_values(results, key, m)) for m in METRICS}
            lines.append(f"| {label} | " + " | ".join(_cell(values[m]) for m in METRICS) + " |")
    lines.append("\nwall time: " + ", ".join(f"{o} {r['seconds']:.0f} s" for o, r in runs.items()))
    return "\n".join(lines)


def _values(results: dict[str, Any], key: str, metric: str) -> Any:
    import numpy as np

    return np.array([res[key][metric] for res in results.values() if key in res], dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="root seed (replicate seeds derive from it)")
    parser.add_argument("--tasks", default="digits,digits-unseen")
    parser.add_argument("--objectives", default="reinforce,paper")
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--transfer-epochs", type=int, default=30)
    parser.add_argument("--few-shot", type=int, default=5)
    parser.add_argument(
        "--raw", default=RAW, help="per-seed results (macro and per-class), written after each task"
    )
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    raw: dict[str, Any] = {"args": vars(args), "tasks": {}}
    print(
        f"noise mask benchmark: {args.seeds} seeds, {args.image_size} px, pretrain {args.pretrain_epochs} + "
        f"finetune {args.finetune_epochs} epochs, baseline {args.pretrain_epochs + args.finetune_epochs} "
        f"epochs\n"
    )
    for task in args.tasks.split(","):
        runs = {o: run_task(task, o, args) for o in args.objectives.split(",")}
        baselines = [r["results"] for r in runs.values()]
        same = all(
            all(b[s].get("baseline") == baselines[0][s].get("baseline") for s in baselines[0])
            for b in baselines
        )
        print(report(task, runs, args.seeds))
        print(f"(baseline identical across objectives, as pairing requires: {same})\n")
        raw["tasks"][task] = {o: r for o, r in runs.items()}
        Path(args.raw).parent.mkdir(parents=True, exist_ok=True)
        Path(args.raw).write_text(json.dumps(raw, indent=1) + "\n")  # after each task: a partial run keeps it


if __name__ == "__main__":
    main()
