"""Noise mask vs a mask-free baseline at equal total epochs, over seeds; ``python -m benchmarks.noise_mask``.

Two tasks on scikit-learn's digits (no download):

* ``digits``: all 10 classes; baseline (pretrain + finetune epochs, no mask) vs heated + fine-tuned;
* ``digits-unseen``: classes 5-9 held out; pretraining on 0-4, then a new head fine-tuned on
  ``few_shot`` images per unseen class from the heated vs the baseline weights (the unseen-concept task).

Both objectives run on the same seeds: ``reinforce`` (default: per-sample rewards, baseline) and ``paper``
(mean LSE × CE, the official code). Each seed's baseline uses the same initial weights and data order as its
noise-mask run, so comparisons are paired. Outputs (issue 19): per-seed macro and per-class precision /
recall / F1 in ``docs/results/raw/noise_mask_per_seed.json``; means with 95 % Student-t intervals, paired
differences (objective − baseline, paper − reinforce) with theirs, and the classes where the objectives' F1
intervals do not overlap in ``docs/results/raw/noise_mask_summary.json``; the side-by-side table (macro
metrics and per-class F1) in ``docs/results/noise_mask.json``. ``--from-raw`` rebuilds the tables from the
per-seed file without training.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.core.seeding import seed_everything
from agents.noise_mask.learner import NoiseMaskConfig, NoiseMaskLearner
from benchmarks.make_docs import machine_description, write_result
from benchmarks.noise_mask_table import markdown, notes, rows, summarize

TASKS: dict[str, list[int]] = {"digits": [], "digits-unseen": [5, 6, 7, 8, 9]}
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


def write_results(
    raw: dict[str, Any], out: str, raw_path: str, extra_notes: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Summaries with CIs -> ``docs/results/raw/noise_mask_summary.json``; side-by-side rows -> ``out``."""
    summary = summarize(raw)
    summary_path = Path(raw_path).with_name("noise_mask_summary.json")
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(_null_nan(summary), indent=1, allow_nan=False) + "\n")
    a = raw["args"]
    budgets = {
        "image_size": a["image_size"],
        "pretrain_epochs": a["pretrain_epochs"],
        "finetune_epochs": a["finetune_epochs"],
        "baseline_epochs": a["pretrain_epochs"] + a["finetune_epochs"],
        "transfer_epochs": a["transfer_epochs"],
        "few_shot": a["few_shot"],
    }
    seconds = {f"{t}/{o}": round(r["seconds"]) for t, runs in raw["tasks"].items() for o, r in runs.items()}
    write_result(
        out,
        f"Noise mask: paper vs default objective vs baseline, digits ({a['seeds']} seeds, paired, 95 % CIs)",
        rows(summary),
        seeds=f"root seed {a['seed']}, replicates 0-{a['seeds'] - 1} (derive_seed), the same for every model",
        budgets=budgets,
        machine=raw.get("machine") or machine_description(),
        command=command(a),
        description=(
            "Test-split scores, mean over seeds [95 % Student-t CI]. `baseline`: no mask, equal total "
            "epochs, same initial weights and data order; `reinforce` (default) / `paper`: the noise mask "
            "with that objective. `main` (seen classes): heated + fine-tuned vs baseline; `transfer` "
            "(held-out classes): a new head few-shot fine-tuned from the heated vs the baseline weights. "
            "Δ columns: paired per-seed differences with their t-interval. Intervals are clipped to the "
            "metric's range."
        ),
        notes=[
            *notes(summary),
            *extra_notes,
            "Per seed, macro and per-class precision / recall / F1: the first file below.",
        ],
        raw=[f"results/raw/{Path(raw_path).name}", f"results/raw/{summary_path.name}"],
        order=3,
        wall_seconds=seconds,
        **({"load_average": raw["load_average"]} if "load_average" in raw else {}),
    )
    return summary


def _null_nan(value: Any) -> Any:
    """``value`` with NaN (an undefined p-value or interval) as ``None``, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: _null_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_null_nan(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def command(args: dict[str, Any]) -> str:
    """The command line that reproduces a run with ``args`` (flags for the non-default values only)."""
    defaults = vars(build_parser().parse_args([]))
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in args.items() if k in defaults and v != defaults[k]]
    return " ".join(["python -m benchmarks.noise_mask", *flags])


def build_parser() -> argparse.ArgumentParser:
    """The command line (``command`` rebuilds a run's flags from it)."""
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
    parser.add_argument("--out", default="docs/results/noise_mask.json", help="the docs results file")
    parser.add_argument("--from-raw", action="store_true", help="no training: rebuild the tables from --raw")
    parser.add_argument("--note", action="append", default=[], help="a line for the results' notes")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.from_raw:
        raw = json.loads(Path(args.raw).read_text())
    else:
        raw = train(args)
    summary = write_results(raw, args.out, args.raw, tuple(args.note))
    print(markdown(rows(summary)))
    print("\n".join(notes(summary)))


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Every (task, objective) on the same seeds; the per-seed file is rewritten after each task."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    raw: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items() if k not in ("raw", "out", "from_raw", "note")},
        "machine": machine_description(),
        "load_average": {"start": list(os.getloadavg())},
        "tasks": {},
    }
    print(
        f"noise mask benchmark: {args.seeds} seeds, {args.image_size} px, pretrain {args.pretrain_epochs} + "
        f"finetune {args.finetune_epochs} epochs, baseline {args.pretrain_epochs + args.finetune_epochs} "
        f"epochs",
        flush=True,
    )
    for task in args.tasks.split(","):
        raw["tasks"][task] = {o: run_task(task, o, args) for o in args.objectives.split(",")}
        raw["load_average"]["end"] = list(os.getloadavg())
        Path(args.raw).parent.mkdir(parents=True, exist_ok=True)
        Path(args.raw).write_text(json.dumps(raw, indent=1) + "\n")  # after each task: a partial run keeps it
        print(
            f"{task}: " + ", ".join(f"{o} {r['seconds']:.0f} s" for o, r in raw["tasks"][task].items()),
            flush=True,
        )
    return raw


if __name__ == "__main__":
    main()
