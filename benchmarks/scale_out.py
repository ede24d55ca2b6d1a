"""N2N student evaluations per minute on this machine: serial, local process pool, Ray with 1 and 2 workers.

    python -m benchmarks.scale_out            # CPU default N2N setting (ResNet-18, digits 16x16, width 1/8)
    python -m benchmarks.scale_out --quick         # tiny setting, mechanics only

The same ``--students`` random ResNet-18 removal students (fixed seed) are trained by every pool through
``pool.train`` (no reward cache in between): one cold round per pool (workers start, each builds the core:
data, teacher from the cache, teacher logits), then ``--rounds`` warm rounds with the pools interleaved so
that load drifts of a shared machine hit every pool alike. Both Ray modes use one private 2-CPU Ray on
127.0.0.1 (``RayPool(address=None)``); "1 worker" reserves 2 CPUs per student task. Per-student dispatch
overhead of Ray: (Ray-1-worker − serial) / students per round, and the round trip of an empty Ray task.

Prints students/min (median warm round) and the ratio to serial (median of per-round ratios, same run);
writes ``docs/results/scale_out.json`` (``--out``). docs/scaling.md turns these numbers into a model for
N nodes.
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

from benchmarks.n2n_settings import CPU, QUICK


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


def _timed(pool: Any, specs: list) -> tuple[float, list[float]]:
    """(seconds, accuracies) of ``pool`` training ``specs``."""
    start = time.perf_counter()
    results = pool.train(specs)
    return time.perf_counter() - start, [r["val_acc"] for r in results]


def _ray_task_round_trip(repeats: int = 50) -> float:
    """Mean seconds of ``ray.get(noop.remote())`` on the running Ray (warm worker)."""
    import ray

    noop = ray.remote(num_cpus=1)(lambda: None)
    ray.get(noop.remote())
    start = time.perf_counter()
    for _ in range(repeats):
        ray.get(noop.remote())
    return (time.perf_counter() - start) / repeats


def _scheduler_facts() -> dict[str, Any]:
    """Whether Linux's autogroup scheduler splits the CPUs between sessions (then a session's processes
    share one session's slice, however many there are) and how many sessions had Python processes."""
    facts: dict[str, Any] = {}
    try:
        facts["sched_autogroup_enabled"] = (
            Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
        )
        groups = set()
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    if (proc / "comm").read_text().startswith("python"):
                        groups.add((proc / "autogroup").read_text().split()[0])
                except OSError:
                    continue
        facts["autogroups_with_python_processes"] = len(groups)
    except OSError:
        pass
    return facts


def _pools(cfg: Any, with_ray: bool) -> tuple[dict[str, Any], dict[str, float]]:
    """The pools by mode name, and their start-up seconds. Both Ray modes share one private 2-CPU Ray:
    "1 worker" reserves both CPUs per student task (one at a time), "2 workers" one CPU each."""
    from envs.compression.pool import LocalPool, RayPool, SerialPool

    makers: list[tuple[str, Any]] = [
        ("serial", lambda: SerialPool(cfg)),
        ("local pool, 2 processes", lambda: LocalPool(cfg, workers=2)),
    ]
    if with_ray:
        makers += [
            ("Ray, 2 workers", lambda: RayPool(cfg, address=None, workers=2)),  # starts Ray, 2 CPUs
            ("Ray, 1 worker", lambda: RayPool(cfg, address=None, workers=2, num_cpus=2.0)),
        ]
    pools, startup = {}, {}
    for name, make in makers:
        start = time.perf_counter()
        pools[name] = make()
        startup[name] = time.perf_counter() - start
    return pools, startup


def _ray_version() -> str | None:
    try:
        import ray
    except ImportError:
        return None
    return ray.__version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny setting (mechanics only)")
    parser.add_argument("--students", type=int, default=6, help="students per round")
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds (modes interleaved)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random students")
    parser.add_argument("--out", default="docs/results/scale_out.json")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import gymnasium as gym
    import torch

    import envs  # noqa: F401 - registers the ids

    torch.set_num_threads(1)
    kwargs = QUICK if args.quick else CPU
    env = gym.make("pgsuite/N2NRemoval-ResNet18-v0", **kwargs).unwrapped  # trains/loads the teacher
    specs = _specs(env, args.students, args.seed)
    with_ray = not args.no_ray
    try:
        import ray
    except ImportError:
        print("Ray is not installed (pip install -e '.[ray]'): Ray rows skipped", file=sys.stderr)
        with_ray = False
    pools, startup = _pools(env.cfg, with_ray)
    cold: dict[str, float] = {}
    warm: dict[str, list[float]] = {name: [] for name in pools}
    same: dict[str, bool] = {}
    reference: list[float] | None = None
    round_trip = None
    try:
        for name, pool in pools.items():  # cold: workers start and build the core
            cold[name], accs = _timed(pool, specs)
            reference = reference or accs
            same[name] = accs == reference
        for r in range(args.rounds):  # warm rounds, modes interleaved: load drifts hit every mode alike
            for name, pool in pools.items():
                seconds, accs = _timed(pool, specs)
                warm[name].append(seconds)
                same[name] = same[name] and accs == reference
            print(f"round {r + 1}: " + ", ".join(f"{n} {w[-1]:.1f} s" for n, w in warm.items()), flush=True)
        if with_ray:
            round_trip = _ray_task_round_trip()
    finally:
        for pool in pools.values():
            pool.close()
        if with_ray and ray.is_initialized():
            ray.shutdown()
    rows = []
    for name in pools:
        ratios = [w0 / w for w0, w in zip(warm["serial"], warm[name], strict=True)]
        rows.append(
            {
                "mode": name,
                "startup_s": startup[name],
                "cold_s": cold[name],
                "warm_s": warm[name],
                "students_per_min": 60.0 * len(specs) / float(np.median(warm[name])),
                "ratio_vs_serial": float(np.median(ratios)),
                "ratio_per_round": ratios,
                "same_accuracies_as_serial": same[name],
            }
        )
    print("\nmode                       students/min   ratio vs serial (median, per round)   same accuracies")
    for row in rows:
        per_round = ", ".join(f"{x:.2f}" for x in row["ratio_per_round"])
        print(
            f"{row['mode']:26s} {row['students_per_min']:12.1f} {row['ratio_vs_serial']:10.2f} ({per_round})"
            f"   {row['same_accuracies_as_serial']}"
        )
    seconds_per_student = float(np.median(warm["serial"])) / len(specs)
    overhead = None
    if "Ray, 1 worker" in warm:
        overhead = float(
            np.median(
                [(a - b) / len(specs) for a, b in zip(warm["Ray, 1 worker"], warm["serial"], strict=True)]
            )
        )
        print(
            f"\nserial seconds per student: {seconds_per_student:.2f}; Ray dispatch overhead per student: "
            f"{overhead:+.3f} s (Ray 1 worker − serial, median of rounds); empty-task round trip "
            f"{round_trip * 1e3:.1f} ms"
        )
    result = {
        "title": "Scale-out: N2N student evaluations per minute (serial, local processes, Ray)",
        "protocol": {
            "seeds": [args.seed],
            "budgets": f"{len(specs)} students per mode, {args.rounds} warm rounds",
            "versions": {"torch": torch.__version__, "ray": _ray_version()},
            "setting": "quick" if args.quick else "cpu",
            "env_kwargs": kwargs,
            "teacher": "resnet18",
            "students": len(specs),
            "student_seed": args.seed,
            "warm_rounds": args.rounds,
            "rounds": "one cold round per mode, then warm rounds, modes interleaved; medians",
            "torch_threads_per_process": 1,
            "machine": f"{os.cpu_count()}-core CPU shared with other jobs ({platform.machine()})",
            "ray": "one private local Ray, 2 CPUs, on 127.0.0.1; 1 worker = 2 CPUs reserved per task",
            "load_average_at_end": os.getloadavg()[0],
            **_scheduler_facts(),
        },
        "rows": rows,
        "notes": [
            f"serial seconds per student {seconds_per_student:.2f}; Ray dispatch overhead per student "
            f"{overhead:+.3f} s; empty-task round trip {round_trip * 1e3:.1f} ms",
            "docs/scaling.md turns these into a model for N nodes (a model, not a claim).",
        ],
        "serial_seconds_per_student": seconds_per_student,
        "ray_dispatch_overhead_s": overhead,
        "ray_empty_task_round_trip_s": round_trip,
        "command": "python -m benchmarks.scale_out" + (" " + " ".join(argv or sys.argv[1:])).rstrip(),
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
