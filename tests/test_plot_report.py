"""``python -m agents.plot`` / ``python -m agents.report`` on run directories the tests create: hand-written
fixtures with known scores, deliberately damaged runs, and tiny real ``agents.train`` runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from agents import plot, report
from agents.analysis.runs import discover_runs, run_curve

ROOT = Path(__file__).resolve().parents[1]

# Final eval returns (last evaluation, mean of 2 episodes) per (env, agent), seeds 0..3.
FINAL = {
    ("cartpole", "ppo"): [10.0, 20.0, 30.0, 100.0],
    ("cartpole", "a2c"): [5.0, 25.0, 15.0, 15.0],
    ("pendulum", "ppo"): [-100.0, -200.0, -300.0, -400.0],
    ("pendulum", "a2c"): [-500.0, -600.0, -700.0, -800.0],
}
REFS = {"cartpole": (0.0, 100.0), "pendulum": (-1000.0, 0.0)}


def write_run(
    path: Path, env: str, agent: str, seed: int, final: float, status: str = "finished", lr: float = 0.001
) -> Path:
    """A run directory in the runtime's format whose last evaluation has mean return ``final``."""
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(
        f"env:\n  name: {env}\nagent:\n  name: {agent}\n  lr: {lr}\nseed: {seed}\nbudget:\n  name: smoke\n"
        "run:\n  total_steps: 300\neval:\n  episodes: 2\n  deterministic: true\n"
    )
    (path / "run.json").write_text(json.dumps({"env": env, "agent": agent, "seed": seed, "status": status}))
    with (path / "metrics.csv").open("w") as f:
        f.write("step,time,train/episode_return,eval/return_mean,eval/success_rate\n")
        for step in (100, 200, 300):
            f.write(f"{step},{step / 100},{final * step / 300},,\n")
            f.write(f"{step},{step / 100},,{final * step / 300},{float(step == 300)}\n")
    with (path / "eval.jsonl").open("w") as f:
        for step in (100, 200, 300):
            mean = final * step / 300
            for episode, offset in enumerate((-1.0, 1.0)):  # episode returns mean +- 1
                record = {"step": step, "episode": episode, "return": mean + offset, "length": 10}
                f.write(json.dumps({**record, "success": step == 300 and episode == 1}) + "\n")
    return path


@pytest.fixture(scope="module")
def fixture_runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for (env, agent), finals in FINAL.items():
        for seed, final in enumerate(finals):
            write_run(root / env / agent / f"seed{seed}" / "2026-01-01_00-00-00", env, agent, seed, final)
    return root


@pytest.fixture(scope="module")
def fixture_report(fixture_runs, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report")
    refs = out / "refs.yaml"
    refs.write_text("".join(f"{env}: {{min: {lo}, max: {hi}}}\n" for env, (lo, hi) in REFS.items()))
    argv = [str(fixture_runs), f"out={out}", "reps=200", f"refs={refs}", "formats=png,svg"]
    assert report.main(argv) == 0
    return out, json.loads((out / "report.json").read_text())


def iqm(values) -> float:
    """Interquartile mean by hand: drop the lowest and highest quarter, average the rest."""
    ordered = sorted(values)
    cut = len(ordered) // 4
    return float(np.mean(ordered[cut : len(ordered) - cut]))


def test_report_numbers_match_hand_computation(fixture_report):
    out, data = fixture_report
    estimates = data["metrics"]["eval/return"]["estimates"]
    for (env, agent), finals in FINAL.items():
        est = estimates[env][agent]
        assert est["iqm"][0] == pytest.approx(iqm(finals))
        assert est["mean"][0] == pytest.approx(np.mean(finals))
        for point, low, high in est.values():
            assert low <= point + 1e-9 and point <= high + 1e-9
        assert min(finals) <= est["iqm"][1] and est["iqm"][2] <= max(finals)
        low, high = REFS[env]
        gap = np.mean([1.0 - min((f - low) / (high - low), 1.0) for f in finals])
        assert est["optimality_gap"][0] == pytest.approx(gap)
    assert estimates["cartpole"]["ppo"]["iqm"][0] == pytest.approx(25.0)  # (20 + 30) / 2
    # P(a2c > ppo) on cartpole: Mann-Whitney over the 16 pairs, ties count 1/2.
    x, y = FINAL[("cartpole", "a2c")], FINAL[("cartpole", "ppo")]
    poi = np.mean([(a > b) + 0.5 * (a == b) for a in x for b in y])
    rows = {(r["env"], r["x"], r["y"]): r["p"] for r in data["metrics"]["eval/return"]["improvement"]}
    assert rows[("cartpole", "a2c", "ppo")][0] == pytest.approx(poi)
    # All-env aggregate on normalised scores: 8 values per agent.
    normalised = [
        (f - REFS[e][0]) / (REFS[e][1] - REFS[e][0]) for (e, a), fs in FINAL.items() if a == "ppo" for f in fs
    ]
    assert data["metrics"]["eval/return"]["aggregate"]["ppo"]["iqm"][0] == pytest.approx(iqm(normalised))
    # Success: only the last evaluation's second episode succeeds -> rate 0.5 everywhere, gap 0.5.
    success = data["metrics"]["eval/success"]["estimates"]["pendulum"]["a2c"]
    assert success["mean"][0] == pytest.approx(0.5) and success["optimality_gap"][0] == pytest.approx(0.5)
    markdown = (out / "report.md").read_text()
    assert "| cartpole | ppo | 4 | 300 | 25 [" in markdown
    assert "40 [" in markdown  # cartpole/ppo mean


def test_report_embeds_png_and_saves_svg(fixture_report):
    out, _ = fixture_report
    markdown = (out / "report.md").read_text()
    for stem in ("eval_return_curves", "eval_return_final", "eval_return_profiles", "eval_success_curves"):
        assert f"]({stem}.png)" in markdown
        assert mpimg.imread(out / f"{stem}.png").ndim == 3
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    assert (out / "scores.csv").read_text().count("\n") == 2 * 16 + 1  # 16 runs x 2 metrics + header


def test_plot_writes_learning_curves(fixture_runs, tmp_path, capsys):
    assert plot.main([str(fixture_runs), "metric=eval/success", "reps=50", f"out={tmp_path}"]) == 0
    assert "16 run(s) in 4 env×agent group(s)" in capsys.readouterr().out
    assert mpimg.imread(tmp_path / "eval_success.png").shape[2] in (3, 4)
    assert (tmp_path / "eval_success.svg").stat().st_size > 1000
    # A metrics.csv column works too, and smoothing / mean aggregation are options.
    argv = [
        str(fixture_runs),
        "metric=train/episode_return",
        "agg=mean",
        "smooth=2",
        "reps=20",
        f"out={tmp_path}",
    ]
    assert plot.main(argv) == 0
    assert (tmp_path / "train_episode_return.png").exists()


def test_damaged_runs_are_skipped_with_reasons(tmp_path, capsys):
    root = tmp_path / "runs"
    good = write_run(root / "cartpole/ppo/seed0/t", "cartpole", "ppo", 0, 30.0)
    cut = write_run(root / "cartpole/ppo/seed1/t", "cartpole", "ppo", 1, 60.0, status="running")
    with (cut / "eval.jsonl").open("a") as f:
        f.write('{"step": 400, "episode": 0, "retu')  # killed mid-write
    with (cut / "metrics.csv").open("a") as f:
        f.write("400,4.0,1")  # a short row
    no_csv = write_run(root / "cartpole/ppo/seed2/t", "cartpole", "ppo", 2, 90.0)
    (no_csv / "metrics.csv").unlink()
    with (no_csv / "eval.jsonl").open("a") as f:  # a diverged episode: not a number to average
        f.write('{"step": 300, "episode": 2, "return": Infinity, "length": 1}\n')
    no_evals = write_run(root / "cartpole/ppo/seed6/t", "cartpole", "ppo", 6, 60.0)
    (no_evals / "eval.jsonl").unlink()
    (root / "cartpole/ppo/seed3/empty").mkdir(parents=True)
    garbage = root / "cartpole/ppo/seed4/t"
    garbage.mkdir(parents=True)
    (garbage / "config.yaml").write_text("{{{ not yaml")
    (garbage / "eval.jsonl").write_text("\x00\x01 garbage\n")
    just_started = root / "cartpole/ppo/seed5/t"
    just_started.mkdir(parents=True)
    (just_started / "config.yaml").write_text("env: {name: cartpole}\nagent: {name: ppo}\nseed: 5\n")
    orphan = root / "loose"
    orphan.mkdir()
    (orphan / "eval.jsonl").write_text('{"step": 1, "return": 1.0}\n')

    runs, skipped = discover_runs(root)
    assert [r.seed for r in runs] == [0, 1, 2, 6]
    reasons = {s.path.name if s.path.name != "t" else s.path.parent.name: s.reason for s in skipped}
    assert "empty directory" in reasons["empty"]
    assert "no env/agent" in reasons["seed4"]
    assert "no usable metrics.csv or eval.jsonl" in reasons["seed5"]
    assert "no config.yaml or run.json" in reasons["loose"]
    notes = {r.seed: "; ".join(r.notes) for r in runs}
    assert "eval.jsonl: dropped 1 unreadable line(s) (line 7)" in notes[1]
    assert "metrics.csv: dropped 1 malformed line(s)" in notes[1]
    assert "metrics.csv missing" in notes[2]
    assert run_curve(runs[1], "eval/return").final() == pytest.approx(60.0)  # the cut line is ignored
    assert run_curve(runs[2], "eval/return").source == "eval.jsonl"
    assert run_curve(runs[2], "eval/return").final() == pytest.approx(90.0)
    fallback = run_curve(runs[3], "eval/return")  # no eval.jsonl: metrics.csv's eval/return_mean
    assert fallback.source == "metrics.csv:eval/return_mean" and fallback.final() == pytest.approx(60.0)
    assert not notes[0] and runs[0].path == good

    out = tmp_path / "report"
    assert report.main([str(root), f"out={out}", "reps=50", "method_figures=false", "formats=png"]) == 0
    err = capsys.readouterr().err
    for path in (root / "cartpole/ppo/seed3/empty", garbage, just_started, orphan):
        assert f"skipped {path}:" in err
    assert f"note {cut}:" in err
    data = json.loads((out / "report.json").read_text())
    assert data["metrics"]["eval/return"]["estimates"]["cartpole"]["ppo"]["mean"][0] == pytest.approx(60.0)
    markdown = (out / "report.md").read_text()
    assert "## Skipped runs and data problems" in markdown and str(garbage) in markdown
    assert plot.main([str(root), "reps=20", f"out={out}"]) == 0


def test_runs_with_different_configs_are_flagged_and_split(tmp_path, capsys):
    for seed, lr in enumerate((0.1, 0.1, 0.01, 0.01)):
        write_run(tmp_path / f"seed{seed}", "cartpole", "ppo", seed, 10.0 * (seed + 1), lr=lr)
    out = tmp_path / "out"
    assert plot.main([str(tmp_path), "reps=20", f"out={out}", "formats=png"]) == 0
    assert "warning: cartpole/ppo runs differ in agent.lr" in capsys.readouterr().err
    assert (
        report.main([str(tmp_path), "reps=20", f"out={out}", "formats=png", "by=agent.lr,budget.name"]) == 0
    )
    estimates = json.loads((out / "report.json").read_text())["metrics"]["eval/return"]["estimates"][
        "cartpole"
    ]
    assert estimates["ppo[lr=0.1,budget=smoke]"]["mean"][0] == pytest.approx(15.0)
    assert estimates["ppo[lr=0.01,budget=smoke]"]["mean"][0] == pytest.approx(35.0)
    assert report.main([str(tmp_path), "reps=20", f"out={out}", "formats=png", "method_figures=false"]) == 0
    assert (
        "pools runs whose configs differ in `agent.lr`: split them with `by=agent.lr`"
        in (out / "report.md").read_text()
    )


def test_bad_command_lines_exit_with_a_fix(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert plot.main([str(empty)]) == 1
    assert report.main([str(empty)]) == 1
    assert "no readable run directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        plot.main([str(tmp_path / "missing")])
    assert exc.value.code == 2 and "is not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        report.main([str(empty), "metrc=eval/success"])
    assert exc.value.code == 2 and "did you mean metric=" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        plot.main([str(empty), "reps=many"])
    assert exc.value.code == 2 and "expected int" in capsys.readouterr().err
    for bad, message in (
        ("formats=gif", "subset of png,svg,pdf"),
        ("agg=max", "iqm, mean or median"),
        ("reps=0", "at least 1"),
    ):
        with pytest.raises(SystemExit) as exc:
            report.main([str(empty), bad])
        assert exc.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        report.main(["--help"])
    assert exc.value.code == 0 and "refs=" in capsys.readouterr().out
    proc = subprocess.run(
        [sys.executable, "-m", "agents.plot", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "metric=" in proc.stdout


@pytest.mark.skipif(not (ROOT / "agents" / "train.py").exists(), reason="agents/train.py not written yet")
def test_real_runs_plot_and_report(tmp_path):
    from conftest import run_module

    root = tmp_path / "runs"
    # A Hydra multirun over two seeds (one process): the layout users get from `-m seed=0,1`.
    args = [
        "-m",
        "env=cartpole",
        "agent=sb3-ppo",
        "budget=smoke",
        f"run.root={root}",
        "seed=0,1",
        "run.progress=false",
    ]
    run_module("agents.train", *args, timeout=300)
    runs, skipped = discover_runs(root)
    assert [(r.env, r.agent, r.seed, r.status) for r in runs] == [
        ("cartpole", "sb3-ppo", s, "finished") for s in (0, 1)
    ]
    assert skipped == []  # Hydra's empty per-job folders are not reported
    # Hand computation from the raw eval.jsonl: the last evaluation's mean return per run.
    finals = []
    for run in runs:
        records = [json.loads(line) for line in (run.path / "eval.jsonl").read_text().splitlines()]
        last = max(r["step"] for r in records)
        finals.append(np.mean([r["return"] for r in records if r["step"] == last]))
    assert report.main([str(root), "reps=100", "formats=png"]) == 0
    data = json.loads((root / "report" / "report.json").read_text())
    est = data["metrics"]["eval/return"]["estimates"]["cartpole"]["sb3-ppo"]
    assert est["mean"][0] == pytest.approx(np.mean(finals)) and est["iqm"][0] == pytest.approx(
        np.mean(finals)
    )
    assert "![learning curves](eval_return_curves.png)" in (root / "report" / "report.md").read_text()
    assert plot.main([str(root), "metric=train/episode_return", "reps=50"]) == 0
    assert (root / "plots" / "train_episode_return.svg").exists()
    # Damage a copy of a real run: truncated eval line, no metrics.csv.
    copy = root / "damaged"
    shutil.copytree(runs[0].path, copy, ignore=shutil.ignore_patterns("checkpoints", "tb"))
    (copy / "metrics.csv").unlink()
    text = (copy / "eval.jsonl").read_text()
    (copy / "eval.jsonl").write_text(text[: len(text) - 10])
    runs2, _ = discover_runs(root)
    damaged = next(r for r in runs2 if r.path == copy)
    assert "metrics.csv missing" in damaged.notes and any("dropped 1" in n for n in damaged.notes)
    assert report.main([str(root), "reps=50", "method_figures=false", "formats=png"]) == 0


def test_failed_and_killed_runs_are_listed_apart(tmp_path):
    root = tmp_path / "runs"
    write_run(root / "cartpole/ppo/seed0/t", "cartpole", "ppo", 0, 30.0)
    failed = write_run(root / "cartpole/ppo/seed1/t", "cartpole", "ppo", 1, 60.0, status="failed")
    info = json.loads((failed / "run.json").read_text())
    (failed / "run.json").write_text(json.dumps({**info, "error": "OSError: No space left on device"}))
    write_run(root / "cartpole/ppo/seed2/t", "cartpole", "ppo", 2, 90.0, status="running")  # no lock holder
    out = tmp_path / "report"
    assert report.main([str(root), f"out={out}", "reps=50"]) == 0
    text = (out / "report.md").read_text()
    section = text.split("## Failed, killed and interrupted runs")[1].split("##")[0]
    assert "**failed** cartpole / ppo seed 1" in section and "No space left on device" in section
    assert "**killed** cartpole / ppo seed 2" in section and "seed 0" not in section
