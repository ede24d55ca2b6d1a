"""Find and read run directories written by ``python -m agents.train``, tolerating damage.

A run directory is any directory holding ``config.yaml`` (resolved Hydra config) or ``run.json``
(``env``, ``agent``, ``seed``, ``status``, ``started``, ``finished``); see ``agents/runtime/rundir.py``.
Next to them: ``metrics.csv`` (wide: ``step,time,<metric columns>``, empty cells allowed),
``eval.jsonl`` (one object per evaluation episode: ``step``, ``episode``, ``return``, ``length``,
optional ``success`` and extra keys) and optionally ``summary.json``.

Runs may sit anywhere below the folder given (single runs, Hydra multiruns, runs still in progress).
Nothing here raises on a damaged run: unreadable pieces become ``Run.notes`` and runs with no usable
data at all become ``Skipped`` entries with the reason, which the command-line tools print.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.analysis.files import (
    read_eval_jsonl,
    read_json,
    read_metrics_csv,
    read_yaml,
)

# Sub-folders of a run directory that never hold runs themselves.
_RUN_SUBDIRS = {"checkpoints", "tb", "videos", ".hydra", "plots", "report", "__pycache__"}
# eval.jsonl key <- metric-name alias (metrics.csv writes eval/return_mean, eval/success_rate).
_EVAL_ALIASES = {"return_mean": "return", "success_rate": "success", "length_mean": "length"}


@dataclass
class Skipped:
    """A directory that looked like a run but could not be used, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


@dataclass
class Run:
    """One run directory, read into memory.

    Attributes:
        path: the run directory.
        env / agent / seed: from ``run.json``, else ``config.yaml`` (``env.name``, ``agent.name``, ``seed``).
        status: ``finished``, ``running``, ``failed``, ``interrupted``, ``killed`` (``running`` in run.json
            but no live process holds the run's lock) or ``unknown``.
        config: the resolved config as a nested dict (empty when unreadable).
        metrics: ``metrics.csv`` as a DataFrame with float columns (``None`` when missing/unreadable).
        evals: ``eval.jsonl`` as a DataFrame, one row per evaluation episode (``None`` when missing).
        summary: ``summary.json`` (``None`` when missing).
        notes: non-fatal problems found while reading (dropped lines, missing files).
        error: the one-line cause of a ``failed`` run (run.json ``error``).
    """

    path: Path
    env: str
    agent: str
    seed: int | None
    status: str = "unknown"
    config: dict[str, Any] = field(default_factory=dict)
    metrics: pd.DataFrame | None = None
    evals: pd.DataFrame | None = None
    summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def group(self) -> tuple[str, str]:
        """``(env, agent)``: runs of one group differ only by seed."""
        return self.env, self.agent

    def metric_names(self) -> list[str]:
        """Metric names this run can give a curve for (``eval/<key>`` from eval.jsonl, then CSV columns)."""
        names: list[str] = []
        if self.evals is not None:
            names += [f"eval/{c}" for c in self.evals.columns if c not in ("step", "episode")]
        if self.metrics is not None:
            names += [c for c in self.metrics.columns if c not in ("step", "time") and c not in names]
        return names


class RunReadError(Exception):
    """A run directory that cannot be used at all (the message is the reason)."""


# -- discovery ----------------------------------------------------------------------------------------


def discover_runs(root: str | Path) -> tuple[list[Run], list[Skipped]]:
    """Read every run directory below ``root`` (``root`` itself may be one).

    Returns the readable runs sorted by (env, agent, seed, path) and the skipped directories with reasons.
    Raises ``FileNotFoundError`` only when ``root`` does not exist.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root} is not a directory: pass the folder holding run directories (e.g. runs/ or "
            f"runs/cartpole)"
        )
    runs: list[Run] = []
    skipped: list[Skipped] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _RUN_SUBDIRS)
        path = Path(dirpath)
        files = set(filenames)
        if "config.yaml" in files or "run.json" in files:
            dirnames[:] = []  # a run directory does not contain other runs
            try:
                runs.append(load_run(path))
            except RunReadError as err:
                skipped.append(Skipped(path, str(err)))
        elif files & {"metrics.csv", "eval.jsonl"}:
            skipped.append(Skipped(path, "has metrics.csv/eval.jsonl but no config.yaml or run.json"))
        elif not files and not dirnames and path != root and not (path.parent / "multirun.yaml").exists():
            # (Hydra's per-job folders of a sweep stay empty: the runs themselves go under run.root.)
            skipped.append(Skipped(path, "empty directory (a run that never started?)"))
    runs.sort(key=lambda r: (r.env, r.agent, -1 if r.seed is None else r.seed, str(r.path)))
    return runs, skipped


def load_run(path: str | Path) -> Run:
    """Read one run directory; raises ``RunReadError`` when it has no identity or no data."""
    path = Path(path)
    notes: list[str] = []
    config = read_yaml(path / "config.yaml", notes)
    info = read_json(path / "run.json", notes)
    env = info.get("env") or _get(config, "env.name")
    agent = info.get("agent") or _get(config, "agent.name")
    if not env or not agent:
        raise RunReadError(
            "no env/agent name: run.json and config.yaml are missing or lack env.name/agent.name"
        )
    seed = _as_int(info.get("seed", _get(config, "seed")))
    if seed is None:
        match = re.search(r"seed(\d+)", str(path))
        seed = int(match.group(1)) if match else None
    status = str(info.get("status") or "unknown")
    if status == "running":
        from agents.runtime.lock import is_locked

        status = "running" if is_locked(path) else "killed"
    metrics = read_metrics_csv(path / "metrics.csv", notes)
    evals = read_eval_jsonl(path / "eval.jsonl", notes)
    if (metrics is None or metrics.empty) and (evals is None or evals.empty):
        reason = "; ".join(notes) or "no data rows"
        raise RunReadError(f"no usable metrics.csv or eval.jsonl ({reason})")
    summary = read_json(path / "summary.json", notes, required=False) or None
    error = info.get("error")
    return Run(path, str(env), str(agent), seed, status, config, metrics, evals, summary, notes, error)


# -- grouping -----------------------------------------------------------------------------------------

# Config keys that legitimately differ between seeds of one experiment.
_PER_RUN_KEYS = ("seed", "run.", "logger.", "resume", "device", "hydra.", "eval.video", "data.root")


def split_by(runs: list[Run], keys: list[str]) -> list[Run]:
    """Copies of ``runs`` whose agent label carries the values of config ``keys`` (dotted), so runs that
    differ in them form separate groups: ``by=graph`` turns ``bn-mappo`` into ``bn-mappo[graph=learned]``."""
    if not keys:
        return runs
    out = []
    for run in runs:
        # keys the run's config does not have (another agent's options) are left out of its label
        parts = [f"{_short_key(k)}={_get(run.config, k)}" for k in keys if _has(run.config, k)]
        out.append(replace(run, agent=f"{run.agent}[{','.join(parts)}]" if parts else run.agent))
    return out


_MISSING = object()


def _has(config: dict[str, Any], dotted: str) -> bool:
    return _get(config, dotted, _MISSING) is not _MISSING


def _short_key(key: str) -> str:
    """``agent.lr`` -> ``lr``; ``budget.name`` -> ``budget`` (a bare ``name`` says nothing)."""
    parts = key.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]


def config_differences(runs: list[Run]) -> dict[tuple[str, str], list[str]]:
    """(env, agent) -> config keys whose values differ between that group's runs (seed, paths and
    logging excluded): a sign that different experiments are being averaged; split them with ``by=``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(run.group, []).append(_flatten(run.config))
    out = {}
    for group, configs in groups.items():
        keys = sorted(set().union(*configs))
        differ = [
            k
            for k in keys
            if not any(k == p or k.startswith(p) for p in _PER_RUN_KEYS)
            and len({repr(c.get(k)) for c in configs}) > 1
        ]
        if differ:
            out[group] = differ
    return out


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(config, dict):
        return {prefix[:-1]: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(_flatten(value, f"{prefix}{key}."))
    return flat


# -- file readers -------------------------------------------------------------------------------------


# -- curves -------------------------------------------------------------------------------------------


@dataclass
class Curve:
    """One run's metric over training: ``steps`` ascending, ``values`` finite, ``source`` names the data."""

    steps: np.ndarray
    values: np.ndarray
    source: str

    def final(self, window: int = 1) -> float:
        """Mean of the last ``window`` values (the run's final score)."""
        return float(np.mean(self.values[-max(1, window) :]))


def run_curve(run: Run, metric: str) -> Curve | None:
    """The curve of ``metric`` for ``run``, or ``None`` when the run has no data for it.

    ``eval/<key>`` is read from eval.jsonl (mean over the episodes of each evaluation; ``eval/return`` and
    ``eval/success`` are the return and the success rate), falling back to the metrics.csv columns
    ``eval/<key>``, ``eval/<key>_mean`` and ``eval/<key>_rate``. Any other name is a metrics.csv column;
    several rows at one step keep the last value.
    """
    if metric.startswith("eval/") and run.evals is not None and not run.evals.empty:
        key = metric[len("eval/") :]
        key = _EVAL_ALIASES.get(key, key)
        if key in run.evals.columns and key not in ("step", "episode"):
            data = run.evals[["step", key]].dropna()
            per_step = data[np.isfinite(data[key])].groupby("step", sort=True)[key].mean()
            if len(per_step):
                return Curve(per_step.index.to_numpy(float), per_step.to_numpy(float), "eval.jsonl")
    if run.metrics is None or run.metrics.empty:
        return None
    candidates = [metric]
    if metric.startswith("eval/"):
        key = _EVAL_ALIASES.get(metric[5:], metric[5:])
        candidates += [f"eval/{key}", f"eval/{key}_mean", f"eval/{key}_rate"]
    for column in candidates:
        if column in run.metrics.columns:
            data = run.metrics[["step", column]].dropna()
            data = data[np.isfinite(data[column])]
            if len(data):
                last = data.groupby("step", sort=True)[column].last()
                return Curve(last.index.to_numpy(float), last.to_numpy(float), f"metrics.csv:{column}")
    return None


def curves_by_group(
    runs: list[Run], metric: str
) -> tuple[dict[tuple[str, str], list[tuple[Run, Curve]]], list[Skipped]]:
    """Group the runs' curves of ``metric`` by (env, agent); runs without that metric are skipped."""
    groups: dict[tuple[str, str], list[tuple[Run, Curve]]] = {}
    skipped: list[Skipped] = []
    for run in runs:
        curve = run_curve(run, metric)
        if curve is None:
            have = ", ".join(run.metric_names()[:8]) or "nothing"
            skipped.append(Skipped(run.path, f"no data for {metric} (has: {have})"))
            continue
        groups.setdefault(run.group, []).append((run, curve))
    return groups, skipped


def has_metric(runs: list[Run], metric: str) -> bool:
    """Whether any run has data for ``metric``."""
    return any(run_curve(run, metric) is not None for run in runs)


# -- helpers ------------------------------------------------------------------------------------------


def _get(config: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
