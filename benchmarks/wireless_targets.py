"""The issue-17 targets of the wireless benchmark, checked against its rows (printed and saved)."""

from __future__ import annotations

from typing import Any

#: Network sizes, as multiples of the training size (users, APs, BS antennas).
FACTORS = (1, 2, 4)


def check_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 17, item 2: each target with the measured value and whether it is met."""

    def get(scenario: str, weights: str, factor: int) -> dict[str, Any] | None:
        for r in rows:
            if (r["scenario"], r["weights"], r["size"][:2]) == (scenario, weights, f"{factor}x") and r[
                "method"
            ].startswith("ICGNN"):
                return r
        return None

    checks = [  # (label, scenario, weights, factor, key, threshold)
        ("IC K=10 quality ≥ 98.5 % of WMMSE", "IC", "ic", 1, "pct_wmmse", 98.5),
        ("cell-free 1x quality ≥ 100 %", "cell-free", "cellfree", 1, "pct_wmmse", 100.0),
        ("cell-free 2x quality ≥ 100 %", "cell-free", "cellfree", 2, "pct_wmmse", 100.0),
        ("cell-free 4x quality ≥ 99.5 %", "cell-free", "cellfree", 4, "pct_wmmse", 99.5),
        ("MISO CG-4 1x quality ≥ 95 %", "MU-MISO CG-4", "miso", 1, "pct_wmmse", 95.0),
        ("IC K=10 throughput ≥ 5x batched WMMSE", "IC", "ic", 1, "speedup_vs_wmmse_batched", 5.0),
        *[
            (
                f"cell-free {f}x throughput ≥ 5x batched WMMSE",
                "cell-free",
                "cellfree",
                f,
                "speedup_vs_wmmse_batched",
                5.0,
            )
            for f in FACTORS
        ],
        *[
            (f"{s} 1x latency ≥ 100x WMMSE to convergence", s, w, 1, "speedup_vs_wmmse_single", 100.0)
            for s, w in [("IC", "ic"), ("cell-free", "cellfree"), ("MU-MISO CG-4", "miso")]
        ],
        ("IC 4x (K=40) ≥ 95 %, trained at K=10", "IC", "ic", 4, "pct_wmmse", 95.0),
        ("IC 4x (K=40) ≥ 95 %, trained on K 5-20 (second row)", "IC", "ic-range", 4, "pct_wmmse", 95.0),
    ]
    out = []
    for label, scenario, weights, factor, key, threshold in checks:
        row = get(scenario, weights, factor)
        if row is None or row.get(key) is None:
            continue
        unit = "x" if key.startswith("speedup") else " %"
        out.append({"target": label, "measured": f"{row[key]:.4g}{unit}", "met": row[key] >= threshold})
    return out
