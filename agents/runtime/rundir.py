"""Run directories: where a run's config, metrics, evaluations, checkpoints and videos live.

``runs/<env>/<agent>/seed<seed>/<YYYY-mm-dd_HH-MM-SS>/`` holds ``config.yaml`` (fully resolved),
``run.json`` (env, agent, seed, status, times), ``metrics.csv``, ``eval.jsonl``, ``tb/``, ``checkpoints/``,
``videos/`` and, at the end, ``summary.json`` / ``summary.md``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Config keys that may differ between a run and its resumption (budget extension, logging, resume itself).
_RESUME_MUTABLE = ("resume", "run.", "eval.", "logger.", "device", "budget.")


class RunDirError(RuntimeError):
    """A run directory cannot be created or resumed; the message says why and what to do."""


def new_run_dir(root: str | Path, env: str, agent: str, seed: int, name: str | None = None) -> Path:
    """Create a fresh run directory (a numeric suffix avoids collisions within one second)."""
    base = Path(root) / name if name else Path(root) / env / agent / f"seed{seed}"
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    path = base if name else base / stamp
    suffix = 1
    while path.exists() and (path / "run.json").exists():
        path = base / f"{stamp}_{suffix}" if not name else Path(f"{base}_{suffix}")
        suffix += 1
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_resumable(root: str | Path, env: str, agent: str, seed: int) -> Path | None:
    """The newest run directory of (env, agent, seed) that has a ``checkpoints/last``."""
    base = Path(root) / env / agent / f"seed{seed}"
    if not base.exists():
        return None
    candidates = [p for p in base.iterdir() if (p / "checkpoints" / "last" / "state.pt").exists()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def resolve_resume(cfg: DictConfig) -> Path | None:
    """The run directory to continue, from ``resume=never|auto|<path>``."""
    resume = str(cfg.resume)
    if resume in ("never", "false", "False", "None", "null"):
        return None
    if resume == "auto":
        if cfg.run.name:
            path = Path(cfg.run.root) / cfg.run.name
            return path if (path / "checkpoints" / "last" / "state.pt").exists() else None
        return find_resumable(cfg.run.root, cfg.env.name, cfg.agent.name, int(cfg.seed))
    path = Path(resume)
    if not (path / "checkpoints" / "last" / "state.pt").exists():
        raise RunDirError(
            f"resume={resume}: no checkpoints/last/state.pt in that directory; pass a run directory "
            f"(runs/<env>/<agent>/seed<k>/<time>) or resume=auto"
        )
    return path


def check_compatible(saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to resume a run with a different env/agent/seed config, listing what differs."""
    a, b = _flatten(saved), _flatten(current)
    diffs = [
        f"  {k}: {a.get(k, '<absent>')!r} (run) vs {b.get(k, '<absent>')!r} (now)"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k) and not any(k == m or k.startswith(m) for m in _RESUME_MUTABLE)
    ]
    if diffs:
        raise RunDirError(
            "cannot resume: the config differs from the run's saved config.yaml in\n"
            + "\n".join(diffs[:20])
            + "\nStart a new run (resume=never) or use the run's settings."
        )


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = d
    return out


def write_config(path: Path, cfg: DictConfig) -> None:
    (path / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))


def read_config(path: Path) -> DictConfig:
    file = Path(path) / "config.yaml"
    if not file.exists():
        raise RunDirError(f"{file} not found: {path} is not a pgsuite run directory")
    return OmegaConf.load(file)  # type: ignore[return-value]


def write_run_info(path: Path, **fields: Any) -> None:
    """Merge ``fields`` into ``run.json``."""
    file = path / "run.json"
    info = json.loads(file.read_text()) if file.exists() else {}
    info.update(fields)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(file)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def monotonic() -> float:
    return time.perf_counter()
