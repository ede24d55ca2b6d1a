"""End-of-run outputs: ``summary.json``, ``summary.md`` (for every learner) and saved artifacts/figures.

A learner's :meth:`~agents.core.base.Learner.finish` may return its own ``markdown``; otherwise the run
machinery writes ``summary.md`` from ``summary.json`` (issue 20: external learners such as SB3 get one too).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch


def write_summary(run_dir: Path, results: dict[str, Any], steps: int, best_score: float, title: str) -> str:
    """Write ``summary.json``/``summary.md`` (and artifacts/figures); returns the markdown."""
    results = dict(results)
    artifacts = results.pop("artifacts", {}) or {}
    figures = results.pop("figures", {}) or {}
    markdown = results.pop("markdown", None)
    if artifacts:
        from safetensors.torch import save_file

        (run_dir / "artifacts").mkdir(exist_ok=True)
        for name, tensors in artifacts.items():
            save_file(
                {k: v.contiguous() for k, v in tensors.items()},
                str(run_dir / "artifacts" / f"{name}.safetensors"),
            )
    for name, image in figures.items():
        import imageio.v2 as imageio

        imageio.imwrite(
            run_dir / name, np.asarray(image.numpy() if torch.is_tensor(image) else image, dtype=np.uint8)
        )
    summary = {
        "steps": steps,
        "best_eval_score": best_score if math.isfinite(best_score) else None,
        **results,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    if not markdown:
        markdown = markdown_from_summary(json.loads((run_dir / "summary.json").read_text()), title)
    (run_dir / "summary.md").write_text(markdown)
    return markdown


def markdown_from_summary(summary: dict[str, Any], title: str) -> str:
    """A ``| key | value |`` table of the scalar entries of ``summary.json`` (nested keys dotted)."""
    rows = []
    for key, value in _flatten(summary).items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        rows.append(f"| {key} | {value} |")
    return "\n".join([f"# {title}", "", "| key | value |", "|---|---|", *rows, ""])


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif v is None or isinstance(v, (int, float, str, bool)):
            out[f"{prefix}{k}"] = v
    return out


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
