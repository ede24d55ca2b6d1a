"""ICGNN vs WMMSE and classic baselines on the three wireless envs: `python -m benchmarks.wireless`.

Per env: train ICGNN (unsupervised, agents/conf/agent/icgnn.yaml defaults) on the env's training sizes,
then test on ≥ 1000 fresh networks at 1×, 2× and 4× the users/APs; print the sum SE of every method as a %
of WMMSE measured on the same networks, and the CPU wall-clock per network of ICGNN vs WMMSE (batched,
1 thread). First reproduces the sheet's WMMSE reference numbers (papers/wireless_icgnn.md Sec. 7.1).
Protocol and recorded results: docs/wireless.md.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.icgnn.unsupervised import (
    UnsupervisedConfig,
    UnsupervisedICGNN,
    graph_inputs,
    scaled_kwargs,
    size_label,
)
from envs.wireless.cellfree import CellFree
from envs.wireless.common import Scenario, objective
from envs.wireless.ic import InterferenceChannel
from envs.wireless.mimo import MultiUserMISO

#: env id, training kwargs, scenario class, 1× test kwargs (scaled to 2×, 4× by scaled_kwargs), training
#: networks, batch size
SETUPS = {
    "IC (K pairs, 0 dB)": (
        "pgsuite/WirelessIC-v0",
        {"num_users": 10, "snr_db": 0.0},
        InterferenceChannel,
        {"num_users": 10},
        64000,
        64,
    ),
    "cell-free (L APs, K UEs)": (
        "pgsuite/WirelessCellFree-v0",
        {"num_aps": [20, 30], "num_users": [8, 16], "antennas": [2, 6]},
        CellFree,
        {"num_aps": 25, "num_users": 10, "antennas": 4},
        24000,
        32,
    ),
    "MU-MISO CG-4 (M×K, 10 dB)": (
        "pgsuite/WirelessMIMO-v0",
        {"num_antennas": [6, 10], "num_users": [6, 10], "cg_iters": 4},
        MultiUserMISO,
        {"num_antennas": 8, "num_users": 8, "cg_iters": 4},
        32000,
        64,
    ),
}
FACTORS = (1, 2, 4)


def sanity(networks: int) -> list[str]:
    """WMMSE on the Sun et al. Gaussian IC vs the sheet's reference (Sec. 7.1)."""
    lines = ["| K | SNR | WMMSE here (± s.e.) | sheet |", "|---|---|---|---|"]
    for k, snr, ref in [(10, 0.0, 2.822), (20, 0.0, 3.639), (30, 0.0, 4.187), (10, 10.0, 5.599)]:
        sc = InterferenceChannel(k, snr)
        se = sc.wmmse(sc.sample(np.random.default_rng(k), networks)).sum(-1)
        lines.append(f"| {k} | {snr:.0f} dB | {se.mean():.3f} ± {se.std() / np.sqrt(networks):.3f} | {ref} |")
    return lines


def timed(fn, *args) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def test_size(
    learner: UnsupervisedICGNN, sc: Scenario, networks: int, chunk: int, seed: int
) -> dict[str, float]:
    """Mean objective of every method on ``networks`` test networks, and seconds per network."""
    rng, sums, t_gnn, t_wmmse, n = np.random.default_rng(seed), {}, 0.0, 0.0, 0
    learner.scenario = sc
    while n < networks:
        net = sc.sample(rng, min(chunk, networks - n))
        with torch.no_grad():
            alloc, dt = timed(
                lambda net=net: sc.allocate(net, learner.grid_action(graph_inputs(sc, net)).double())
            )
            t_gnn += dt
            res = {"ICGNN": sc.user_se(net, alloc)}
            res["WMMSE"], dt = timed(sc.wmmse, net)
            t_wmmse += dt
            res |= sc.baselines(net)
        for k, v in res.items():
            sums[k] = sums.get(k, 0.0) + float(objective(v, net.user_mask).sum())
        n += net.batch_size
    out = {k: v / n for k, v in sums.items()}
    return out | {"ms_icgnn": 1e3 * t_gnn / n, "ms_wmmse": 1e3 * t_wmmse / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--networks", type=int, default=1000, help="test networks per size (≥ 1000 for the issue)"
    )
    parser.add_argument(
        "--mimo-4x-networks", type=int, default=None, help="fewer networks at MIMO 4x (WMMSE is slow)"
    )
    parser.add_argument("--train-scale", type=float, default=1.0, help="multiply the training networks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="substring of one setup name")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not args.only:
        print("## WMMSE sanity check (Gaussian IC, 2000 networks)\n")
        print("\n".join(sanity(2000)))
    results = {}
    for name, (env_id, kwargs, cls, base, budget, batch) in SETUPS.items():
        if args.only and args.only not in name:
            continue
        factory = EnvFactory(EnvConfig(name=name, id=env_id, kwargs=kwargs))
        learner = UnsupervisedICGNN(UnsupervisedConfig(batch_size=batch), factory, seed=args.seed)
        start = time.perf_counter()
        for _ in learner.train_until(int(budget * args.train_scale)):
            pass
        train_s = time.perf_counter() - start
        rows = {}
        for factor in FACTORS:
            kw = scaled_kwargs(base, factor)
            count = (
                args.mimo_4x_networks
                if (args.mimo_4x_networks and cls is MultiUserMISO and factor == 4)
                else args.networks
            )
            label = f"{factor}x {size_label(kw)}"
            rows[label] = test_size(learner, cls(**kw), count, 100, args.seed + 1) | {"networks": count}
        results[name] = {"train_networks": learner.num_steps, "train_seconds": train_s, "sizes": rows}
        methods = [k for k in next(iter(rows.values())) if not k.startswith("ms_") and k != "networks"]
        print(f"\n## {name}: trained on {learner.num_steps} networks ({kwargs}) in {train_s:.0f} s\n")
        print(
            "| test size (networks) | WMMSE SE | "
            + " | ".join(f"{m} %" for m in methods if m != "WMMSE")
            + " | ICGNN ms/net | WMMSE ms/net | speed-up |"
        )
        print("|---" * (len(methods) + 4) + "|")
        for label, r in rows.items():
            pct = " | ".join(f"{100 * r[m] / r['WMMSE']:.1f}" for m in methods if m != "WMMSE")
            print(
                f"| {label} ({r['networks']}) | {r['WMMSE']:.3f} | {pct} | {r['ms_icgnn']:.3f} | {r['ms_wmmse']:.2f} "
                f"| {r['ms_wmmse'] / r['ms_icgnn']:.0f}x |"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
