"""N2N yardstick: the N2N student against hand-made students of the same parameter count (issue 19).

    python -m benchmarks.n2n_yardstick                        # low-data digits (20 images/class), 3 seeds
    python -m benchmarks.n2n_yardstick --train-subset 0       # the full digits training split
    python -m benchmarks.n2n_yardstick --data fashion_mnist   # Fashion-MNIST (envs/data/fashion_mnist.py)
    python -m benchmarks.n2n_yardstick --quick                # tiny settings, mechanics only (minutes)

Same teacher (ResNet-34, width 1/8, trained once, seed 0), same data split and the same final recipe for
every student: ``finetune_epochs`` (10 × the search's KD epochs) of Adam + cosine on CE + λ·L_KD, exactly
the N2N learner's fine-tune (:func:`envs.compression.finetune.finetune_and_report`). Methods:

* **N2N**: the full two-stage REINFORCE search (CPU default preset: 15 + 15 updates × 5 rollouts, stage 2
  asked for ≥ 10×), one search per seed; its final student defines the budget P (median over seeds). The
  best *unconstrained* student of each run is reported too.
* **uniform width**: the teacher's architecture with every width scaled by one factor to the budget.
* **L1 pruning** (Li et al., ICLR 2017): the trained teacher's filters with the smallest L1 norms are cut
  (same fraction in every conv) to the budget, the kept weights copied, then the same fine-tune.
* **random search**: ``--random-samples`` random removal + shrinkage students within ±15 % of the budget,
  each scored by the search-time KD on the validation split; the best is fine-tuned.

Budgets P/2, P, 2P; each baseline at every budget and seed (the seed sets initialisation, batch order and
the random samples). Test accuracy (mean ± s.d. over seeds) goes to ``docs/results/n2n_yardstick[_full].json``
and the accuracy-vs-parameters figure to ``docs/figures/n2n_yardstick[_full].png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.n2n.learner import N2NConfig, N2NLearner
from benchmarks.n2n_figures import figure
from benchmarks.n2n_settings import CPU
from benchmarks.n2n_settings import QUICK as SHARED_QUICK
from envs.classifier import FitConfig, accuracy, fit
from envs.compression import env_id
from envs.compression.baselines import l1_prune_to, random_student, uniform_width_spec
from envs.compression.core import CompressionCore
from envs.compression.finetune import finetune_fit_config
from envs.compression.network import build, count_params

ROOT = Path(__file__).resolve().parents[1]
QUICK = {**SHARED_QUICK, "train_subset": 200}  # fewer images: a harder task


def tune(core: CompressionCore, model: torch.nn.Module, fit_cfg: FitConfig, seed: int) -> float:
    fit(
        model,
        core.x_train,
        core.y_train,
        fit_cfg,
        seed,
        teacher_logits=core.teacher_logits,
        teacher=core.teacher,
    )
    return accuracy(model, core.x_test, core.y_test)


N2N_KEYS = (
    "student_params",
    "student_test_acc",
    "compression",
    "student_stage",
    "student_meets_constraints",
    "unconstrained_params",
    "unconstrained_test_acc",
    "unconstrained_compression",
    "students_evaluated",
)


def run_n2n(fac: EnvFactory, seed: int, steps: int, workers: int, ft_epochs: int | None) -> dict[str, Any]:
    cfg = N2NConfig(
        workers=workers,
        finetune_epochs=ft_epochs,
        shrink_env_kwargs={"min_compression": 10, "anneal_iterations": 5},
    )
    torch.manual_seed(seed)
    learner = N2NLearner(cfg, fac, seed=seed)
    learner.total_steps = steps
    for _ in learner.train_until(steps):
        pass
    out = learner.finish()
    learner.close()
    return {k: out[k] for k in N2N_KEYS if k in out}


def baselines(
    core: CompressionCore, target: int, seed: int, fit_cfg: FitConfig, samples: int
) -> dict[str, dict[str, float]]:
    """Test accuracy and params of the three yardsticks at ``target`` params for one seed."""
    c, spec = core.cfg, core.teacher_spec
    out: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    uni = uniform_width_spec(c.teacher, c.width, tuple(spec["input_shape"]), core.num_classes, target)
    torch.manual_seed(seed)
    out["uniform width"] = {"params": count_params(uni), "test_acc": tune(core, build(uni), fit_cfg, seed)}
    t1 = time.perf_counter()
    pruned = l1_prune_to(spec, core.teacher, target)
    out["L1 pruning + fine-tune"] = {
        "params": count_params(pruned.spec),
        "test_acc": tune(core, pruned, fit_cfg, seed),
    }
    t2 = time.perf_counter()
    rng = np.random.default_rng(seed)
    found: list[Any] = []
    for _ in range(5000):
        cand = random_student(spec, rng, c.min_outputs)
        try:
            params = count_params(cand)
        except (RuntimeError, ValueError):
            continue
        if abs(params / target - 1) <= 0.15 and not core.precheck(cand, core.teacher_params)["degenerate"]:
            found.append(cand)
        if len(found) >= samples:
            break
    if found:
        scored = [(core.score_student(s)["val_acc"], i) for i, s in enumerate(found)]
        best = found[max(scored)[1]]
        torch.manual_seed(seed)
        out["random search"] = {
            "params": count_params(best),
            "test_acc": tune(core, build(best), fit_cfg, seed),
        }
    t3 = time.perf_counter()
    print(
        f"  target {target}: "
        + ", ".join(f"{k} {v['params']} -> {v['test_acc']:.4f}" for k, v in out.items())
        + f" [uniform {t1 - t0:.0f}s, prune {t2 - t1:.0f}s, random {t3 - t2:.0f}s ({len(found)} samples)]",
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings (mechanics only)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--seed-list", default=None, help="seeds run by this process, e.g. 0,1 (default: all)"
    )
    parser.add_argument("--train-subset", type=int, default=200, help="training images (0: all 1150)")
    parser.add_argument(
        "--data",
        default="digits",
        choices=("digits", "fashion_mnist", "animal_mnist"),
        help="data set (envs/data)",
    )
    parser.add_argument("--val-subset", type=int, default=None, help="validation images (default: all)")
    parser.add_argument("--data-root", default=None, help="folder of the data files (default: the package's)")
    parser.add_argument("--n2n-steps", type=int, default=150, help="rollouts per N2N search (both stages)")
    parser.add_argument("--finetune-epochs", type=int, default=None, help="default: 10 x the KD epochs")
    parser.add_argument("--random-samples", type=int, default=5)
    parser.add_argument("--params", type=int, default=None, help="budget P (default: median N2N student)")
    parser.add_argument("--budgets", default="0.5,1,2", help="multiples of P")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cache-dir", default=None, help="teacher cache (default ~/.cache/pgsuite/teachers)")
    parser.add_argument("--part", default=None, help="write this process's raw results to this JSON file")
    parser.add_argument("--merge", nargs="+", default=None, help="combine --part files into the results")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.merge:
        parts = [json.loads(Path(f).read_text()) for f in args.merge]
        finish(parts, args)
        return
    torch.set_num_threads(1)
    kwargs: dict[str, Any] = dict(QUICK if args.quick else CPU)
    if not args.quick and args.train_subset:
        kwargs["train_subset"] = args.train_subset
    if args.data != "digits":
        kwargs.update(data=args.data, data_root=args.data_root)
    if args.val_subset:
        kwargs["val_subset"] = args.val_subset
    if args.cache_dir:
        kwargs["cache_dir"] = args.cache_dir
    steps = 12 if args.quick else args.n2n_steps
    seeds = [int(x) for x in args.seed_list.split(",")] if args.seed_list else list(range(args.seeds))
    fac = EnvFactory(EnvConfig(name="n2n-resnet34", id=env_id("removal", "resnet34"), kwargs=kwargs))
    core = fac.make(seed=0).unwrapped.core
    fit_cfg = finetune_fit_config(core, N2NConfig(finetune_epochs=args.finetune_epochs))
    print(
        f"N2N yardstick: teacher {core.teacher_params} params, test acc {core.teacher_test_acc:.4f}; "
        f"{len(core.y_train)} training images; seeds {seeds}; kwargs={kwargs}",
        flush=True,
    )
    started = time.perf_counter()
    n2n = []
    for seed in seeds:
        t0 = time.perf_counter()
        r = run_n2n(fac, seed, steps, args.workers, args.finetune_epochs)
        n2n.append(r)
        print(
            f"N2N seed {seed}: {r.get('student_params')} params ({r.get('compression', 0):.1f}x), test "
            f"{r.get('student_test_acc', float('nan')):.4f}; unconstrained best "
            f"{r.get('unconstrained_params')} params, test "
            f"{r.get('unconstrained_test_acc', float('nan')):.4f} "
            f"[{time.perf_counter() - t0:.0f}s]",
            flush=True,
        )
    p = args.params or int(statistics.median(r["student_params"] for r in n2n))
    per: list[list[Any]] = []
    for target in [round(float(m) * p) for m in args.budgets.split(",")]:
        for seed in seeds:
            for method, res in baselines(core, target, seed, fit_cfg, args.random_samples).items():
                per.append([method, target, res])
    part = {
        "teacher_params": core.teacher_params,
        "teacher_test_acc": core.teacher_test_acc,
        "train_images": len(core.y_train),
        "width": core.cfg.width,
        "seeds": seeds,
        "n2n": n2n,
        "per": per,
        "kwargs": {k: v for k, v in kwargs.items() if k != "cache_dir"},
        "n2n_steps": steps,
        "finetune_epochs": fit_cfg.epochs,
        "random_samples": args.random_samples,
        "budgets": args.budgets,
        "params_p": p,
        "wall_s": time.perf_counter() - started,
    }
    if args.part:
        Path(args.part).write_text(json.dumps(part, indent=1))
        print(f"wrote {args.part}")
    else:
        finish([part], args)


def finish(parts: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Table, JSON and figure from one or more parts (processes that ran different seeds)."""
    first = parts[0]
    teacher = {k: first[k] for k in ("teacher_params", "teacher_test_acc", "train_images", "width")}
    teacher["data"] = first["kwargs"].get("data", "digits")
    n2n = [r for part in parts for r in part["n2n"]]
    per: dict[tuple[str, int], list[dict[str, float]]] = {}
    for part in parts:
        for method, target, res in part["per"]:
            per.setdefault((method, target), []).append(res)
    rows = summarize(teacher, n2n, per)
    print_table(teacher, rows)
    if args.quick:
        return
    suffix = "" if first["kwargs"].get("train_subset") else "_full"
    if first["kwargs"].get("data", "digits") != "digits":
        suffix = f"_{first['kwargs']['data']}{suffix}"
    out = args.out or str(ROOT / f"docs/results/n2n_yardstick{suffix}.json")
    save(out, rows, n2n, parts, teacher)
    figure(rows, n2n, teacher, ROOT / f"docs/figures/n2n_yardstick{suffix}.png")


def _row(method: str, budget: Any, items: list[dict[str, float]]) -> dict[str, Any]:
    accs = [x["test_acc"] for x in items]
    return {
        "method": method,
        "budget": budget,
        "params": round(float(np.mean([x["params"] for x in items]))),
        "test_acc_mean": float(np.mean(accs)),
        "test_acc_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        "seeds": len(accs),
        "test_acc_per_seed": accs,
    }


def summarize(teacher: dict[str, Any], n2n: list[dict], per: dict) -> list[dict[str, Any]]:
    t = [{"params": teacher["teacher_params"], "test_acc": teacher["teacher_test_acc"]}]
    rows = [_row("teacher", "teacher", t)]
    found = [{"params": r["student_params"], "test_acc": r["student_test_acc"]} for r in n2n]
    rows.append(_row("N2N (stage 2 asked for >= 10x)", "N2N", found))
    unc = [r for r in n2n if "unconstrained_params" in r]
    if unc:
        best = [{"params": r["unconstrained_params"], "test_acc": r["unconstrained_test_acc"]} for r in unc]
        rows.append(_row("N2N best unconstrained student", "N2N", best))
    for (method, target), items in sorted(per.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append(_row(method, target, items))
    return rows


def print_table(teacher: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    print("\n| method | budget | params | test acc (mean ± s.d.) | vs teacher | seeds |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['method']} | {r['budget']} | {r['params']:,} | {r['test_acc_mean']:.4f} ± "
            f"{r['test_acc_std']:.4f} | {r['test_acc_mean'] / teacher['teacher_test_acc']:.3f} | "
            f"{r['seeds']} |"
        )


def save(out: str, rows: list, n2n: list, parts: list[dict[str, Any]], teacher: dict[str, Any]) -> None:
    from benchmarks.make_docs import write_result

    first = parts[0]
    seeds = [s for part in parts for s in part["seeds"]]
    n2n_notes = [
        f"N2N seed {s}: final {r['student_params']} params ({r['compression']:.2f}x, stage "
        f"{r['student_stage']}, "
        f"meets the >= 10x constraint: {r['student_meets_constraints']}), test {r['student_test_acc']:.4f}; "
        f"best "
        f"unconstrained {r.get('unconstrained_params')} params, test "
        f"{r.get('unconstrained_test_acc', float('nan')):.4f}"
        for s, r in zip(seeds, n2n, strict=True)
    ]
    walls = ", ".join(f"{p['wall_s'] / 60:.0f}" for p in parts)
    path = write_result(
        out,
        f"N2N yardstick: equal-parameter baselines (ResNet-34 w{teacher['width']}, "
        f"{first['kwargs'].get('data', 'digits')}, "
        f"{teacher['train_images']} training images)",
        rows,
        seeds=seeds,
        budgets={
            "n2n_rollouts": first["n2n_steps"],
            "finetune_epochs": first["finetune_epochs"],
            "random_samples": first["random_samples"],
            "budget_P": first["params_p"],
            "budget_multiples": first["budgets"],
            "env_kwargs": first["kwargs"],
        },
        command="python -m benchmarks.n2n_yardstick " + " ".join(sys.argv[1:]),
        description="Test accuracy after the same fine-tune (CE + KD, Adam + cosine) for every student; same "
        "teacher and split. Rows: method, budget (target params), params (mean), test_acc_mean, test_acc_std "
        "(sample s.d. over seeds), seeds.",
        notes=[
            *n2n_notes,
            f"Wall time per process (min): {walls}, on the shared 2-core CPU (other jobs running).",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
