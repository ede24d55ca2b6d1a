"""Damage-tolerant readers of the files in a run directory (``metrics.csv``, ``*.jsonl``, yaml, json).

Nothing here raises on a damaged file: problems are appended to ``notes`` and the caller gets ``None``
(or an empty dict) for what could not be read.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml


def read_metrics_csv(file: Path, notes: list[str]) -> pd.DataFrame | None:
    """``metrics.csv`` as float columns; malformed rows (e.g. a line cut by a kill) are dropped with a
    note."""
    if not file.exists():
        notes.append("metrics.csv missing")
        return None
    try:
        text = file.read_text(errors="replace")
    except OSError as err:
        notes.append(f"metrics.csv unreadable ({err})")
        return None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "step" not in rows[0]:
        notes.append("metrics.csv has no header with a 'step' column")
        return None
    header, body = rows[0], rows[1:]
    good, bad = [], []
    for lineno, row in enumerate(body, start=2):
        if not row:
            continue
        values = [_to_float(cell) for cell in row]
        step = values[header.index("step")] if len(row) == len(header) else math.nan
        if len(row) != len(header) or not math.isfinite(step):
            bad.append(lineno)
            continue
        good.append(values)
    if bad:
        notes.append(f"metrics.csv: dropped {len(bad)} malformed line(s) {_lines(bad)} (truncated write?)")
    frame = pd.DataFrame(good, columns=header, dtype=float)
    return frame


def read_jsonl(file: Path, notes: list[str]) -> list[dict[str, Any]] | None:
    """The JSON objects of a ``.jsonl`` file; undecodable lines and lines without a numeric ``step`` are
    dropped with a note (``None`` when the file is missing or unreadable)."""
    if not file.exists():
        notes.append(f"{file.name} missing")
        return None
    try:
        lines = file.read_text(errors="replace").splitlines()
    except OSError as err:
        notes.append(f"{file.name} unreadable ({err})")
        return None
    records, bad = [], []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad.append(lineno)
            continue
        if not isinstance(record, dict) or not _is_finite(record.get("step")):
            bad.append(lineno)
            continue
        records.append(record)
    if bad:
        notes.append(f"{file.name}: dropped {len(bad)} unreadable line(s) {_lines(bad)} (truncated write?)")
    return records


def read_eval_jsonl(file: Path, notes: list[str]) -> pd.DataFrame | None:
    """``eval.jsonl`` as one row per episode with numeric columns (bools become 0/1, text is dropped)."""
    records = read_jsonl(file, notes)
    if records is None:
        return None
    if not records:
        return pd.DataFrame(columns=["step", "episode", "return", "length"], dtype=float)
    frame = pd.DataFrame.from_records([{k: _scalar(v) for k, v in r.items()} for r in records])
    for column in frame.columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.dropna(axis=1, how="all").sort_values("step", kind="stable").reset_index(drop=True)


def read_yaml(file: Path, notes: list[str]) -> dict[str, Any]:
    if not file.exists():
        notes.append("config.yaml missing")
        return {}
    try:
        data = yaml.safe_load(file.read_text(errors="replace"))
    except (yaml.YAMLError, OSError) as err:
        notes.append(f"config.yaml unreadable ({type(err).__name__})")
        return {}
    return data if isinstance(data, dict) else {}


def read_json(file: Path, notes: list[str], required: bool = True) -> dict[str, Any]:
    if not file.exists():
        if required:
            notes.append(f"{file.name} missing")
        return {}
    try:
        data = json.loads(file.read_text(errors="replace"))
    except (json.JSONDecodeError, OSError) as err:
        notes.append(f"{file.name} unreadable ({type(err).__name__})")
        return {}
    return data if isinstance(data, dict) else {}


def _to_float(cell: str) -> float:
    try:
        return float(cell) if cell.strip() else math.nan
    except ValueError:
        return math.nan


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> Any:
    """Bools become 0/1 (success), lists/dicts are dropped to NaN (not a scalar metric)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return value
    return math.nan


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    return f"(line {shown}{', …' if len(numbers) > 5 else ''})"
