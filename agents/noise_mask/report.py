"""The noise-mask run's final table: baseline vs heated (+ fine-tuned), and the few-shot transfer, over seeds.

Columns are the paper's project-page metrics (the authors' project page,
``_projects/policy-gradient-noise-mask.md``) plus accuracy; cells are
mean ± std over replicates (sample std, ddof 1), and the paired rows give the per-seed difference
(noise mask − baseline), its wins out of n, and a paired t-test p-value when n ≥ 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from envs.noise_mask.env import NoiseMaskEnv

METRICS = ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc")
HEADERS = ("accuracy", "precision", "recall", "F1", "balanced acc.", "ROC-AUC")


def _values(results: dict[str, dict[str, dict[str, float]]], row: str, metric: str) -> np.ndarray:
    return np.array([res[row][metric] for res in results.values() if row in res], dtype=float)


def mean_std(values: np.ndarray) -> dict[str, float]:
    """Mean, sample std (0 for one value) and count."""
    n = len(values)
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    return {"mean": float(values.mean()) if n else math.nan, "std": std, "n": n}


def paired(
    results: dict[str, dict[str, dict[str, float]]], row: str, base: str, metric: str
) -> dict[str, float]:
    """Per-seed ``row − base``: mean, std, wins (row better), paired t-test p (two-sided; NaN for n < 2)."""
    pairs = [(res[row][metric], res[base][metric]) for res in results.values() if row in res and base in res]
    diff = np.array([a - b for a, b in pairs], dtype=float)
    out = mean_std(diff) | {"wins": int((diff > 0).sum()), "p_value": math.nan}
    if len(diff) >= 2 and np.any(diff != diff[0]):
        from scipy import stats

        out["p_value"] = float(stats.ttest_rel([a for a, _ in pairs], [b for _, b in pairs]).pvalue)
    return out


def _fmt(stat: dict[str, float]) -> str:
    return "n/a" if math.isnan(stat["mean"]) else f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def _table(
    results: dict[str, Any], rows: list[tuple[str, str]], base: str, versus: str
) -> tuple[list[str], dict]:
    lines = ["| model | " + " | ".join(HEADERS) + " |", "|---" * (len(HEADERS) + 1) + "|"]
    summary: dict[str, Any] = {}
    for key, label in rows:
        if not any(key in res for res in results.values()):
            continue
        stats = {m: mean_std(_values(results, key, m)) for m in METRICS}
        summary[key] = stats
        lines.append(f"| {label} | " + " | ".join(_fmt(stats[m]) for m in METRICS) + " |")
    if any(versus in res and base in res for res in results.values()):
        diffs = {m: paired(results, versus, base, m) for m in METRICS}
        summary[f"{versus}_minus_{base}"] = diffs
        cells = [
            f"{d['mean']:+.4f} ± {d['std']:.4f} ({d['wins']}/{d['n']} wins, p={d['p_value']:.2g})"
            for d in diffs.values()
        ]
        lines.append("| Δ paired (noise mask − baseline) | " + " | ".join(cells) + " |")
    return lines, summary


def build_report(
    results: dict[str, Any], cfg: Any, env: NoiseMaskEnv, complete: bool, plan_steps: int
) -> dict[str, Any]:
    """JSON-able summary plus ``markdown`` for ``finish()``."""
    n = len(results)
    base_epochs = cfg.baseline_epochs or cfg.pretrain_epochs + cfg.finetune_epochs
    seen = ", ".join(str(c) for c in env.seen_classes)
    title = (
        f"## Noise mask vs baseline: {env.dataset.name}, classes {seen}, test split, {n} seed(s)\n\n"
        f"objective `{cfg.objective}`; pretraining {cfg.pretrain_epochs} epochs with the mask "
        f"(heated = mean of the last {cfg.average_last}), fine-tuning {cfg.finetune_epochs} epochs without; "
        f"baseline {base_epochs} epochs without mask; classifier `{env.model_name}`, grid "
        f"{env.grid}×{env.grid}, "
        f"blur {env.kernel_size}/σ {env.sigma:.2f}, {env.image_size} px.\n"
    )
    lines, summary = _table(
        results,
        [
            ("baseline", f"baseline ({base_epochs} ep., no mask)"),
            ("heated", "heated (no fine-tune)"),
            ("heated_finetuned", "heated + fine-tuned"),
        ],
        "baseline",
        "heated_finetuned",
    )
    md = [title, *lines]
    out: dict[str, Any] = {"complete": complete, "replicates": n, "main": summary, "per_seed": results}
    if env.unseen_classes:
        unseen = ", ".join(str(c) for c in env.unseen_classes)
        t_lines, t_summary = _table(
            results,
            [("transfer_baseline", "baseline init"), ("transfer_heated", "heated init")],
            "transfer_baseline",
            "transfer_heated",
        )
        md += [
            "",
            f"## Unseen-concept transfer: classes {unseen}, {cfg.few_shot} images per class, "
            f"{cfg.transfer_epochs} epochs, new head, test split\n",
            *t_lines,
        ]
        out["transfer"] = t_summary
    if not complete:
        md.append(
            f"\n**Incomplete run**: the plan needs run.total_steps={plan_steps}; rows cover finished phases "
            f"only."
        )
    out["markdown"] = "\n".join(md) + "\n"
    return out
