"""N2N student evaluations per minute on this machine: serial, local process pool, Ray with 1 and 2 workers.

    python -m benchmarks.scale_out                 # CPU default N2N setting (ResNet-18, digits 16x16, width 1/8)
    python -m benchmarks.scale_out --quick         # tiny setting, mechanics only

The same ``--students`` random ResNet-18 removal students (fixed seed) are trained by every pool through
``pool.train`` (no reward cache in between), twice: a cold round (workers start, each builds the core:
data, teacher from the cache, teacher logits) and a warm round, whose throughput is the result. Ray runs
as a private local instance on 127.0.0.1 (``RayPool(address=None)``). Per-student dispatch overhead of
Ray: (warm Ray-1-worker time − warm serial time) / students, and the round trip of an empty Ray task.

Prints students/min and the ratio to serial measured in the same run; writes
``docs/results/scale_out.json`` (``--out``). docs/scaling.md turns these numbers into a model for N nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

CPU = dict(
    width=0.125,
    image_size=16,
    image_channels=1,
    teacher_epochs=20,
    student_epochs=3,
    student_lr=1e-3,
    batch_size=64,
    min_outputs=4,
)
QUICK = dict(
    width=0.0625,
    image_size=8,
    image_channels=1,
    teacher_epochs=3,
    student_epochs=1,
    train_subset=300,
    val_subset=150,
    batch_size=64,
    min_outputs=2,
)


def _specs(env: Any, n: int, seed: int) -> list:
    """``n`` distinct non-degenerate removal students (keep each free layer with p = 0.7)."""
    rng = np.random.default_rng(seed)
    specs, seen = [], set()
    while len(specs) < n:
        action = (rng.random(env.num_layers) < 0.7).astype(np.int8)
        spec = env.student_spec(action)
        pre = env.core.precheck(spec, env.parent_params)
        key = json.dumps(spec, sort_keys=True)
        if not pre["degenerate"] and key not in seen:
            seen.add(key)
            specs.append(spec)
    return specs


def _time_pool(pool: Any, specs: list) -> tuple[float, float, list[float]]:
    """(cold seconds, warm seconds, warm accuracies) of ``pool`` training ``specs`` twice."""
    start = time.perf_counter()
    pool.train(specs)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    warm_results = pool.train(specs)
    warm = time.perf_counter() - start
    return cold, warm, [r["val_acc"] for r in warm_results]


def _ray_task_round_trip(repeats: int = 50) -> float:
    """Mean seconds of ``ray.get(noop.remote())`` on the running Ray (warm worker)."""
    import ray

    noop = ray.remote(num_cpus=1)(lambda: None)
    ray.get(noop.remote())
    start = time.perf_counter()
    for _ in range(repeats):
        ray.get(noop.remote())
    return (time.perf_counter() - start) / repeats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny setting (mechanics only)")
    parser.add_argument("--students", type=int, default=8, help="students per round")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random students")
    parser.add_argument("--out", default="docs/results/scale_out.json")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import gymnasium as gym
    import torch

    import envs  # noqa: F401 - registers the ids
    from envs.compression.pool import LocalPool, RayPool, SerialPool

    torch.set_num_threads(1)
    kwargs = QUICK if args.quick else CPU
    env = gym.make("pgsuite/N2NRemoval-ResNet18-v0", **kwargs).unwrapped  # trains/loads the teacher
    specs = _specs(env, args.students, args.seed)
    cfg = env.cfg
    modes: list[tuple[str, Any]] = [
        ("serial", lambda: SerialPool(cfg)),
        ("local pool, 2 processes", lambda: LocalPool(cfg, workers=2)),
    ]
    if not args.no_ray:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("Ray is not installed (pip install -e '.[ray]'): Ray rows skipped", file=sys.stderr)
        else:
            modes += [
                ("Ray, 1 worker", lambda: RayPool(cfg, address=None, workers=1)),
                ("Ray, 2 workers", lambda: RayPool(cfg, address=None, workers=2)),
            ]
    rows: list[dict[str, Any]] = []
    reference: list[float] | None = None
    round_trip = None
    for name, make in modes:
        start = time.perf_counter()
        pool = make()
        startup = time.perf_counter() - start
        try:
            cold, warm, accs = _time_pool(pool, specs)
            if name == "Ray, 1 worker":
                round_trip = _ray_task_round_trip()
        finally:
            pool.close()
        reference = reference or accs
        rows.append(
            {
                "mode": name,
                "startup_s": startup,
                "cold_s": cold,
                "warm_s": warm,
                "students_per_min": 60.0 * len(specs) / warm,
                "same_accuracies_as_serial": accs == reference,
            }
        )
        print(
            f"{name:26s} {rows[-1]['students_per_min']:6.1f} students/min (warm {warm:6.1f} s, cold {cold:6.1f} s, "
            f"start-up {startup:5.1f} s)",
            flush=True,
        )
    serial = rows[0]["students_per_min"]
    for row in rows:
        row["ratio_vs_serial"] = row["students_per_min"] / serial
    by_mode = {r["mode"]: r for r in rows}
    overhead = None
    if "Ray, 1 worker" in by_mode:
        overhead = (by_mode["Ray, 1 worker"]["warm_s"] - rows[0]["warm_s"]) / len(specs)
    print("\nmode                       students/min   ratio vs serial   same accuracies")
    for r in rows:
        print(
            f"{r['mode']:26s} {r['students_per_min']:12.1f} {r['ratio_vs_serial']:17.2f}   "
            f"{r['same_accuracies_as_serial']}"
        )
    seconds_per_student = rows[0]["warm_s"] / len(specs)
    print(f"\nserial seconds per student: {seconds_per_student:.2f}")
    if overhead is not None:
        print(
            f"Ray dispatch overhead per student: {overhead:+.3f} s (Ray 1 worker − serial, warm); "
            f"empty-task round trip {round_trip * 1e3:.1f} ms"
        )
    result = {
        "protocol": {
            "setting": "quick" if args.quick else "cpu",
            "env_kwargs": kwargs,
            "teacher": "resnet18",
            "students": len(specs),
            "student_seed": args.seed,
            "rounds": "cold then warm; warm is reported",
            "torch_threads_per_process": 1,
            "machine": f"{os.cpu_count()}-core CPU, shared ({platform.machine()})",
            "ray": "private local instance on 127.0.0.1, 1 CPU per student task",
        },
        "rows": rows,
        "serial_seconds_per_student": seconds_per_student,
        "ray_dispatch_overhead_s": overhead,
        "ray_empty_task_round_trip_s": round_trip,
        "command": "python -m benchmarks.scale_out" + (" " + " ".join(argv or sys.argv[1:])).rstrip(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
