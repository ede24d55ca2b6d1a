"""Part ``tabular`` of ``python -m benchmarks.marl``: the paper's exact tabular PG experiment.

Chen & Zhang (ICML 2023, arXiv 2306.01920), tabular coordination game; official code github.com/dchen48/BNPG
@ b7cf8b2, ``Tabular_Coordination_Game/run.py``: n ∈ {2, 3, 5}, ε = 0.1, γ = 0.95, fixed DAGs ``empty``
(independent policies, code ``all_zeros``), ``line`` and ``full`` (code ``all_ones``), θ ~ N(0, 1), exact PG
with SGD lr 0.01 for 2000 iterations; metrics J/J* (price of anarchy) and the NE gap over iterations. The
learned-context DAG does not apply here: the official tabular experiment has fixed DAGs only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.marl.tabular_pg import GRAPHS, run_exact_pg
from envs.marl.coordination import CoordinationGame

NS = (2, 3, 5)


def run_tabular(seeds: list[int], iterations: int, log_every: int, raw: Path) -> list[dict[str, Any]]:
    """All (n, graph) runs; per-seed curves go to ``raw`` (JSON); returns the per-(n, graph) table rows."""
    torch.set_num_threads(1)
    rows, curves = [], {}
    for n in NS:
        model = CoordinationGame(n_agents=n).exact_model()
        for graph in GRAPHS:
            # Official objective weights states by μ(s) = 1/n (Σμ = 2^n/n): same lr, same step sizes.
            out = run_exact_pg(
                model, n, 2, graph, seeds, iterations, objective_scale=2**n / n, log_every=log_every
            )
            ratio, gap = np.array(out["j_over_jstar"]), np.array(out["ne_gap"])
            curves[f"n={n}/{graph}"] = {
                "iterations": out["iterations"],
                "j_over_jstar": np.round(ratio, 5).tolist(),
                "ne_gap": np.round(gap, 6).tolist(),
            }
            final = ratio[:, -1]
            rows.append(
                {
                    "part": "tabular",
                    "game": f"coordination-{n}",
                    "graph": graph,
                    "budget": f"{iterations} exact PG iterations",
                    "seeds": len(seeds),
                    "optimal": int((final >= 0.99).sum()),
                    "mean J/J*": float(final.mean()),
                    "min J/J*": float(final.min()),
                    "mean NE gap": float(gap[:, -1].mean()),
                    "J*": out["j_star"],
                }
            )
            print(
                f"tabular n={n} {graph:>5}: J/J* {final.mean():.3f} (min {final.min():.3f}), "
                f"optimal {rows[-1]['optimal']}/{len(seeds)}, NE gap {gap[:, -1].mean():.4f}",
                flush=True,
            )
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"seeds": seeds, "curves": curves}) + "\n")
    return rows


def plot_tabular(raw: Path, figure: Path) -> Path:
    """J/J* and NE-gap curves (mean over seeds, shaded min–max) per n and DAG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = json.loads(raw.read_text())["curves"]
    fig, axes = plt.subplots(2, len(NS), figsize=(4 * len(NS), 6), squeeze=False)
    for col, n in enumerate(NS):
        for graph in GRAPHS:
            c = curves.get(f"n={n}/{graph}")
            if c is None:
                continue
            x = np.array(c["iterations"])
            for row, key in enumerate(("j_over_jstar", "ne_gap")):
                y = np.array(c[key])
                ax = axes[row, col]
                (line,) = ax.plot(x, y.mean(0), label=graph)
                ax.fill_between(x, y.min(0), y.max(0), color=line.get_color(), alpha=0.15)
        axes[0, col].set_title(f"n = {n}")
        axes[0, col].set_ylabel("J / J*")
        axes[1, col].set_ylabel("NE gap")
        axes[1, col].set_xlabel("exact PG iteration")
        axes[0, col].legend()
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)
    plt.close(fig)
    return figure
