"""docs/extending.md: every ``bash`` block (in order, as one script) and every ``python`` block (in order,
as one script) runs, from a scratch folder holding ``examples/`` (issue 14)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, cli_env

DOC = ROOT / "docs" / "extending.md"


def blocks(language: str) -> list[str]:
    """The fenced ``language`` blocks of the page, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


def test_the_page_documents_every_topic():
    text = DOC.read_text()
    for heading in (
        "## The public API",
        "## The `Learner` contract",
        "## Add an agent",
        "## Add an env",
        "## Add a suite",
        "## Run a comparison",
        "## Read the report",
        "## From Python",
    ):
        assert heading in text, heading
    assert len(blocks("bash")) >= 4 and len(blocks("python")) >= 3
    assert (
        "docs/extending.md" in (ROOT / "README.md").read_text()
        and "agents.list" in (ROOT / "README.md").read_text()
    )


@pytest.mark.slow
def test_every_command_on_the_page_runs(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = (
        bin_dir / "python"
    )  # `python` in the commands is this interpreter (a symlink would leave its venv)
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    env = cli_env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    script = "set -euo pipefail\n" + "\n".join(blocks("bash"))
    proc = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "over 2 envs" in proc.stdout  # the suite report printed its aggregate
    assert (tmp_path / "runs" / "suites" / "byo-mini" / "plots" / "eval_return.svg").is_file()

    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "examples" / "external_agent"), env["PYTHONPATH"]])
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks("python"))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "eval/return_mean" in proc.stdout
