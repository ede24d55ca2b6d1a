"""The one logger: ``metrics.csv``, TensorBoard, ``eval.jsonl`` and optional Weights & Biases.

On resume, rows and eval lines past the checkpoint's step are dropped and TensorBoard purges them, so a
resumed run continues the same metric axis (a resumed run must not restart its curves at step 0).
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Any


class Logger:
    """Writes namespaced scalar metrics (``train/``, ``eval/``, ``losses/``, ``time/``) of one run.

    Args:
        run_dir: the run directory.
        csv_enabled / tensorboard / wandb: sinks to write.
        start_step: the step training resumes at (0 for a new run); later data is discarded.
        wandb_kwargs: ``project``, ``entity``, ``config`` for ``wandb.init``; the run id is kept in run.json.
    """

    def __init__(
        self,
        run_dir: Path,
        csv_enabled: bool = True,
        tensorboard: bool = True,
        wandb: bool = False,
        start_step: int = 0,
        wandb_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.csv_path = self.run_dir / "metrics.csv"
        self.eval_path = self.run_dir / "eval.jsonl"
        self.csv_enabled = csv_enabled
        self._columns: list[str] = ["step", "time"]
        self._start_time = time.time()
        if start_step > 0:
            self._truncate(start_step)
        elif self.csv_path.exists():
            self.csv_path.unlink()
        if start_step == 0 and self.eval_path.exists():
            self.eval_path.unlink()
        if self.csv_path.exists():
            with self.csv_path.open() as f:
                header = next(csv.reader(f), None)
            if header:
                self._columns = header
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.run_dir / "tb"), purge_step=start_step if start_step else None)
        self._wandb = None
        if wandb:
            self._wandb = _init_wandb(self.run_dir, wandb_kwargs or {})

    def log(self, metrics: dict[str, float], step: int) -> None:
        """Record scalar metrics at ``step`` in every sink."""
        metrics = {k: float(v) for k, v in metrics.items() if _is_number(v)}
        if not metrics:
            return
        if self.csv_enabled:
            self._write_csv(metrics, step)
        if self._tb is not None:
            for key, value in metrics.items():
                self._tb.add_scalar(key, value, step)
        if self._wandb is not None:
            self._wandb.log(metrics, step=step)

    def log_eval_episodes(self, episodes: list[dict[str, Any]], step: int) -> None:
        """Append one line per evaluation episode to ``eval.jsonl``."""
        with self.eval_path.open("a") as f:
            for i, ep in enumerate(episodes):
                f.write(json.dumps({"step": step, "episode": i, **_jsonable(ep)}) + "\n")

    def flush(self) -> None:
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None

    # -- csv ----------------------------------------------------------------------------------------
    def _write_csv(self, metrics: dict[str, float], step: int) -> None:
        new = [k for k in metrics if k not in self._columns]
        row = {"step": step, "time": round(time.time() - self._start_time, 3), **metrics}
        if new or not self.csv_path.exists():
            rows = self._read_rows()
            self._columns = self._columns + sorted(new)
            with self.csv_path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self._columns)
                writer.writeheader()
                writer.writerows(rows)
                writer.writerow(row)
        else:
            with self.csv_path.open("a", newline="") as f:
                csv.DictWriter(f, fieldnames=self._columns).writerow(row)

    def _read_rows(self) -> list[dict[str, str]]:
        if not self.csv_path.exists():
            return []
        with self.csv_path.open(newline="") as f:
            return list(csv.DictReader(f))

    def _truncate(self, start_step: int) -> None:
        if self.csv_path.exists():
            with self.csv_path.open(newline="") as f:
                reader = csv.DictReader(f)
                columns = reader.fieldnames or ["step", "time"]
                rows = [r for r in reader if r.get("step") and int(float(r["step"])) <= start_step]
            with self.csv_path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
            if rows and rows[-1].get("time"):
                self._start_time -= float(rows[-1]["time"])
        if self.eval_path.exists():
            lines = []
            for line in self.eval_path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= start_step:
                        lines.append(line)
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a kill
            self.eval_path.write_text("".join(f"{line}\n" for line in lines))


def _is_number(v: Any) -> bool:
    try:
        return not math.isnan(float(v)) or True
    except (TypeError, ValueError):
        return False


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if hasattr(v, "item") and getattr(v, "ndim", 0) == 0:
            v = v.item()
        elif hasattr(v, "tolist"):
            v = v.tolist()
        out[k] = v
    return out


def _init_wandb(run_dir: Path, kwargs: dict[str, Any]) -> Any:
    try:
        import wandb
    except ImportError:
        raise RuntimeError("logger=wandb needs the wandb package: pip install 'pgsuite[wandb]'") from None
    info_file = run_dir / "run.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    run_id = info.get("wandb_id") or wandb.util.generate_id()
    info["wandb_id"] = run_id
    info_file.write_text(json.dumps(info, indent=2))
    return wandb.init(
        id=run_id,
        resume="allow",
        dir=str(run_dir),
        project=kwargs.get("project"),
        entity=kwargs.get("entity"),
        config=kwargs.get("config"),
    )
