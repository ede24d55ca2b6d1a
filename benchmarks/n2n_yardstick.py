"""N2N yardstick: the N2N student against hand-made students of the same parameter count (issue 19).

    python -m benchmarks.n2n_yardstick                        # low-data digits (20 images/class), 3 seeds
    python -m benchmarks.n2n_yardstick --train-subset 0       # the full digits training split
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
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.n2n.learner import N2NConfig, N2NLearner
from envs.classifier import FitConfig, accuracy, fit
from envs.compression import env_id
from envs.compression.baselines import l1_prune_to, random_student, uniform_width_spec
from envs.compression.core import CompressionCore
from envs.compression.network import build, count_params

ROOT = Path(__file__).resolve().parents[1]
CPU = dict(
    width=0.125, image_size=16, image_channels=1, teacher_epochs=20, student_epochs=3, student_lr=1e-3,
    batch_size=64, min_outputs=4,
)  # fmt: skip
QUICK = dict(
    width=0.0625, image_size=8, image_channels=1, teacher_epochs=3, student_epochs=1, train_subset=200,
    val_subset=150, batch_size=64, min_outputs=2,
)  # fmt: skip


def finetune_config(core: CompressionCore, n2n: N2NConfig) -> FitConfig:
    """The N2N learner's final recipe (see :func:`envs.compression.finetune.finetune_and_report`)."""
    c = core.cfg
    epochs = n2n.finetune_epochs if n2n.finetune_epochs is not None else 10 * c.student_epochs
    return FitConfig(
        epochs, n2n.finetune_lr, c.student_weight_decay, c.batch_size, "adam", True,
        ce_weight=1.0, kd_weight=n2n.finetune_kd_weight, augment=c.augment,
    )  # fmt: skip


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


def run_n2n(fac: EnvFactory, seed: int, steps: int, workers: int) -> dict[str, Any]:
    cfg = N2NConfig(workers=workers, shrink_env_kwargs={"min_compression": 10, "anneal_iterations": 5})
    torch.manual_seed(seed)
    learner = N2NLearner(cfg, fac, seed=seed)
    learner.total_steps = steps
    for _ in learner.train_until(steps):
        pass
    out = learner.finish()
    learner.close()
    return out


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
    print(f"  target {target}: " + ", ".join(f"{k} {v['params']} -> {v['test_acc']:.4f}" for k, v in out.items())
          + f" [uniform {t1 - t0:.0f}s, prune {t2 - t1:.0f}s, random {t3 - t2:.0f}s ({len(found)} samples)]",
          flush=True)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings (mechanics only)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-subset", type=int, default=200, help="training images (0: all 1150)")
    parser.add_argument("--n2n-steps", type=int, default=150, help="rollouts per N2N search (both stages)")
    parser.add_argument("--random-samples", type=int, default=5)
    parser.add_argument("--budgets", default="0.5,1,2", help="multiples of the N2N student's params")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cache-dir", default=None, help="teacher cache (default ~/.cache/pgsuite/teachers)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    kwargs: dict[str, Any] = dict(QUICK if args.quick else CPU)
    if not args.quick and args.train_subset:
        kwargs["train_subset"] = args.train_subset
    if args.cache_dir:
        kwargs["cache_dir"] = args.cache_dir
    steps = 12 if args.quick else args.n2n_steps
    fac = EnvFactory(EnvConfig(name="n2n-resnet34", id=env_id("removal", "resnet34"), kwargs=kwargs))
    core = fac.make(seed=0).unwrapped.core
    fit_cfg = finetune_config(core, N2NConfig())
    print(f"N2N yardstick: teacher {core.teacher_params} params, test acc {core.teacher_test_acc:.4f}; "
          f"{len(core.y_train)} training images; kwargs={kwargs}", flush=True)  # fmt: skip
    started = time.perf_counter()
    n2n = []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        r = run_n2n(fac, seed, steps, args.workers)
        n2n.append(r)
        print(f"N2N seed {seed}: {r.get('student_params')} params ({r.get('compression', 0):.1f}x), test "
              f"{r.get('student_test_acc', float('nan')):.4f}; unconstrained best "
              f"{r.get('unconstrained_params')} params, test {r.get('unconstrained_test_acc', float('nan')):.4f} "
              f"[{time.perf_counter() - t0:.0f}s]", flush=True)  # fmt: skip
    p_n2n = int(statistics.median(r["student_params"] for r in n2n))
    targets = [round(float(m) * p_n2n) for m in args.budgets.split(",")]
    per: dict[tuple[str, int], list[dict[str, float]]] = {}
    for target in targets:
        for seed in range(args.seeds):
            for method, res in baselines(core, target, seed, fit_cfg, args.random_samples).items():
                per.setdefault((method, target), []).append(res)
    rows = summarize(core, n2n, per)
    print_table(core, rows)
    if not args.quick:
        suffix = "" if args.train_subset else "_full"
        out = args.out or str(ROOT / f"docs/results/n2n_yardstick{suffix}.json")
        save(out, rows, n2n, kwargs, args, steps, fit_cfg, core, time.perf_counter() - started)
        figure(rows, n2n, core, ROOT / f"docs/figures/n2n_yardstick{suffix}.png")


def _row(method: str, budget: Any, items: list[dict[str, float]]) -> dict[str, Any]:
    accs = [x["test_acc"] for x in items]
    return {
        "method": method, "budget": budget, "params": round(float(np.mean([x["params"] for x in items]))),
        "test_acc_mean": float(np.mean(accs)), "test_acc_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        "seeds": len(accs), "test_acc_per_seed": accs,
    }  # fmt: skip


def summarize(core: CompressionCore, n2n: list[dict], per: dict) -> list[dict[str, Any]]:
    rows = [_row("teacher", "teacher", [{"params": core.teacher_params, "test_acc": core.teacher_test_acc}])]
    rows.append(_row("N2N (stage 2 asked for >= 10x)", "N2N", [
        {"params": r["student_params"], "test_acc": r["student_test_acc"]} for r in n2n]))  # fmt: skip
    unc = [r for r in n2n if "unconstrained_params" in r]
    if unc:
        rows.append(_row("N2N best unconstrained student", "N2N", [
            {"params": r["unconstrained_params"], "test_acc": r["unconstrained_test_acc"]} for r in unc]))  # fmt: skip
    for (method, target), items in per.items():
        rows.append(_row(method, target, items))
    return rows


def print_table(core: CompressionCore, rows: list[dict[str, Any]]) -> None:
    print(
        "\n| method | budget | params | test acc (mean ± s.d.) | vs teacher | seeds |\n|---|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        print(f"| {r['method']} | {r['budget']} | {r['params']:,} | {r['test_acc_mean']:.4f} ± {r['test_acc_std']:.4f} "
              f"| {r['test_acc_mean'] / core.teacher_test_acc:.3f} | {r['seeds']} |")  # fmt: skip


def save(out: str, rows: list, n2n: list, kwargs: dict, args: argparse.Namespace, steps: int, fit_cfg: FitConfig,
         core: CompressionCore, wall: float) -> None:  # fmt: skip
    from benchmarks.make_docs import write_result

    kw = {k: v for k, v in kwargs.items() if k != "cache_dir"}
    n2n_notes = [
        f"N2N seed {s}: final {r['student_params']} params ({r['compression']:.2f}x, stage {r['student_stage']}, "
        f"meets the >= 10x constraint: {r['student_meets_constraints']}), test {r['student_test_acc']:.4f}; best "
        f"unconstrained {r.get('unconstrained_params')} params, test {r.get('unconstrained_test_acc', float('nan')):.4f}"
        for s, r in enumerate(n2n)
    ]  # fmt: skip
    path = write_result(
        out, f"N2N yardstick: equal-parameter baselines (ResNet-34 w{core.cfg.width}, digits, "
        f"{len(core.y_train)} training images)", rows, seeds=list(range(args.seeds)),
        budgets={"n2n_rollouts": steps, "finetune_epochs": fit_cfg.epochs, "random_samples": args.random_samples,
                 "budget_multiples": args.budgets, "env_kwargs": kw},
        command="python -m benchmarks.n2n_yardstick " + " ".join(sys.argv[1:]),
        description="Test accuracy after the same fine-tune (CE + KD, Adam + cosine) for every student; same "
        "teacher and split. Rows: method, budget (target params), params (mean), test_acc_mean, test_acc_std "
        "(sample s.d. over seeds), seeds.",
        notes=[*n2n_notes, f"Wall time {wall / 60:.1f} min on the shared 2-core CPU (other jobs running)."],
    )  # fmt: skip
    print(f"wrote {path}")


def figure(rows: list[dict[str, Any]], n2n: list[dict], core: CompressionCore, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, marker in (("uniform width", "o"), ("L1 pruning + fine-tune", "s"), ("random search", "^")):
        pts = sorted(
            (r["params"], r["test_acc_mean"], r["test_acc_std"]) for r in rows if r["method"] == method
        )
        if pts:
            x, y, e = zip(*pts, strict=True)
            ax.errorbar(x, y, yerr=e, marker=marker, capsize=3, label=method)
    ax.scatter([r["student_params"] for r in n2n], [r["student_test_acc"] for r in n2n], marker="*", s=160,
               color="k", zorder=5, label="N2N final students (per seed)")  # fmt: skip
    unc = [r for r in n2n if "unconstrained_params" in r]
    if unc:
        ax.scatter([r["unconstrained_params"] for r in unc], [r["unconstrained_test_acc"] for r in unc],
                   marker="x", s=70, color="tab:red", zorder=5, label="N2N best unconstrained")  # fmt: skip
    ax.axhline(
        core.teacher_test_acc, ls="--", color="grey", label=f"teacher ({core.teacher_params:,} params)"
    )
    ax.set_xscale("log")
    ax.set_xlabel("student parameters")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"N2N yardstick, digits ({len(core.y_train)} training images)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
