"""BN-MAPPO benchmark (docs/bn_marl.md): empty vs full vs learned DAGs, and annealing curves.

Part A, coordination: climbing, penalty(−100) and the 3-agent coordination game; per (game, graph) the
fraction of seeds whose final policy is optimal: greedy joint action optimal for the matrix games
(J/J* of the greedy policy ≥ 0.99), exact J/J* ≥ 0.99 of the stochastic policy for the coordination game;
printed with the ratio to the ``empty`` (independent-policy MAPPO) baseline measured in the same run.
Part B, annealing: Aloha and simple_spread with the learned DAG under sparsity annealing vs the empty DAG:
training-return and open-ratio curves (IQM over seeds) and the final decentralised evaluation return.

    python -m benchmarks.marl [--seeds 10] [--part a|b|all] [--out runs/benchmarks/marl.jsonl]

Results are appended to a JSONL file (one line per run) so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.core.seeding import seed_everything
from agents.marl.bn_mappo import BNMAPPO, BNMAPPOConfig

# (name, id, kwargs, num_envs, n_steps, total env steps) — small CPU budgets, see docs/bn_marl.md.
GAMES = [
    ("climbing", "pgsuite/Climbing-v0", {}, 32, 1, 3000),
    ("penalty-100", "pgsuite/Penalty-v0", {"k": -100}, 32, 1, 3000),
    ("coordination-3", "pgsuite/Coordination-v0", {"n_agents": 3}, 16, 25, 30000),
]
ANNEAL = [
    ("aloha", "pgsuite/Aloha-v0", {}, 8, 20, 20000),
    ("spread", "pgsuite/MPESpread-v0", {"N": 3}, 8, 25, 20000),
]
GRAPHS = ("empty", "full", "learned")


def run_one(name, env_id, kwargs, num_envs, n_steps, total, graph, seed, anneal=False) -> dict:
    seed_everything(seed)
    factory = EnvFactory(EnvConfig(name=name, id=env_id, kind="parallel", kwargs=kwargs, num_envs=num_envs))
    learner = BNMAPPO(BNMAPPOConfig(graph=graph, anneal=anneal, n_steps=n_steps), factory, seed=seed)
    learner.total_steps = total
    curve, start = [], time.time()
    for m in learner.train_until(total):
        curve.append(
            [learner.num_steps, m.get("charts/episodic_return", float("nan")), m["charts/open_ratio"]]
        )
    row = {
        "env": name,
        "graph": graph,
        "anneal": anneal,
        "seed": seed,
        "steps": total,
        "seconds": time.time() - start,
    }
    row.update(learner.exact_metrics())
    if not row.get("j_star"):
        episodes = learner.evaluate(10, seed=10_000 + seed)
        row["eval_return"] = float(np.mean([e["return"] for e in episodes]))
        row["eval_return_decentralized"] = float(np.mean([e["return_decentralized"] for e in episodes]))
        row["eval_open_ratio"] = float(np.mean([e["open_ratio"] for e in episodes]))
        row["curve"] = curve
    learner.close()
    return row


def iqm(x) -> float:
    x = np.sort(np.asarray(x, dtype=float)[~np.isnan(x)])
    k = len(x) // 4
    return float(x[k : len(x) - k].mean()) if len(x) else float("nan")


def report(rows: list[dict]) -> str:
    out = ["## Part A: fraction of seeds reaching the optimum", "",
           "| game | graph | seeds | optimal | mean J/J* | mean greedy J/J* | mean J/J* (sampled DAGs) | ratio to empty | s/run |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, *_ in GAMES:
        base = None
        for graph in GRAPHS:
            sel = [r for r in rows if r["env"] == name and r["graph"] == graph and "j_star" in r]
            if not sel:
                continue
            key = "j_over_jstar" if name.startswith("coordination") else "j_over_jstar_greedy"
            frac = float(np.mean([r[key] >= 0.99 for r in sel]))
            base = frac if graph == "empty" else base
            ratio = f"{frac / base:.2f}" if base else ("—" if graph == "empty" else "∞" if frac else "—")
            out.append(f"| {name} | {graph} | {len(sel)} | {frac:.2f} | {np.mean([r['j_over_jstar'] for r in sel]):.3f} | "
                       f"{np.mean([r['j_over_jstar_greedy'] for r in sel]):.3f} | "
                       f"{np.mean([r.get('j_over_jstar_sampled_dags', np.nan) for r in sel]):.3f} | {ratio} | {np.mean([r['seconds'] for r in sel]):.0f} |")  # fmt: skip
    out += ["", "## Part B: annealing (IQM over seeds)", "",
            "| env | graph | anneal | seeds | train return (first 10 % → last 10 %) | open ratio (0 / 25 / 50 / 75 / 100 %) | eval return | decentralised eval return |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, *_ in ANNEAL:
        for graph, anneal in (("empty", False), ("learned", True)):
            sel = [r for r in rows if r["env"] == name and r["graph"] == graph and r["anneal"] == anneal]
            if not sel:
                continue
            curves = np.array([r["curve"] for r in sel], dtype=float)  # (seeds, updates, 3)
            u = curves.shape[1]
            tenth = max(u // 10, 1)
            first = iqm(np.nanmean(curves[:, :tenth, 1], 1))
            last = iqm(np.nanmean(curves[:, -tenth:, 1], 1))
            opens = " / ".join(
                f"{iqm(curves[:, min(int(f * (u - 1)), u - 1), 2]):.2f}" for f in (0, 0.25, 0.5, 0.75, 1.0)
            )
            out.append(f"| {name} | {graph} | {anneal} | {len(sel)} | {first:.2f} → {last:.2f} | {opens} | "
                       f"{iqm([r['eval_return'] for r in sel]):.2f} | {iqm([r['eval_return_decentralized'] for r in sel]):.2f} |")  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--anneal-seeds", type=int, default=3)
    parser.add_argument("--part", choices=("a", "b", "all"), default="all")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks/marl.jsonl"))
    parser.add_argument(
        "--results", default="docs/results/bn_marl.json", help="part A table for the docs ('' to skip)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {(r["env"], r["graph"], r["anneal"], r["seed"]) for r in rows}
    jobs = []
    if args.part in ("a", "all"):
        jobs += [(g, graph, False, s) for s in range(args.seeds) for g in GAMES for graph in GRAPHS]
    if args.part in ("b", "all"):
        jobs += [
            (e, graph, an, s)
            for s in range(args.anneal_seeds)
            for e in ANNEAL
            for graph, an in (("empty", False), ("learned", True))
        ]
    for spec, graph, anneal, seed in jobs:
        if (spec[0], graph, anneal, seed) in done:
            continue
        row = run_one(*spec, graph=graph, seed=seed, anneal=anneal)
        rows.append(row)
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{spec[0]:>15} {graph:>8} anneal={anneal!s:5} seed={seed}: "
              f"J/J*={row.get('j_over_jstar', float('nan')):.3f} greedy={row.get('j_over_jstar_greedy', float('nan')):.3f} "
              f"eval={row.get('eval_return', float('nan')):.2f} ({row['seconds']:.0f}s)", flush=True)  # fmt: skip
    print(report(rows))
    if args.part in ("a", "all") and args.results:
        save_part_a(rows, args)


def save_part_a(rows: list[dict], args: argparse.Namespace) -> None:
    """Part A table in the ``benchmarks.make_docs`` schema (``docs/results/bn_marl.json``)."""
    from benchmarks.make_docs import write_result

    table = []
    for name, *_, total in GAMES:
        for graph in GRAPHS:
            sel = [r for r in rows if r["env"] == name and r["graph"] == graph and "j_star" in r]
            if not sel:
                continue
            key = "j_over_jstar" if name.startswith("coordination") else "j_over_jstar_greedy"
            table.append({"game": name, "graph": graph, "env steps": total, "seeds": len(sel),
                          "optimal": f"{sum(r[key] >= 0.99 for r in sel)}/{len(sel)}",
                          "mean J/J*": float(np.mean([r["j_over_jstar"] for r in sel])),
                          "mean greedy J/J*": float(np.mean([r["j_over_jstar_greedy"] for r in sel])),
                          "s/run": float(np.mean([r["seconds"] for r in sel]))})  # fmt: skip
    path = write_result(
        args.results, "BN-MARL: empty vs full vs learned DAG (optimum reached)", table,
        seeds=list(range(args.seeds)), budgets="env steps per game in the table; agent defaults of bn-mappo.yaml",
        command=f"python -m benchmarks.marl --seeds {args.seeds} --part a",
        description="Optimal: greedy joint action optimal (greedy J/J* ≥ 0.99) for the matrix games; exact "
        "J/J* ≥ 0.99 of the stochastic policy (deterministic DAG) for the coordination game (γ = 0.95).",
        notes="One thread per run on a shared 2-core CPU (other benchmarks running): seconds are inflated.",
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
