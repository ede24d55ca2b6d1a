"""MENTOR vs DrQ-v2 on pixels at the paper's settings, Meta-World hammer / assembly / door-open (issue 16).

The prepared GPU comparison: ``agent=mentor`` with its Meta-World preset (MENTOR's camera, Dropout+LayerNorm
critic, annealed n-step, sparse MoE) against ``agent=drqv2`` on the same observations (MENTOR's camera, as
the paper's baselines ran on its wrapper), 84 px, frame stack 3, action repeat 2, full-size networks,
``budget=paper`` except the number of frames (``--frames``) and the evaluation interval.

Usage (GPU machine; ``scripts/gpu_mentor.sh`` wraps it with a wall-clock limit and writes under ``$OUT``):
    python -m benchmarks.mentor_gpu --device cuda --frames 200000 --workers 18
CPU smoke of the whole pipeline (what the tests run):
    python -m benchmarks.mentor_gpu --device cpu --frames 120 --tasks hammer --seeds 1 --tiny

Each (agent, task, seed) is one ``python -m agents.train`` run under ``--runs``; finished runs are reused.
Reported per agent: final success (IQM over task×seed runs, 95 % bootstrap), and frames/s (env frames per
wall-clock second over the whole run, seed phase included, and the last logged ``charts/frames_per_s``).
Curves: ``docs/figures/mentor_gpu_curves.png``; results: ``docs/results/mentor_gpu.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.mentor import eval_curve, iqm_ci, plot_curves

ROOT = Path(__file__).resolve().parents[1]
AGENTS = {"mentor": ["agent=mentor"], "drqv2": ["agent=drqv2", "env.kwargs.camera=mentor"]}
#: Tiny networks for the CPU smoke (never for results).
TINY = [
    "agent.hidden_dim=32",
    "agent.feature_dim=16",
    "agent.batch_size=8",
    "agent.replay_capacity=2000",
    "agent.num_seed_steps=10",
    "agent.num_expl_steps=10",
    "agent.log_every=10",
]
TINY_MOE = ["agent.num_experts=4", "agent.top_k=2", "agent.moe_hidden_dim=8", "agent.moe_gate_dim=8"]


def command(agent: str, task: str, seed: int, args: argparse.Namespace, out: Path) -> list[str]:
    """The ``agents.train`` command line of one run."""
    steps = max(args.frames // 2, 1)  # action repeat 2
    eval_every = max(args.eval_frames // 2, 1)
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        f"env=metaworld-{task}",
        "budget=paper",
        "obs=pixels",
        f"seed={seed}",
        f"device={args.device}",
        f"run.root={out}",
        f"run.total_steps={steps}",
        f"run.eval_every={min(eval_every, steps)}",
        f"run.checkpoint_every={steps}",
        f"eval.episodes={args.eval_episodes}",
        "run.progress=false",
        *AGENTS[agent],
    ]
    if args.tiny:
        cmd += TINY + (TINY_MOE if agent == "mentor" else []) + ["env.kwargs.horizon=20"]
    return cmd


def run_one(agent: str, task: str, seed: int, args: argparse.Namespace) -> dict:
    """One run (or the finished one under ``--runs``): eval curve, wall time, frames/s.

    With ``--max-minutes`` a run still going at the limit is stopped; what it evaluated and logged so far
    is kept and the row is marked ``partial``."""
    out = Path(args.runs) / f"{agent}_{task}_{seed}"
    done = out / "wall_s.txt"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads)}
        start = time.perf_counter()
        cmd = command(agent, task, seed, args, out)
        limit = 60.0 * args.max_minutes if args.max_minutes else None
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            (out / "partial").touch()
        else:
            (out / "log.txt").write_text(proc.stdout[-20000:] + proc.stderr[-20000:])
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        done.write_text(f"{time.perf_counter() - start:.1f}")
    wall = float(done.read_text())
    points = eval_curve(out)
    logs = [r for p in out.rglob("metrics.csv") for r in csv.DictReader(p.open())]
    logged = [float(r["charts/frames_per_s"]) for r in logs if r.get("charts/frames_per_s")]
    steps = max([int(r["step"]) for r in logs] + [p[0] for p in points] + [0])
    return {
        "variant": agent,
        "task": task,
        "seed": seed,
        "curve": points or [(0, 0.0, 0.0)],
        "wall_s": wall,
        "frames": 2 * steps,
        "partial": (out / "partial").exists(),
        "frames_per_s_wall": 2 * steps / wall if wall > 0 else 0.0,
        "frames_per_s_logged": logged[-1] if logged else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tasks", default="hammer,assembly,door-open")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--agents", default="mentor,drqv2")
    parser.add_argument("--frames", type=int, default=200_000, help="env frames per run (2 per env step)")
    parser.add_argument("--eval-frames", type=int, default=20_000, help="frames between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=6, help="runs in parallel")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop each run after this long")
    parser.add_argument("--tiny", action="store_true", help="tiny networks and episodes (CPU smoke only)")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "benchmarks" / "mentor_gpu"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "mentor_gpu.json"))
    parser.add_argument("--figures", default=str(ROOT / "docs" / "figures"), help="'' to skip the plot")
    args = parser.parse_args(argv)
    agents, tasks = args.agents.split(","), args.tasks.split(",")
    if set(agents) - set(AGENTS):
        parser.error(f"unknown agents {sorted(set(agents) - set(AGENTS))}; choose from {', '.join(AGENTS)}")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error(
                "--device cuda but torch sees no GPU; use --device cpu (with --tiny for a smoke run)"
            )
        print(f"GPU: {torch.cuda.get_device_name(0)}", flush=True)
    jobs = [(a, t, s) for s in range(args.seeds) for t in tasks for a in agents]
    start = time.perf_counter()
    with ThreadPoolExecutor(max(1, args.workers)) as pool:
        runs = list(pool.map(lambda job: run_one(*job, args), jobs))
    for r in runs:
        print(
            f"{r['variant']:>7} {r['task']:>10} seed {r['seed']}: success {r['curve'][-1][1]:.2f} "
            f"return {r['curve'][-1][2]:8.1f}, {r['frames_per_s_wall']:.1f} frames/s",
            flush=True,
        )
    rows = []
    for agent in agents:
        mine = [r for r in runs if r["variant"] == agent]
        s_iqm, s_lo, s_hi = iqm_ci([r["curve"][-1][1] for r in mine])
        logged = [r["frames_per_s_logged"] for r in mine if r["frames_per_s_logged"] is not None]
        rows.append(
            {
                "agent": agent,
                "runs": len(mine),
                "partial_runs": sum(r["partial"] for r in mine),
                "frames_mean": float(np.mean([r["frames"] for r in mine])),
                "success_iqm": s_iqm,
                "success_ci": f"[{s_lo:.2f}, {s_hi:.2f}]",
                "return_mean": float(np.mean([r["curve"][-1][2] for r in mine])),
                "frames_per_s_wall": float(np.mean([r["frames_per_s_wall"] for r in mine])),
                "frames_per_s_logged": float(np.mean(logged)) if logged else None,
            }
        )
        print(rows[-1], flush=True)
    from benchmarks.make_docs import write_result

    raw = Path(args.out).parent / "raw" / f"{Path(args.out).stem}_curves.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(runs, indent=1))
    path = write_result(
        args.out,
        "MENTOR vs DrQ-v2 on pixels (Meta-World, paper settings)",
        rows,
        seeds=list(range(args.seeds)),
        budgets={
            "frames": args.frames,
            "eval_frames": args.eval_frames,
            "eval_episodes": args.eval_episodes,
            "workers": args.workers,
            "tiny": args.tiny,
            "wall_s": time.perf_counter() - start,
        },
        tasks=tasks,
        device=args.device,
        raw=f"results/raw/{raw.name}",
        command="python -m benchmarks.mentor_gpu " + " ".join(argv if argv is not None else sys.argv[1:]),
        notes="Final-eval success; IQM over task×seed runs, 95% bootstrap. Runs in parallel share the "
        "machine.",
    )
    print(f"wrote {path}")
    if args.figures:
        name = "mentor_gpu_curves.png" if args.device.startswith("cuda") else "mentor_gpu_smoke_curves.png"
        plotted = plot_curves(runs, agents, tasks, Path(args.figures), name, f"Pixels, {args.device}")
        print(f"wrote {plotted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
