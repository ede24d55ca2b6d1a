"""The sweep report of the engine launchers (issue 18), without an engine: outcomes, sweep.json/sweep.md,
the failed jobs that ``agents.report`` lists, and one-line CLI errors kept as a job's cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus

from agents.core.config import ConfigError
from agents.runtime.launchers import (
    ExitAsError,
    JobOutcome,
    failed_jobs,
    failed_return,
    first_line,
    outcome_of,
    write_sweep_report,
)


def _cli_like(cfg: dict) -> str:
    """Fails the way agents.train does on bad input: message on stderr, then SystemExit(2) from None."""
    try:
        raise ConfigError(f"unknown agent {cfg['agent']!r}; did you mean 'sb3-ppo'?")
    except ConfigError:
        raise SystemExit(2) from None


def test_exit_as_error_keeps_the_one_line_message() -> None:
    with pytest.raises(RuntimeError, match="unknown agent 'sb3-pp'; did you mean 'sb3-ppo'"):
        ExitAsError(_cli_like)({"agent": "sb3-pp"})
    assert ExitAsError(lambda cfg: cfg["x"] + 1)({"x": 1}) == 2


def test_outcomes_and_sweep_report(tmp_path: Path) -> None:
    done = JobReturn(overrides=["seed=0"])
    done.status, done.return_value = JobStatus.COMPLETED, str(tmp_path / "run0")
    crashed = JobReturn(overrides=["seed=1"])
    crashed.status, crashed.return_value = JobStatus.FAILED, ValueError("n_steps must be > 1")
    outcomes = [
        outcome_of(0, ["seed=0"], done, "101_0"),
        outcome_of(1, ["seed=1"], crashed, "101_1"),
        outcome_of(2, ["seed=2"], RuntimeError("worker died\nTraceback ...\nMemoryError: oom"), "101_2"),
    ]
    assert [o.status for o in outcomes] == ["finished", "failed", "failed"]
    assert outcomes[0].run_dir == str(tmp_path / "run0")
    assert outcomes[1].reason == "ValueError: n_steps must be > 1"
    assert outcomes[2].reason == "MemoryError: oom"  # the telling line of a multi-line engine error
    sweep = tmp_path / "multirun" / "2026-01-01_00-00-00"
    path = write_sweep_report(sweep, "submitit/slurm", outcomes)
    data = json.loads(path.read_text())
    assert data["failed"] == 2 and data["jobs"][1]["engine_id"] == "101_1"
    md = (sweep / "sweep.md").read_text()
    assert "3 job(s): 1 finished, 2 failed." in md and "| 1 | `seed=1` | failed | ValueError" in md
    listed = failed_jobs(tmp_path)
    assert [p for p, _ in listed] == [sweep, sweep]
    assert listed[0][1] == "sweep job #1 failed (seed=1): ValueError: n_steps must be > 1"


def test_failed_return_is_raised_by_hydra_after_the_batch() -> None:
    ret = failed_return(["seed=3"], RuntimeError("left the SLURM queue without a result"))
    assert ret.status == JobStatus.FAILED
    with pytest.raises(RuntimeError, match="left the SLURM queue"):
        _ = ret.return_value
    assert first_line("") == "" and JobOutcome(0, [], "finished").reason == ""
