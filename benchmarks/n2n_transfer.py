"""N2N policy transfer ResNet-18 → ResNet-34 over seeds (issue 19, item 5; the paper's abstract: a policy
pre-trained on a smaller teacher "rapidly speeds up training" on a larger one; official `--controller`).

    python -m benchmarks.n2n_search --part transfer --seeds 3     # CPU default scale, 3 seeds
    python -m benchmarks.n2n_search --part transfer --quick       # tiny settings, mechanics only

Per seed ``s``: train a ResNet-18 removal policy (stage 1, seed ``s``), then run the ResNet-34 stage-1
search twice with seed ``s``: from scratch, and started from the ResNet-18 policy (``init_from``). Both arms
see the same number of updates and rollouts; the student rewards are deterministic per architecture (the
student seed derives from the teacher seed and the architecture hash), so the arms differ only by the
policy they start from. Recorded per seed: the best-reward curve of every arm, each arm's final best
reward, and the first update after which the transfer arm's best reward reaches the scratch arm's final
best (``None``: never within the budget).

The result file (``docs/results/n2n_transfer.json``) is rewritten after every finished seed, so a cut run
keeps the seeds it finished; the curves go to ``docs/results/raw/n2n_transfer_curves.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from agents.runtime.checkpoint import save_checkpoint

#: Table columns (docs/benchmarks.md): per-seed rows, then a mean ± s.d. row.
COLUMNS = [
    "seed",
    "ResNet-18 source best",
    "scratch final best",
    "transfer final best",
    "transfer / scratch",
    "transfer reaches scratch best at update",
    "updates",
    "wall s",
]


def updates_to_reach(curve: list[float], target: float) -> int | None:
    """First update (1-based) whose best-so-far reward is ≥ ``target``; ``None`` if the curve never gets
    there. ``curve`` holds the best reward after each update (non-decreasing)."""
    return next((i + 1 for i, value in enumerate(curve) if value >= target), None)


def seed_row(
    seed: int, source: list[float], scratch: list[float], transfer: list[float], wall_s: float
) -> dict[str, Any]:
    """One seed's table row from the three best-reward curves (one value per update)."""
    if not scratch or not transfer or len(scratch) != len(transfer):
        raise ValueError(
            f"seed {seed}: scratch and transfer curves need the same non-zero length, got "
            f"{len(scratch)} and {len(transfer)}"
        )
    return {
        "seed": seed,
        "ResNet-18 source best": source[-1] if source else None,
        "scratch final best": scratch[-1],
        "transfer final best": transfer[-1],
        "transfer / scratch": transfer[-1] / scratch[-1],
        "transfer reaches scratch best at update": updates_to_reach(transfer, scratch[-1]),
        "updates": len(scratch),
        "wall s": wall_s,
    }


def summary_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± s.d. (sample, n-1; 0 for one seed) over the per-seed rows.

    Numeric columns become ``"mean ± sd"`` strings; the reach column reports the mean over the seeds whose
    transfer arm reached the scratch best, and how many did (e.g. ``"6.5 ± 0.7 (2/3 seeds)"``)."""
    if not rows:
        raise ValueError("summary_row needs at least one seed row")

    def fmt(values: list[float], digits: int = 4) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.{digits}f} ± {sd:.{digits}f}"

    out: dict[str, Any] = {"seed": f"mean ± s.d. ({len(rows)})"}
    for col in ("ResNet-18 source best", "scratch final best", "transfer final best", "transfer / scratch"):
        values = [r[col] for r in rows if r[col] is not None]
        out[col] = fmt(values) if values else None
    reached = [r["transfer reaches scratch best at update"] for r in rows]
    hits = [v for v in reached if v is not None]
    out["transfer reaches scratch best at update"] = (
        f"{fmt(hits, 1)} ({len(hits)}/{len(rows)} seeds)" if hits else f"never (0/{len(rows)} seeds)"
    )
    out["updates"] = rows[0]["updates"]
    out["wall s"] = statistics.fmean(r["wall s"] for r in rows)
    return out


def milestones(curves: dict[int, dict[str, list[float]]], updates: tuple[int, ...] = (1, 5, 10)) -> str:
    """Mean (over seeds) best reward of each ResNet-34 arm after the given updates and the last one."""
    length = min(len(c["scratch"]) for c in curves.values())
    marks = sorted({u for u in updates if u <= length} | {length})
    parts = []
    for u in marks:
        scratch = statistics.fmean(c["scratch"][u - 1] for c in curves.values())
        transfer = statistics.fmean(c["transfer"][u - 1] for c in curves.values())
        parts.append(f"after {u}: scratch {scratch:.4f}, transfer {transfer:.4f}")
    return f"Mean best reward over {len(curves)} seed(s) " + "; ".join(parts) + "."


def run_seed(
    seed: int, fac18: Any, fac34: Any, updates: int, rollouts: int, workers: int, tmp: Path
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Source policy on ResNet-18, then ResNet-34 from scratch and from it; returns (row, curves)."""
    from benchmarks.n2n_search import run_rl

    t0 = time.perf_counter()
    src, curve_src, _ = run_rl(fac18, seed, updates, 0, rollouts, workers)
    ckpt = save_checkpoint(tmp / f"r18-seed{seed}", {"learner": src.state_dict()})
    src.close()
    scratch, curve_s, _ = run_rl(fac34, seed, updates, 0, rollouts, workers)
    scratch.close()
    transfer, curve_t, _ = run_rl(fac34, seed, updates, 0, rollouts, workers, init_from=str(ckpt))
    transfer.close()
    row = seed_row(seed, curve_src, curve_s, curve_t, time.perf_counter() - t0)
    return row, {"source_resnet18": curve_src, "scratch": curve_s, "transfer": curve_t}


def save(
    out: str | Path,
    rows: list[dict[str, Any]],
    curves: dict[int, dict[str, list[float]]],
    kwargs: dict[str, Any],
    updates: int,
    rollouts: int,
) -> Path:
    """Per-seed rows + mean row in the ``benchmarks.make_docs`` schema; curves to ``raw/``."""
    from benchmarks.make_docs import write_result

    out = Path(out)
    raw = out.parent / "raw" / f"{out.stem}_curves.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({str(s): c for s, c in curves.items()}, indent=1) + "\n")
    kwargs = {k: v for k, v in kwargs.items() if k != "cache_dir"}
    return write_result(
        out,
        "N2N: policy transfer ResNet-18 → ResNet-34 (digits)",
        [*rows, summary_row(rows)],
        columns=COLUMNS,
        seeds=[r["seed"] for r in rows],
        budgets={
            "stage": "1 (layer removal) only",
            "updates_per_arm": updates,
            "rollouts_per_update": rollouts,
            "env_kwargs": kwargs,
        },
        command="python -m benchmarks.n2n_search " + " ".join(sys.argv[1:]),
        description="Per seed s: a ResNet-18 removal policy is trained (stage 1, seed s); the ResNet-34 "
        "stage-1 search then runs from scratch and started from that policy (`init_from`), both with seed "
        "s. Best reward R = C(2-C)·A_s/A_t on the validation split with search-time KD. "
        "`transfer / scratch` is the ratio of final best rewards; the reach column is the first update "
        "after which the transfer arm's best reward is ≥ the scratch arm's final best.",
        raw=str(raw.relative_to(out.parent.parent)),
        notes=[
            milestones(curves),
            "Mean ± sample s.d. over seeds; the reach mean is over the seeds that reached it.",
            "Shared 2-core CPU (other jobs ran at the same time); wall times are inflated.",
        ],
    )
