"""ICGNN vs WMMSE and classic baselines on the three wireless envs: `python -m benchmarks.wireless`.

    python -m benchmarks.wireless --pretrained     # shipped weights (agents/icgnn/weights/): minutes
    python -m benchmarks.wireless                  # retrain every model first (agents.icgnn.pretrained.SPECS)
    python -m benchmarks.wireless --sweep          # IC quality-vs-cost sweep of the architecture

Per scenario (IC K = 10 at 0 dB; cell-free L = 25, K = 10, N = 4; MU-MISO 8 × 8 at 10 dB with CG-4) and
size factor 1×, 2×, 4×, on the same fresh test networks: the sum SE of every method as % of WMMSE
(100 iterations), and the time per network, 1 CPU thread, of ICGNN (features + GNN + action mapping incl.
CG) and WMMSE, (a) batched over ``--batch`` networks (best of ``--reps``) and (b) one network at a time,
WMMSE run to convergence on that network (the iterations after which its sum SE stays within 1e-4
(relative) of the value after 500 iterations, counted first, then timed without any check), median over
``--single`` networks. Rows (one per scenario, size,
method) go to docs/results/wireless.json; the issue-17 targets are checked and printed at the end.
Protocol and recorded results: docs/wireless.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.icgnn.pretrained import SPECS, read_metadata, train_pretrained
from agents.icgnn.unsupervised import (
    UnsupervisedConfig,
    UnsupervisedICGNN,
    graph_inputs,
    scaled_kwargs,
    size_label,
)
from benchmarks.make_docs import write_result
from benchmarks.wireless_targets import FACTORS, check_targets
from envs.wireless.cellfree import CellFree, wmmse_cellfree
from envs.wireless.common import Networks, Scenario, objective
from envs.wireless.ic import InterferenceChannel, wmmse_ic
from envs.wireless.mimo import wmmse_mimo
from policies.icgnn import flops_per_network
from policies.icgnn_grid import LinkGridICGNN

GRID_BATCH = 100  # networks per batched timing of the issue-4 link-grid model
#: scenario label → weight names tested (the first is the main row; ``ic-range`` is the second IC row)
SCENARIOS = {"IC": ["ic", "ic-range"], "cell-free": ["cellfree"], "MU-MISO CG-4": ["miso"]}
SWEEP = [  # (hidden, layers, channels, message) of the IC quality-vs-cost sweep
    (16, 3, 4, 8),
    (32, 2, 4, 8),
    (32, 3, 4, 8),
    (32, 4, 4, 8),
    (64, 3, 8, 8),
]


def sanity(networks: int) -> list[str]:
    """WMMSE on the Gaussian IC vs an independent numpy implementation of Sun et al. 2018, Algorithm 1
    (github.com/Haoran-S/TSP-DNN @ 674df88), 2000 networks: 2.822 / 3.639 / 4.187 / 5.599 bit/s/Hz."""
    lines = ["| K | SNR | WMMSE here (± s.e.) | reference |", "|---|---|---|---|"]
    for k, snr, ref in [(10, 0.0, 2.822), (20, 0.0, 3.639), (30, 0.0, 4.187), (10, 10.0, 5.599)]:
        sc = InterferenceChannel(k, snr)
        se = sc.wmmse(sc.sample(np.random.default_rng(k), networks)).sum(-1)
        lines.append(f"| {k} | {snr:.0f} dB | {se.mean():.3f} ± {se.std() / np.sqrt(networks):.3f} | {ref} |")
    return lines


def best_time(fn: Callable[[], Any], reps: int) -> float:
    """Best wall time in seconds of ``reps`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def wmmse_trace(sc: Scenario, net: Networks, iters: int) -> list[torch.Tensor]:
    """(B,) sum SE after each WMMSE iteration (index 0 = initialisation)."""
    if isinstance(sc, InterferenceChannel):
        return wmmse_ic(net.data["gain"], net.user_mask, sc.noise, sc.p_max, iters, trace=True)[1]
    if isinstance(sc, CellFree):
        return wmmse_cellfree(net, sc.rho_max, sc.noise, iters, True, sc.tau_p, sc.tau_c)[1]
    h = net.data["h"][:, :, None, :]
    return wmmse_mimo(h, net.user_mask, sc.p_total, sc.noise, iters, trace=True)[1]


def iterations_to_converge(sc: Scenario, net: Networks, rtol: float = 1e-4, cap: int = 500) -> int:
    """WMMSE iterations after which the sum SE of the single network ``net`` stays within ``rtol``
    (relative) of its value after ``cap`` iterations (robust to slow starts, unlike a step-size test)."""
    trace = np.array([float(x[0]) for x in wmmse_trace(sc, net, cap)])
    far = np.flatnonzero(np.abs(trace - trace[-1]) > rtol * max(abs(trace[-1]), 1e-12))
    return int(far[-1]) + 1 if len(far) else 0


def icgnn_alloc(learner: UnsupervisedICGNN, sc: Scenario, net: Networks) -> torch.Tensor:
    """What a deployment runs: features → GNN → feasible allocation (CG precoder for MISO)."""
    return sc.allocate(net, learner.grid_action(graph_inputs(sc, net)).double())


def measure(
    learner: UnsupervisedICGNN, sc: Scenario, networks: int, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    """Quality of every method and ICGNN/WMMSE time per network (batched and single) at one size."""
    net = sc.sample(np.random.default_rng(seed), networks)
    with torch.inference_mode():
        se = {"ICGNN": sc.user_se(net, icgnn_alloc(learner, sc, net))}
        start = time.perf_counter()
        se["WMMSE"] = sc.wmmse(net)
        first = time.perf_counter() - start
        se |= sc.baselines(net)
        quality = {k: float(objective(v, net.user_mask).mean()) for k, v in se.items()}
        batch = net[: args.batch]
        t_gnn = best_time(lambda: icgnn_alloc(learner, sc, batch), args.reps)
        t_wmmse = first * batch.batch_size / net.batch_size
        if first < 5.0:  # cheap enough to repeat on exactly the batch
            t_wmmse = min(t_wmmse, best_time(lambda: sc.wmmse(batch), max(1, args.reps - 1)))
        single_gnn, single_wmmse, single_100 = [], [], []
        for i in range(min(args.single, networks)):
            one = net[i : i + 1]
            iters = iterations_to_converge(sc, one)
            single_gnn.append(best_time(lambda one=one: icgnn_alloc(learner, sc, one), 3))
            single_wmmse.append(best_time(lambda one=one, n=iters: sc.wmmse(one, n), 3))
            single_100.append(best_time(lambda one=one: sc.wmmse(one, 100), 2))
        b = batch.batch_size
        out = {
            "quality": quality,
            "ms_batched": {"ICGNN": 1e3 * t_gnn / b, "WMMSE": 1e3 * t_wmmse / b},
            "ms_single": {
                "ICGNN": 1e3 * statistics.median(single_gnn),
                "WMMSE": 1e3 * statistics.median(single_wmmse),
            },
            "ms_wmmse_single_100": 1e3 * statistics.median(single_100),
            "networks": networks,
            "batch": b,
        }
        if args.grid:  # the issue-4 model's cost on the same networks (timing only: weights do not matter)
            torch.manual_seed(0)
            grid = LinkGridICGNN(sc.num_features, sc.out_channels, 64, 4)
            small = net[: min(b, GRID_BATCH)]  # its (B, T, U, 64) activations need chunks (issue 4 timed 100)
            t_grid = best_time(
                lambda: sc.allocate(small, torch.tanh(grid(*graph_inputs(sc, small))).double()), 1
            )
            one_grid = [
                best_time(
                    lambda one=net[i : i + 1]: sc.allocate(one, torch.tanh(grid(*graph_inputs(sc, one)))), 2
                )
                for i in range(3)
            ]
            out["grid"] = {
                "ms_batched": 1e3 * t_grid / small.batch_size,
                "ms_single": 1e3 * statistics.median(one_grid),
                "mflop": flops_per_network(grid, sc.max_tx, sc.max_users, sc.num_features) / 1e6,
            }
    return out


def rows_for(
    scenario: str, weights: str, label: str, m: dict[str, Any], flops: float
) -> list[dict[str, Any]]:
    """One row per method at one (scenario, size)."""
    wm = m["quality"]["WMMSE"]
    out = []
    for method, value in m["quality"].items():
        row: dict[str, Any] = {
            "scenario": scenario,
            "weights": weights,
            "size": label,
            "method": method if method != "ICGNN" else f"ICGNN ({weights})",
            "networks": m["networks"],
            "sum_se": round(value, 4),
            "pct_wmmse": round(100 * value / wm, 2),
        }
        if method in m["ms_batched"]:
            bt, st = m["ms_batched"][method], m["ms_single"][method]
            row |= {
                "ms_per_network_batched": round(bt, 5),
                "ms_per_network_single": round(st, 4),
                "speedup_vs_wmmse_batched": round(m["ms_batched"]["WMMSE"] / bt, 2),
                "speedup_vs_wmmse_single": round(m["ms_single"]["WMMSE"] / st, 2),
                "mflop_per_network": round(flops / 1e6, 3) if method == "ICGNN" else None,
            }
            if method == "WMMSE":  # one network, 100 fixed iterations (the 6.2 ms figure)
                row["ms_single_100_iterations"] = round(m["ms_wmmse_single_100"], 4)
        out.append(row)
    if "grid" in m:
        g = m["grid"]
        out.append(
            {
                "scenario": scenario,
                "weights": "untrained (timing only)",
                "size": label,
                "method": "ICGNN link grid 64x4 (issue 4)",
                "networks": min(m["batch"], GRID_BATCH),
                "sum_se": None,
                "pct_wmmse": None,
                "ms_per_network_batched": round(g["ms_batched"], 5),
                "ms_per_network_single": round(g["ms_single"], 4),
                "speedup_vs_wmmse_batched": round(m["ms_batched"]["WMMSE"] / g["ms_batched"], 2),
                "speedup_vs_wmmse_single": round(m["ms_single"]["WMMSE"] / g["ms_single"], 2),
                "mflop_per_network": round(g["mflop"], 3),
            }
        )
    return out


def learner_for(name: str, seed: int, pretrained: bool, tmp: Path) -> UnsupervisedICGNN:
    """The shipped weights (``pretrained``) or freshly trained ones of a SPECS entry, as a learner."""
    spec = SPECS[name]
    path = name
    if not pretrained:
        meta = train_pretrained(name, seed, tmp)
        print(f"trained {name}: {meta['train_networks']} networks, {meta['train_seconds']} s", flush=True)
        path = str(tmp / f"{name}.safetensors")
    factory = EnvFactory(EnvConfig(name=name, id=spec["env_id"], kwargs=spec["kwargs"]))
    return UnsupervisedICGNN(UnsupervisedConfig(pretrained=path), factory, seed=seed)


def print_rows(rows: list[dict[str, Any]], header: bool) -> None:
    """Markdown rows (speed-ups with one decimal: IC ratios near 1 must not print as "0x")."""
    if header:
        print(
            "\n| scenario | size | method | % WMMSE | ms/net batched | ms/net single | speed-up batched "
            "| speed-up single |"
        )
        print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = [
            f"{r[k]:.4g}" if r.get(k) is not None else "—"
            for k in ("ms_per_network_batched", "ms_per_network_single")
        ]
        s = [
            f"{r[k]:.1f}x" if r.get(k) is not None else "—"
            for k in ("speedup_vs_wmmse_batched", "speedup_vs_wmmse_single")
        ]
        pct = "—" if r["pct_wmmse"] is None else f"{r['pct_wmmse']:.1f}"
        print(f"| {r['scenario']} | {r['size']} | {r['method']} | {pct} | {' | '.join(t + s)} |")


def run_sweep(args: argparse.Namespace, tmp: Path) -> None:
    """IC K = 10: quality on the fixed test set and batched time per network for each architecture."""
    sc = InterferenceChannel(10, 0.0)
    net = sc.sample(np.random.default_rng(args.seed + 1), args.batch)
    rows = []
    for hidden, layers, channels, message in SWEEP:
        arch = {"hidden": hidden, "layers": layers, "channels": channels, "message": message}
        meta = train_pretrained("ic", args.seed, tmp, **arch)
        factory = EnvFactory(EnvConfig(name="ic", id=SPECS["ic"]["env_id"], kwargs=SPECS["ic"]["kwargs"]))
        learner = UnsupervisedICGNN(UnsupervisedConfig(pretrained=str(tmp / "ic.safetensors")), factory, 0)
        with torch.inference_mode():
            t_gnn = best_time(lambda lr=learner: icgnn_alloc(lr, sc, net), args.reps)
            t_wmmse = best_time(lambda: sc.wmmse(net), args.reps)
        row = arch | {
            "pct_wmmse": meta["test_pct_wmmse"],
            "train_seconds": meta["train_seconds"],
            "mflop_per_network": round(flops_per_network(learner.model, 10, 10, 1) / 1e6, 3),
            "ms_per_network_batched": round(1e3 * t_gnn / net.batch_size, 5),
            "speedup_vs_wmmse_batched": round(t_wmmse / t_gnn, 2),
        }
        print(row, flush=True)
        rows.append(row)
    write_result(
        Path(args.results_dir) / "wireless_sweep.json",
        "ICGNN architecture sweep: IC K = 10, quality vs cost",
        rows,
        seeds=[args.seed],
        budgets={"train_networks": SPECS["ic"]["networks"], "test": "fixed test set, 200 networks"},
        command="python -m benchmarks.wireless --sweep",
        order=4.1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", action="store_true", help="use the shipped weights (no training)")
    parser.add_argument("--sweep", action="store_true", help="only the IC architecture sweep")
    parser.add_argument("--networks", type=int, default=1000, help="test networks per size")
    parser.add_argument(
        "--networks-4x", type=int, default=None, help="fewer test networks at 4x (WMMSE is slow)"
    )
    parser.add_argument("--batch", type=int, default=1000, help="networks per batched timing")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each batched timing (best kept)")
    parser.add_argument("--single", type=int, default=10, help="networks timed one at a time (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="substring of one scenario name")
    parser.add_argument(
        "--no-grid", dest="grid", action="store_false", help="skip the issue-4 model's timing"
    )
    parser.add_argument("--merge", action="store_true", help="with --only: keep other scenarios' saved rows")
    parser.add_argument("--sanity", action="store_true", help="also rerun the WMMSE reference check")
    parser.add_argument("--results-dir", default="docs/results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="wireless_"))
    if args.sweep:
        run_sweep(args, tmp)
        return
    if args.sanity:
        print("\n".join(sanity(2000)))
    rows: list[dict[str, Any]] = []
    for scenario, names in SCENARIOS.items():
        if args.only and args.only not in scenario:
            continue
        for name in names:
            learner = learner_for(name, args.seed, args.pretrained, tmp)
            cls = type(learner.scenario)
            for factor in FACTORS:
                kw = scaled_kwargs(SPECS[name]["test"], factor)
                n = args.networks_4x if (factor == 4 and args.networks_4x) else args.networks
                sc = cls(**kw)
                m = measure(learner, sc, n, args, args.seed + factor)
                t, u = sc.max_tx, sc.max_users
                flops = flops_per_network(learner.model, t, u, sc.num_features)
                new = rows_for(scenario, name, f"{factor}x {size_label(kw)}", m, flops)
                if name != names[0]:  # second IC row: only the ICGNN line
                    new = [r for r in new if r["method"].startswith("ICGNN (")]
                rows += new
                print_rows(new, header=factor == 1)
    out_file = Path(args.results_dir) / "wireless.json"
    if args.merge and out_file.exists():  # keep the other scenarios' rows of an earlier --only run
        done = {r["scenario"] for r in rows}
        rows = [r for r in json.loads(out_file.read_text())["rows"] if r["scenario"] not in done] + rows
    meta = {n: read_metadata(n) for ns in SCENARIOS.values() for n in ns} if args.pretrained else {}
    verdicts = check_targets(rows)
    print("\n## issue-17 targets\n")
    print(
        "\n".join(f"- {v['target']}: {v['measured']} → {'met' if v['met'] else 'MISSED'}" for v in verdicts)
    )
    write_result(
        out_file,
        "ICGNN vs WMMSE: quality (% of WMMSE) and CPU time per network, 1x/2x/4x",
        rows,
        seeds=[args.seed],
        budgets={
            n: {"train_networks": s["networks"], "batch_size": s["batch_size"]} for n, s in SPECS.items()
        },
        command="python -m benchmarks.wireless" + (" --pretrained" if args.pretrained else ""),
        notes=[f"{v['target']}: {v['measured']} ({'met' if v['met'] else 'missed'})" for v in verdicts],
        timing=f"1 thread; batched over {args.batch} networks (best of {args.reps}); single: median of "
        f"{args.single} networks, WMMSE to convergence (within 1e-4 of its 500-iteration value)",
        weights={
            k: {"train_seconds": v.get("train_seconds"), "test_pct_wmmse": v.get("test_pct_wmmse")}
            for k, v in meta.items()
        },
        order=4,
    )


if __name__ == "__main__":
    main()
