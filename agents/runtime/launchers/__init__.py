"""Hydra launchers for distributed engines that always finish a sweep and write its report (issue 18).

``hydra/launcher=ray`` (:mod:`.ray_launcher`, on hydra-ray-launcher), ``hydra/launcher=slurm`` and
``hydra/launcher=submitit`` (:mod:`.submitit_launcher`, on hydra-submitit-launcher) run every job of the
sweep even when some fail, then write ``<sweep dir>/sweep.json`` and ``sweep.md``: one row per job with
its overrides, ``finished`` or ``failed`` (with the one-line cause), the run directory and the engine's id
of the job. ``python -m agents.report <folder>`` lists the failed jobs of every sweep under the folder.
After the report, Hydra raises the first failure as usual (exit status 1).

What counts as failed: the run raised (including the one-line ``error: ...`` exits of the CLI, whose
message is kept), the job's process died (killed, out of memory, past its time limit), or the engine lost
it. Nothing is retried at this level; resubmit the failed jobs' overrides (``sweep.md`` lists them).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus

log = logging.getLogger(__name__)

SWEEP_REPORT = "sweep.json"


@dataclass
class JobOutcome:
    """One job of a sweep as the launcher saw it."""

    num: int
    overrides: list[str]
    status: str  # finished | failed
    reason: str = ""
    run_dir: str | None = None
    engine_id: str = ""


class ExitAsError:
    """Wraps the task function so that ``SystemExit`` (the CLI's one-line errors) becomes a failed job
    with that message, instead of a job process that vanishes without a result."""

    def __init__(self, task_function: Any) -> None:
        self.task_function = task_function

    def __call__(self, cfg: Any) -> Any:
        try:
            return self.task_function(cfg)
        except SystemExit as exc:
            cause = exc.__context__  # `raise SystemExit(2) from None` keeps the error as its context
            message = str(cause) if cause is not None else f"the run exited with status {exc.code}"
            raise RuntimeError(message) from None


def first_line(text: str, limit: int = 300) -> str:
    """The most telling line of an error text: the last ``error:``/``...Error:`` line, else the first."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith("error:") or "Error:" in line or "Exception:" in line:
            return line[:limit]
    return lines[0][:limit] if lines else ""


def outcome_of(num: int, overrides: list[str], ret: JobReturn | BaseException, engine_id: str) -> JobOutcome:
    """A :class:`JobOutcome` from a job's Hydra ``JobReturn`` or the engine's exception."""
    if isinstance(ret, BaseException):
        return JobOutcome(
            num, overrides, "failed", first_line(f"{type(ret).__name__}: {ret}"), None, engine_id
        )
    if ret.status == JobStatus.COMPLETED:
        return JobOutcome(num, overrides, "finished", "", str(ret._return_value), engine_id)
    err = ret._return_value
    return JobOutcome(num, overrides, "failed", first_line(f"{type(err).__name__}: {err}"), None, engine_id)


def failed_return(overrides: list[str], err: BaseException) -> JobReturn:
    """A FAILED ``JobReturn`` for a job the engine lost (Hydra raises it after the batch)."""
    ret = JobReturn(overrides=list(overrides))
    ret.status = JobStatus.FAILED
    ret.return_value = err
    return ret


def write_sweep_report(sweep_dir: str | Path, engine: str, outcomes: list[JobOutcome]) -> Path:
    """Write ``sweep.json`` and ``sweep.md`` into ``sweep_dir``; returns the JSON path."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    failed = [o for o in outcomes if o.status != "finished"]
    data = {"engine": engine, "jobs": [asdict(o) for o in outcomes], "failed": len(failed)}
    path = sweep_dir / SWEEP_REPORT
    path.write_text(json.dumps(data, indent=1))
    lines = [
        f"# Sweep `{sweep_dir}` ({engine})",
        "",
        f"{len(outcomes)} job(s): {len(outcomes) - len(failed)} finished, {len(failed)} failed.",
        "",
        "| job | overrides | status | run directory / cause | engine id |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        detail = o.run_dir if o.status == "finished" else o.reason.replace("|", "\\|")
        lines.append(f"| {o.num} | `{' '.join(o.overrides)}` | {o.status} | {detail} | {o.engine_id} |")
    (sweep_dir / "sweep.md").write_text("\n".join(lines) + "\n")
    summary = f"sweep: {len(outcomes) - len(failed)} of {len(outcomes)} job(s) finished"
    log.info(f"{summary}; report: {sweep_dir / 'sweep.md'}")
    if failed:
        log.error(f"{summary}; failed: " + "; ".join(f"#{o.num} ({o.reason})" for o in failed))
    return path


def failed_jobs(folder: str | Path) -> list[tuple[Path, str]]:
    """(sweep dir, "sweep job #N failed: <overrides>: <cause>") for every failed job of the sweeps
    whose ``sweep.json`` lies under ``folder``."""
    out = []
    for path in sorted(Path(folder).rglob(SWEEP_REPORT)):
        try:
            jobs = json.loads(path.read_text())["jobs"]
        except (OSError, ValueError, KeyError):
            continue
        for job in jobs:
            if job.get("status") != "finished":
                what = " ".join(job.get("overrides", []))
                out.append((path.parent, f"sweep job #{job.get('num')} failed ({what}): {job.get('reason')}"))
    return out
