"""State-based MENTOR vs DrQ-v2-state vs SB3 SAC on Meta-World, plus the backbone / perturbation ablations.

Usage (full protocol of issue 7; hours on CPU):
    python -m benchmarks.mentor --tasks reach,drawer-open,button-press --seeds 3 --steps 100000
Tiny check (what fits a shared 2-core CPU in minutes):
    python -m benchmarks.mentor --tasks reach --seeds 2 --steps 3000 --small --variants mentor,drqv2

Each (variant, task, seed) is one ``python -m agents.train`` run (``obs=state``, fast rendering, eval every
``--eval-every`` steps) kept under ``--runs`` (default ``runs/benchmarks/mentor``); finished runs are reused,
so
an interrupted benchmark continues where it stopped (``--fresh`` starts over), and ``--workers`` runs go in
parallel. Learning curves (IQM over seeds, per task and over all tasks, with 95 % bootstrap bands) are drawn
for success and return into ``docs/figures/mentor_curves.png``. The table reports the last evaluation's
success rate and return: IQM over
task×seed runs with a 95 % percentile-bootstrap interval, and the ratio of mean success to DrQ-v2's measured
in the same run. ``--small`` shrinks the networks of MENTOR and DrQ-v2 alike (hidden 256, experts 16×64).
Results go to ``docs/results/mentor.json`` (``benchmarks.make_docs``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "mentor": ["agent=mentor"],
    "drqv2": ["agent=drqv2"],
    "sac": ["agent=sb3-sac"],
    "mentor-mlp": ["agent=mentor", "agent.backbone=mlp"],
    "mentor-perturb-none": ["agent=mentor", "agent.perturb=none"],
    "mentor-perturb-random": ["agent=mentor", "agent.perturb=random"],
    # DrQ-v2's n = 3, γ = 0.99 instead of the Meta-World annealing (n ≈ 10, γ ≈ 0.97 this early in training)
    "mentor-nstep3": ["agent=mentor", "agent.nstep_anneal=false"],
    # DrQ-v2's scheduled std instead of σ = sigmoid(10(β − 0.2)) (≈ 0.12 while the dormant ratio β is ≈ 0)
    "mentor-std-schedule": ["agent=mentor", "agent.std_rule=schedule"],
    "mentor-no-exploit": ["agent=mentor", "agent.exploit=false"],  # no DrM expectile-V target
    "mentor-plain-critic": ["agent=mentor", "agent.critic_dropout=0"],  # DrQ-v2 critic on Meta-World
}
SMALL = ["agent.hidden_dim=256", "agent.batch_size=128"]
SMALL_MOE = ["agent.moe_hidden_dim=64", "agent.moe_gate_dim=64"]


def run_one(variant: str, task: str, seed: int, args: argparse.Namespace, root: Path) -> dict | None:
    """One training run through the CLI; returns its eval curve and wall time (None: skipped, unfinished)."""
    out = root / f"{variant}_{task}_{seed}"
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        f"env=metaworld-{task}",
        "obs=state",
        f"seed={seed}",
        f"run.root={out}",
        f"run.total_steps={args.steps}",
        f"run.eval_every={args.eval_every}",
        f"run.checkpoint_every={args.steps}",
        f"eval.episodes={args.eval_episodes}",
        "run.progress=false",
        "env.kwargs.fast_render=true",
        *VARIANTS[variant],
    ]
    if variant != "sac":
        cmd += [f"agent.num_seed_steps={args.seed_steps}", f"agent.num_expl_steps={args.seed_steps}"]
        if args.log_every:
            cmd.append(f"agent.log_every={args.log_every}")
        if args.small:
            cmd += SMALL + (SMALL_MOE if variant.startswith("mentor") else [])
    if variant.startswith("mentor") and args.perturb_interval:
        cmd.append(f"agent.perturb_interval={args.perturb_interval}")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = out / "wall_s.txt"
    if done.exists():
        start -= float(done.read_text())
    elif args.only_finished:
        return None
    else:
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        done.write_text(f"{time.perf_counter() - start:.1f}")
    points = eval_curve(out)
    return {
        "variant": variant,
        "task": task,
        "seed": seed,
        "curve": points,
        "wall_s": time.perf_counter() - start,
    }


def iqm_ci(values: list[float], reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Interquartile mean and a 95 % percentile-bootstrap interval over runs."""

    def iqm(x: np.ndarray) -> float:
        x = np.sort(x)
        lo, hi = int(np.floor(0.25 * len(x))), int(np.ceil(0.75 * len(x)))
        return float(x[lo:hi].mean()) if hi > lo else float(x.mean())

    x = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    boots = [iqm(rng.choice(x, len(x))) for _ in range(reps)]
    return iqm(x), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def progress(root: Path) -> list[dict]:
    """Every run under ``root``, finished or not: its logged updates, dormant ratio β, exploration σ and
    updates/s at each ``metrics.csv`` row, and its evaluations (for runs a time budget cut short)."""
    import csv

    out = []
    for run in sorted(p for p in root.iterdir() if p.is_dir()):
        logs = [r for f in run.rglob("metrics.csv") for r in csv.DictReader(f.open())]
        evals: dict[int, list] = {}
        for f in run.rglob("eval.jsonl"):
            for line in f.read_text().splitlines():
                e = json.loads(line)
                evals.setdefault(int(e["step"]), []).append(
                    (float(e.get("success", 0.0)), float(e["return"]))
                )

        def num(row: dict, key: str) -> float | None:
            return float(row[key]) if row.get(key) not in (None, "") else None

        trajectory = [
            {
                "step": int(r["step"]),
                "updates": num(r, "charts/updates"),
                "dormant_ratio": num(r, "charts/dormant_ratio"),
                "stddev": num(r, "charts/stddev"),
                "updates_per_s": num(r, "charts/updates_per_s"),
            }
            for r in logs
            if num(r, "charts/updates")
        ]
        out.append(
            {
                "run": run.name,
                "finished": (run / "wall_s.txt").exists(),
                "trajectory": trajectory,
                "evals": {
                    s: [float(np.mean(c)) for c in zip(*v, strict=True)] for s, v in sorted(evals.items())
                },
            }
        )
    return out


def eval_curve(out: Path) -> list[tuple[int, float, float]]:
    """(step, mean success, mean return) per evaluation, from every ``eval.jsonl`` under ``out``."""
    episodes = [json.loads(line) for p in out.rglob("eval.jsonl") for line in p.read_text().splitlines()]
    curve: dict[int, list] = {}
    for e in episodes:
        curve.setdefault(int(e["step"]), []).append((float(e.get("success", 0.0)), float(e["return"])))
    return [
        (s, float(np.mean([v[0] for v in vs])), float(np.mean([v[1] for v in vs])))
        for s, vs in sorted(curve.items())
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", default="reach,drawer-open,button-press")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per run (action repeat 2)")
    parser.add_argument("--eval-every", type=int, default=None, help="default: steps/5")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--seed-steps", type=int, default=2000, help="DrQ-v2/MENTOR seed + exploration steps")
    parser.add_argument(
        "--perturb-interval", type=int, default=None, help="updates (default: family constant)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--log-every", type=int, default=None, help="env steps between train metric rows")
    parser.add_argument("--small", action="store_true", help="smaller networks (CPU smoke of the protocol)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "mentor.json"))
    parser.add_argument("--runs", default=str(ROOT / "runs" / "benchmarks" / "mentor"), help="run folders")
    parser.add_argument("--fresh", action="store_true", help="discard finished runs under --runs first")
    parser.add_argument(
        "--only-finished", action="store_true", help="tabulate the finished runs under --runs; start none"
    )
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel (one thread each)")
    parser.add_argument(
        "--progress-out", default=None, help="write every run's logged β/σ/evals here; start none"
    )
    parser.add_argument("--figures", default=str(ROOT / "docs" / "figures"), help="'' to skip the plots")
    args = parser.parse_args(argv)
    args.eval_every = args.eval_every or max(args.steps // 5, 1)
    variants, tasks = args.variants.split(","), args.tasks.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    runs_root = Path(args.runs)
    if args.progress_out:
        from benchmarks.make_docs import write_result

        rows = progress(runs_root)
        path = write_result(
            args.progress_out,
            "MENTOR vs DrQ-v2 at the paper's network sizes (state, Meta-World): progress",
            rows,
            seeds=list(range(args.seeds)),
            budgets={"env_steps": args.steps, "seed_steps": args.seed_steps},
            tasks=tasks,
            command="python -m benchmarks.mentor " + " ".join(argv if argv is not None else sys.argv[1:]),
            notes="Per run: logged updates, dormant ratio, exploration std, updates/s; evals [success, "
            "return].",
        )
        print(f"wrote {path}")
        return 0
    if args.fresh:
        shutil.rmtree(runs_root, ignore_errors=True)
    jobs = [(v, t, s) for s in range(args.seeds) for t in tasks for v in variants]  # paired runs first

    def one(job: tuple[str, str, int]) -> dict | None:
        r = run_one(*job, args, runs_root)
        if r is None:
            return None
        print(
            f"{r['variant']:>22} {r['task']:>14} seed {r['seed']}: success {r['curve'][-1][1]:.2f} "
            f"return {r['curve'][-1][2]:8.1f} ({r['wall_s']:.0f} s)",
            flush=True,
        )
        return r

    with ThreadPoolExecutor(max(1, args.workers)) as pool:
        runs = [r for r in pool.map(one, jobs) if r is not None]
    variants = [v for v in variants if any(r["variant"] == v for r in runs)]
    rows = []
    base = [r["curve"][-1][1] for r in runs if r["variant"] == "drqv2"]
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant]
        succ, ret = [r["curve"][-1][1] for r in mine], [r["curve"][-1][2] for r in mine]
        s_iqm, s_lo, s_hi = iqm_ci(succ)
        r_iqm, r_lo, r_hi = iqm_ci(ret)
        rows.append(
            {
                "variant": variant,
                "runs": len(mine),
                "success_mean": float(np.mean(succ)),
                "success_iqm": s_iqm,
                "success_ci": f"[{s_lo:.2f}, {s_hi:.2f}]",
                "return_iqm": r_iqm,
                "return_ci": f"[{r_lo:.1f}, {r_hi:.1f}]",
                "success_vs_drqv2": float(np.mean(succ) - np.mean(base)) if base else None,
                "wall_s_per_run": float(np.mean([r["wall_s"] for r in mine])),
            }
        )
    print(
        "\n| variant | runs | success mean | success IQM [95% CI] | return IQM [95% CI] | Δ success vs "
        "DrQ-v2 | s/run |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        delta = "n/a" if r["success_vs_drqv2"] is None else f"{r['success_vs_drqv2']:+.2f}"
        print(
            f"| {r['variant']} | {r['runs']} | {r['success_mean']:.2f} | {r['success_iqm']:.2f} "
            f"{r['success_ci']} | "
            f"{r['return_iqm']:.1f} {r['return_ci']} | {delta} | {r['wall_s_per_run']:.0f} |"
        )
    try:
        from benchmarks.make_docs import write_result
    except ImportError:
        return 0
    raw_path = Path(args.out).parent / "raw" / f"{Path(args.out).stem}_curves.json"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(
        json.dumps([{k: r[k] for k in ("variant", "task", "seed", "curve")} for r in runs], indent=1)
    )
    path = write_result(
        args.out,
        "MENTOR vs DrQ-v2 vs SAC (state, Meta-World)",
        rows,
        seeds=list(range(args.seeds)),
        budgets={
            "env_steps": args.steps,
            "eval_every": args.eval_every,
            "eval_episodes": args.eval_episodes,
            "small_networks": args.small,
        },
        tasks=tasks,
        command="python -m benchmarks.mentor " + " ".join(argv if argv is not None else sys.argv[1:]),
        notes="Final-eval success/return; IQM over task×seed runs, 95% percentile bootstrap. Shared 2-core "
        "CPU.",
        raw=f"results/raw/{raw_path.name}",
    )
    print(f"wrote {path}")
    if args.figures:
        print(f"wrote {plot_curves(runs, variants, tasks, Path(args.figures))}")
    return 0


def plot_curves(
    runs: list[dict],
    variants: list[str],
    tasks: list[str],
    out: Path,
    name: str = "mentor_curves.png",
    title: str = "State-based Meta-World",
) -> Path:
    """Success and return curves, one panel per task (+ all tasks), one line per variant: IQM over the runs
    at each evaluation step with a 95 % percentile-bootstrap band (``iqm_ci``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [*tasks, "all tasks"] if len(tasks) > 1 else tasks
    fig, axes = plt.subplots(2, len(columns), figsize=(4.2 * len(columns), 6.4), squeeze=False)
    for col, task in enumerate(columns):
        for row, (index, label) in enumerate(((1, "success rate"), (2, "return"))):
            ax = axes[row][col]
            for variant in variants:
                mine = [r for r in runs if r["variant"] == variant and task in (r["task"], "all tasks")]
                steps = sorted({p[0] for r in mine for p in r["curve"]})
                points = [[p[index] for r in mine for p in r["curve"] if p[0] == s] for s in steps]
                stats = np.array([iqm_ci(v) for v in points]) if points else np.zeros((0, 3))
                if len(stats):
                    ax.plot(steps, stats[:, 0], marker="o", ms=3, label=f"{variant} (n={len(mine)})")
                    ax.fill_between(steps, stats[:, 1], stats[:, 2], alpha=0.15)
            ax.set_title(f"{task}: {label}", fontsize="medium")
            ax.set_xlabel("env steps")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize="x-small")
    fig.suptitle(f"{title}: IQM over seeds (and tasks) with 95% bootstrap bands")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
