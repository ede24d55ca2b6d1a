"""N2N search benchmarks: RL vs random search, and policy transfer ResNet-18 → ResNet-34.

    python -m benchmarks.n2n_search                       # CPU default settings (digits 16x16, width 1/8)
    python -m benchmarks.n2n_search --quick               # tiny settings, mechanics only (minutes)
    python -m benchmarks.n2n_search --part transfer       # only the policy transfer (3 seeds)

1. **RL vs random search** at an equal number of student evaluations (rollouts), 3 seeds: the N2N learner
   (REINFORCE, both stages) against random search over the same action spaces (uniform keep/remove per
   free layer, then uniform ratio indices on the best random stage-1 student). Prints best reward, its
   compression and accuracy ratio (validation, search-time KD) for each, and the ratio RL / random.
2. **Policy transfer** (``--part transfer``, benchmarks/n2n_transfer.py), per seed: ResNet-34 stage-1
   search from scratch vs started from a ResNet-18 removal policy trained first (``init_from``): final best
   rewards and the updates needed to reach the scratch run's final best reward (``n2n_transfer.json``).

Both arms share one reward cache per process, so a random arm is charged for every rollout it samples.
Results go to ``docs/results/n2n_search.json`` (``--out``; rendered by ``benchmarks.make_docs``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.n2n.learner import N2NConfig, N2NLearner
from benchmarks import n2n_transfer
from benchmarks.n2n_settings import CPU, QUICK
from envs.compression import env_id


def factory(arch: str, kwargs: dict[str, Any]) -> EnvFactory:
    return EnvFactory(EnvConfig(name=f"n2n-{arch}", id=env_id("removal", arch), kwargs=kwargs))


def run_rl(
    fac: EnvFactory, seed: int, it1: int, it2: int, m: int, workers: int, init_from: str | None = None
):
    torch.manual_seed(seed)
    cfg = N2NConfig(
        stage1_iterations=it1, stage2_iterations=it2, rollouts=m, workers=workers, init_from=init_from
    )
    learner = N2NLearner(cfg, fac, seed=seed)
    curve = [m_["train/best_reward"] for m_ in learner.train_until((it1 + it2) * m)]
    best = learner._best()
    return learner, curve, best


def run_random(fac: EnvFactory, seed: int, it1: int, it2: int, m: int, pool: Any) -> dict[str, float]:
    """Uniform random actions, same stage split and rollout count as the RL arm."""
    rng = np.random.default_rng(seed)
    env = fac.make(seed=seed).unwrapped
    best: tuple[float, dict[str, Any], Any] = (-np.inf, {}, None)
    stage1_best = None
    for _ in range(it1):
        acts = [
            np.where(env.free_mask, rng.integers(0, 2, env.num_layers), 1).astype(np.int8) for _ in range(m)
        ]
        for a, (r, info) in zip(acts, env.evaluate_actions(acts, pool), strict=True):
            if r > best[0]:
                best = (r, info, env.student_spec(a))
        stage1_best = best[2]
    shrink_cfg = dataclasses.replace(
        fac.cfg, id=env_id("shrink", env.core.cfg.teacher), kwargs={**fac.cfg.kwargs, "parent": stage1_best}
    )
    shrink = EnvFactory(shrink_cfg).make().unwrapped
    for _ in range(it2):
        acts = [rng.integers(0, 11, shrink.action_space.shape).astype(np.int64) for _ in range(m)]
        for r, info in shrink.evaluate_actions(acts, pool):
            if r > best[0]:
                best = (r, info, None)
    return {"reward": best[0], "compression": best[1]["compression"], "acc_ratio": best[1]["acc_ratio"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the benchmark (``--part`` picks RL-vs-random, transfer, or both)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings (mechanics only)")
    parser.add_argument(
        "--part",
        choices=("random", "transfer", "all"),
        default="all",
        help="random: RL vs random search; transfer: ResNet-18 -> ResNet-34 policy transfer; all: both",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (both parts)")
    parser.add_argument("--seed-list", type=int, nargs="+", default=None, help="explicit seeds instead")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-dir", default=None, help="teacher cache (default: a temporary folder)")
    results = Path(__file__).resolve().parents[1] / "docs/results"
    parser.add_argument("--out", default=str(results / "n2n_search.json"))
    parser.add_argument("--transfer-out", default=str(results / "n2n_transfer.json"))
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    args.seed_list = args.seed_list if args.seed_list is not None else list(range(args.seeds))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    it1, it2, m = (2, 2, 3) if args.quick else (15, 15, 5)
    with TemporaryDirectory() as tmp:
        kwargs = {
            **(QUICK if args.quick else CPU),
            "cache_dir": args.cache_dir or str(Path(tmp) / "teachers"),
        }
        fac34 = factory("resnet34", kwargs)
        print(
            f"N2N search benchmark ({args.part}): {it1}+{it2} updates x {m} rollouts, seeds "
            f"{args.seed_list}, kwargs={kwargs}"
        )
        if args.part in ("random", "all"):
            rl_vs_random(args, fac34, kwargs, it1, it2, m)
        if args.part in ("transfer", "all"):
            transfer(args, factory("resnet18", kwargs), fac34, kwargs, it1, m, Path(tmp))


def rl_vs_random(
    args: argparse.Namespace, fac34: EnvFactory, kwargs: dict, it1: int, it2: int, m: int
) -> None:
    """Part 1: REINFORCE vs random search, equal student evaluations, per seed."""
    rows, walls = [], []
    for seed in args.seed_list:
        t0 = time.perf_counter()
        learner, _, best = run_rl(fac34, seed, it1, it2, m, args.workers)
        rl = {
            "reward": best.reward,
            "compression": best.compression,
            "acc_ratio": best.val_acc / learner.core.teacher_val_acc,
        }
        t1 = time.perf_counter()
        rand = run_random(fac34, seed, it1, it2, m, learner._pool_for_updates())
        learner.close()
        rows.append((rl, rand))
        walls.append((t1 - t0, time.perf_counter() - t1))
        print(f"seed {seed}: RL {rl} [{t1 - t0:.0f}s] | random {rand} [{time.perf_counter() - t1:.0f}s]")
    print("\n| method | best reward (mean ± std) | compression | val acc ratio |\n|---|---:|---:|---:|")
    for k, label in ((0, "REINFORCE (N2N)"), (1, "random search")):
        r = np.array([row[k]["reward"] for row in rows])
        c = np.mean([row[k]["compression"] for row in rows])
        a = np.mean([row[k]["acc_ratio"] for row in rows])
        print(f"| {label} | {r.mean():.4f} ± {r.std():.4f} | {c:.2f}x | {a:.4f} |")
    ratio = np.mean([row[0]["reward"] for row in rows]) / np.mean([row[1]["reward"] for row in rows])
    print(f"\nRL / random mean best reward: {ratio:.3f}")
    if not args.quick:
        save(args.out, rows, walls, kwargs, it1, it2, m, args.seed_list)


def transfer(
    args: argparse.Namespace, fac18: EnvFactory, fac34: EnvFactory, kwargs: dict, it1: int, m: int, tmp: Path
) -> None:
    """Part 2: ResNet-18 -> ResNet-34 removal-policy transfer per seed (benchmarks/n2n_transfer.py).

    The result file is rewritten after every seed (a cut run keeps what it finished)."""
    rows, curves = [], {}
    for seed in args.seed_list:
        row, curves[seed] = n2n_transfer.run_seed(seed, fac18, fac34, it1, m, args.workers, tmp)
        rows.append(row)
        print(f"transfer seed {seed}: {row}", flush=True)
        if not args.quick:
            print(f"wrote {n2n_transfer.save(args.transfer_out, rows, curves, kwargs, it1, m)}", flush=True)
    summary = n2n_transfer.summary_row(rows)
    print("\n| " + " | ".join(n2n_transfer.COLUMNS) + " |\n|" + "---|" * len(n2n_transfer.COLUMNS))
    for row in [*rows, summary]:
        print("| " + " | ".join(str(row[c]) for c in n2n_transfer.COLUMNS) + " |")


def save(
    out: str,
    rows: list,
    walls: list,
    kwargs: dict,
    it1: int,
    it2: int,
    m: int,
    seeds: list[int],
) -> None:
    """Per-seed rows and mean rows in the ``benchmarks.make_docs`` schema."""
    from benchmarks.make_docs import write_result

    table = []
    for k, label in ((0, "REINFORCE (N2N)"), (1, "random search")):
        for i, (seed, row) in enumerate(zip(seeds, rows, strict=True)):
            table.append(
                {
                    "method": label,
                    "seed": seed,
                    **{f"best {key}": row[k][key] for key in row[k]},
                    "wall s": walls[i][k],
                }
            )
        table.append(
            {
                "method": label,
                "seed": "mean",
                **{f"best {key}": float(np.mean([row[k][key] for row in rows])) for key in rows[0][k]},
                "wall s": float(np.mean([w[k] for w in walls])),
            }
        )
    kwargs = {k: v for k, v in kwargs.items() if k != "cache_dir"}
    path = write_result(
        out,
        "N2N: RL search vs random search (ResNet-34, digits)",
        table,
        seeds=seeds,
        budgets={
            "stage1_updates": it1,
            "stage2_updates": it2,
            "rollouts_per_update": m,
            "student_evaluations_per_arm": (it1 + it2) * m,
            "env_kwargs": kwargs,
        },
        command="python -m benchmarks.n2n_search " + " ".join(sys.argv[1:]),
        description="Equal number of student evaluations per arm; reward R = C(2-C)·A_s/A_t on the "
        "validation "
        "split with search-time KD (before the final fine-tune).",
        notes=[
            "Policy transfer ResNet-18 → ResNet-34: its own table (`--part transfer`, n2n_transfer.json).",
            "Shared 2-core CPU (other benchmarks ran at the same time); wall times are inflated.",
        ],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
