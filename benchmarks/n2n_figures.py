"""The N2N yardstick figure: test accuracy vs parameters (N2N students as points, baselines as lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def figure(rows: list[dict[str, Any]], n2n: list[dict], teacher: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, marker in (("uniform width", "o"), ("L1 pruning + fine-tune", "s"), ("random search", "^")):
        pts = sorted(
            (r["params"], r["test_acc_mean"], r["test_acc_std"]) for r in rows if r["method"] == method
        )
        if pts:
            x, y, e = zip(*pts, strict=True)
            ax.errorbar(x, y, yerr=e, marker=marker, capsize=3, label=method)
    ax.scatter(
        [r["student_params"] for r in n2n],
        [r["student_test_acc"] for r in n2n],
        marker="*",
        s=160,
        color="k",
        zorder=5,
        label="N2N final students (one per seed)",
    )
    unc = [r for r in n2n if "unconstrained_params" in r]
    if unc:
        ax.scatter(
            [r["unconstrained_params"] for r in unc],
            [r["unconstrained_test_acc"] for r in unc],
            marker="x",
            s=70,
            color="tab:red",
            zorder=5,
            label="N2N best unconstrained",
        )
    ax.axhline(
        teacher["teacher_test_acc"],
        ls="--",
        color="grey",
        label=f"teacher ({teacher['teacher_params']:,} params)",
    )
    ax.set_xscale("log")
    ax.set_xlabel("student parameters")
    ax.set_ylabel("test accuracy")
    ax.set_title(
        f"N2N yardstick, {teacher.get('data', 'digits')} ({teacher['train_images']} training images)"
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
