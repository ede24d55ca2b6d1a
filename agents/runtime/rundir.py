"""Run directories: where a run's config, metrics, evaluations, checkpoints and videos live.

``runs/<env>/<agent>/seed<seed>/<YYYY-mm-dd_HH-MM-SS>/`` holds ``config.yaml`` (fully resolved),
``run.json`` (env, agent, seed, status, times), ``metrics.csv``, ``eval.jsonl``, ``tb/``, ``checkpoints/``,
``videos/``, ``.lock`` (held by the live process, :mod:`agents.runtime.lock`) and, at the end,
``summary.json`` / ``summary.md``. ``run.json``'s ``status`` is ``running``, ``finished``, ``failed`` (with
``error``) or ``interrupted``; :func:`effective_status` reports a dead ``running`` run as ``killed``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from agents.runtime.errors import RunDirError

# Config keys that may differ between a run and its resumption (budget extension, logging, resume itself).
_RESUME_MUTABLE = ("resume", "run.", "eval.", "logger.", "device", "budget.")


def new_run_dir(root: str | Path, env: str, agent: str, seed: int, name: str | None = None) -> Path:
    """Create a fresh run directory; a numeric suffix avoids collisions (``mkdir`` claims it atomically)."""
    base = Path(root) / name if name else Path(root) / env / agent / f"seed{seed}"
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    path = base if name else base / stamp
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            if name and not (path / "run.json").exists():
                return path  # an empty directory of this name: take it (the run lock arbitrates)
        path = base / f"{stamp}_{suffix}" if not name else Path(f"{base}_{suffix}")
        suffix += 1


def has_checkpoints(path: Path) -> bool:
    """Whether ``path/checkpoints`` holds ``last`` or a ``step_<N>`` (readability is checked on load)."""
    ckpts = Path(path) / "checkpoints"
    return ckpts.is_dir() and any(
        (p / "state.pt").exists() or p.name.startswith(".") for p in ckpts.iterdir() if p.name != "best"
    )


def find_resumable(root: str | Path, env: str, agent: str, seed: int) -> Path | None:
    """The newest run directory of (env, agent, seed) that has a checkpoint to continue from."""
    base = Path(root) / env / agent / f"seed{seed}"
    if not base.is_dir():
        return None
    candidates = [p for p in base.iterdir() if p.is_dir() and has_checkpoints(p)]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def resolve_resume(cfg: DictConfig) -> Path | None:
    """The run directory to continue, from ``resume=never|auto|<path>`` (nothing is written)."""
    resume = str(cfg.resume)
    if resume in ("never", "false", "False", "None", "null"):
        return None
    if resume == "auto":
        if cfg.run.name:
            path = Path(cfg.run.root) / cfg.run.name
            return path if has_checkpoints(path) else None
        return find_resumable(cfg.run.root, cfg.env.name, cfg.agent.name, int(cfg.seed))
    path = Path(resume)
    if not (path / "config.yaml").exists() or not has_checkpoints(path):
        raise RunDirError(
            f"resume={resume}: not a run directory with checkpoints (no config.yaml, or no checkpoints/last "
            f"or step_<N>); pass a run directory (runs/<env>/<agent>/seed<k>/<time>) or resume=auto"
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
    tmp = path / ".config.yaml.tmp"
    tmp.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    tmp.replace(path / "config.yaml")


def read_config(path: Path) -> DictConfig:
    file = Path(path) / "config.yaml"
    if not file.exists():
        raise RunDirError(f"{file} not found: {path} is not a pgsuite run directory")
    try:
        return OmegaConf.load(file)  # type: ignore[return-value]
    except Exception as err:  # any YAML/OmegaConf error: the same to the user
        raise RunDirError(
            f"{file} cannot be read ({type(err).__name__}); the run directory is damaged"
        ) from None


def read_run_info(path: Path) -> dict[str, Any]:
    """``run.json`` of a run directory ({} when absent or unreadable)."""
    try:
        info = json.loads((Path(path) / "run.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def effective_status(path: Path) -> str:
    """run.json's status, with ``killed`` for a run that says ``running`` but whose lock no process holds."""
    from agents.runtime.lock import is_locked

    status = str(read_run_info(path).get("status", "unknown"))
    if status == "running" and not is_locked(path):
        return "killed"
    return status


def write_run_info(path: Path, **fields: Any) -> None:
    """Merge ``fields`` into ``run.json`` (atomically)."""
    file = path / "run.json"
    info = read_run_info(path)
    info.update(fields)
    tmp = path / ".run.json.tmp"
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(file)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def monotonic() -> float:
    return time.perf_counter()
