"""Suites (issue 14): suite configs, their expansion into a multirun, per-agent override files, suite
reports with the shipped normalisation references, and a real smoke suite run."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agents.analysis.suites import references_for, shipped_references
from agents.api import compose
from agents.core import search_path
from agents.core.config import ConfigError, available
from agents.core.suites import expand_suite, load_suite
from tests.conftest import ROOT, cli_env, run_module
from tests.test_plot_report import write_run

EXAMPLE_CONF = ROOT / "examples" / "external_agent" / "pgs_reinforce" / "conf"


@pytest.fixture(autouse=True)
def _clean_search_path():
    yield
    search_path.set_extra([])


@pytest.mark.parametrize("name", available("suite"))
def test_every_shipped_suite_names_existing_tasks_refs_and_a_source(name):
    suite = load_suite(name)
    assert suite.tasks and len(set(suite.tasks)) == len(suite.tasks) and suite.seeds
    for task in suite.tasks:
        assert task in available("env"), f"{name}: {task}"
    assert suite.source and suite.description and suite.metric in ("eval/return", "eval/success")
    if suite.refs:
        assert suite.refs in shipped_references()
        matched = references_for([suite.refs], suite.tasks)
        assert set(matched) == set(suite.tasks), f"{name}: refs {suite.refs} do not cover every task"


def test_task_groups_match_their_sources():
    assert len(load_suite("metaworld-mt10").tasks) == 10
    assert len(load_suite("metaworld-all").tasks) == 50
    assert set(load_suite("metaworld-ml45-test").tasks) == {
        f"metaworld-{t}" for t in ("bin-picking", "box-close", "hand-insert", "door-lock", "door-unlock")
    }
    assert load_suite("dmc-hard").tasks == ["dmc-humanoid-stand", "dmc-humanoid-walk", "dmc-humanoid-run"]
    easy, medium = set(load_suite("dmc-easy").tasks), set(load_suite("dmc-medium").tasks)
    assert len(easy) == 9 and len(medium) == 11 and not easy & medium


def test_shipped_references_document_their_sources():
    refs = shipped_references()
    assert refs["dmc"]["min"] == 0 and refs["dmc"]["max"] == 1000 and "Tassa" in refs["dmc"]["source"]
    for name, ref in refs.items():
        assert ref["source"] and ref["max"] > ref["min"], name
        assert any(fnmatch.fnmatchcase(env, ref["envs"]) for env in available("env")), name


def test_suite_expands_to_a_multirun_over_tasks_and_seeds():
    argv = expand_suite(["suite=dmc-easy", "agent=drqv2,sb3-sac", "budget=smoke"])
    suite = load_suite("dmc-easy")
    assert argv[0] == "-m" and "suite=dmc-easy" in argv and "run.root=runs/suites/dmc-easy" in argv
    assert f"env={','.join(suite.tasks)}" in argv and "seed=0,1,2,3,4" in argv
    argv = expand_suite(["suite=dmc-easy", "env=dmc-walker-walk", "seed=7", "run.root=out"])
    assert "env=dmc-walker-walk" in argv and "seed=7" in argv and "run.root=out" in argv
    with pytest.raises(ConfigError, match="not a task of suite 'dmc-easy'"):
        expand_suite(["suite=dmc-easy", "env=cartpole"])
    with pytest.raises(ConfigError, match="Did you mean 'dmc-easy'") as err:
        expand_suite(["suite=dmc-eazy"])
    assert "\n" not in str(err.value)


def test_agent_overrides_reach_only_their_agent(tmp_path):
    """One cross-agent sweep carries settings each agent understands (no 'Key not in struct')."""
    file = tmp_path / "overrides.yaml"
    file.write_text(
        yaml.safe_dump({"drqv2": {"num_seed_steps": 7}, "sb3-sac": {"hyperparams": {"tau": 0.5}}})
    )
    common = ["budget=smoke", "obs=state", f"agent_overrides={file}"]
    drq = compose("dmc-cartpole-balance", "drqv2", 0, common)
    sac = compose("dmc-cartpole-balance", "sb3-sac", 0, common)
    assert drq.agent.num_seed_steps == 7 and "hyperparams" not in drq.agent
    assert sac.agent.hyperparams.tau == 0.5 and "num_seed_steps" not in sac.agent
    cli = compose("dmc-cartpole-balance", "drqv2", 0, [*common, "agent.num_seed_steps=9"])
    assert cli.agent.num_seed_steps == 9  # the command line beats the file
    folder = tmp_path / "per_agent"
    folder.mkdir()
    (folder / "drqv2.yaml").write_text("num_seed_steps: 5\n")
    assert (
        compose(
            "dmc-cartpole-balance", "drqv2", 0, [*common[:2], f"agent_overrides={folder}"]
        ).agent.num_seed_steps
        == 5
    )
    with pytest.raises(ConfigError, match="no such file"):
        compose("dmc-cartpole-balance", "drqv2", 0, ["agent_overrides=missing.yaml"])


def test_suite_agent_overrides_and_external_suites(tmp_path):
    conf = tmp_path / "conf" / "suite"
    conf.mkdir(parents=True)
    (conf / "mine.yaml").write_text(
        "name: mine\ntasks: [dmc-cartpole-balance]\nseeds: [0]\nrefs: dmc\noverrides: [obs=state]\n"
        "agent_overrides: {drqv2: {num_expl_steps: 3}}\n"
    )
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'conf'}]"
    cfg = compose("dmc-cartpole-balance", "drqv2", 0, ["budget=smoke", "suite=mine", searchpath])
    assert cfg.suite.name == "mine" and cfg.agent.num_expl_steps == 3
    from agents.core.precheck import preflight

    argv = preflight(["suite=mine", "agent=drqv2", searchpath])
    assert "obs=state" in argv and "env=dmc-cartpole-balance" in argv


def _suite_runs(root: Path, finals: dict[tuple[str, str], list[float]]) -> None:
    for (env, agent), values in finals.items():
        for seed, final in enumerate(values):
            run = write_run(root / env / agent / f"seed{seed}" / "t", env, agent, seed, final)
            config = yaml.safe_load((run / "config.yaml").read_text())
            config["suite"] = {
                "name": "dmc-easy",
                "tasks": load_suite("dmc-easy").tasks,
                "metric": "eval/return",
                "refs": "dmc",
            }
            (run / "config.yaml").write_text(yaml.safe_dump(config))


def test_report_of_a_suite_normalises_with_shipped_refs_and_prints_the_aggregate(tmp_path, capsys):
    from agents import report

    finals = {
        ("dmc-walker-walk", "a"): [100.0, 200.0, 300.0, 400.0],
        ("dmc-cartpole-balance", "a"): [500.0, 600.0, 700.0, 800.0],
        ("dmc-walker-walk", "b"): [900.0, 900.0, 900.0, 900.0],
        ("dmc-cartpole-balance", "b"): [1000.0, 1000.0, 1000.0, 1000.0],
    }
    _suite_runs(tmp_path / "runs", finals)
    write_run(
        tmp_path / "runs" / "cartpole" / "a" / "seed0" / "t", "cartpole", "a", 0, 50.0
    )  # not in the suite
    assert report.main([str(tmp_path / "runs"), "reps=200", "formats=png"]) == 0
    out = capsys.readouterr()
    assert "eval/return over 2 envs (normalised by dmc)" in out.out
    assert "a: IQM 0.45" in out.out and "b: IQM 0.95" in out.out
    assert "not started with suite=dmc-easy" in out.err
    data = json.loads((tmp_path / "runs" / "report" / "report.json").read_text())
    assert data["suite"] == "dmc-easy" and data["refs"] == "dmc"
    aggregate = data["metrics"]["eval/return"]["aggregate"]
    assert aggregate["a"]["mean"][0] == pytest.approx(0.45) and aggregate["b"]["mean"][0] == pytest.approx(
        0.95
    )
    assert aggregate["b"]["optimality_gap"][0] == pytest.approx(0.05)


def test_plot_takes_labels_colours_order_and_frames(tmp_path, capsys):
    from matplotlib.colors import to_rgba

    from agents import plot
    from agents.analysis import figures
    from agents.analysis.aggregate import curve_bands
    from agents.analysis.display import Style, to_frames
    from agents.analysis.runs import curves_by_group, discover_runs

    _suite_runs(
        tmp_path / "runs", {("dmc-walker-walk", "a"): [1.0, 2.0], ("dmc-walker-walk", "b"): [3.0, 4.0]}
    )
    for config_file in (tmp_path / "runs").rglob("config.yaml"):
        config = yaml.safe_load(config_file.read_text())
        config["env"]["kwargs"] = {"action_repeat": 2}
        config_file.write_text(yaml.safe_dump(config))
    argv = [str(tmp_path / "runs"), "labels=a:Alpha,b:Beta", "colors=a:tab:red", "order=b,a", "x=frames"]
    assert plot.main([*argv, "reps=50", "formats=svg"]) == 0
    svg = (tmp_path / "runs" / "plots" / "eval_return.svg").read_text()
    assert "Alpha" in svg and "Beta" in svg and "frames" in svg
    runs, _ = discover_runs(tmp_path / "runs")
    groups, _ = curves_by_group(runs, "eval/return")
    frames = to_frames(groups)
    assert list(frames[("dmc-walker-walk", "a")][0][1].steps) == [200.0, 400.0, 600.0]
    fig = figures.plot_learning_curves(
        curve_bands(frames, reps=50), "eval/return", style=Style({"a": "tab:red"}, ["b", "a"])
    )
    lines = fig.axes[0].get_lines()
    assert [line.get_label().split(" ")[0] for line in lines] == ["b", "a"]
    assert to_rgba(lines[1].get_color()) == to_rgba("tab:red")
    with pytest.raises(SystemExit):
        plot.main([str(tmp_path / "runs"), "colors=a:notacolour"])
    assert "not a matplotlib colour" in capsys.readouterr().err


def test_one_command_runs_a_suite_for_two_agents_and_the_report_prints_the_aggregate(tmp_path):
    """Fast variant of the suite smoke run: two dmc-easy tasks, two agents, one seed, state observations."""
    root = tmp_path / "runs"
    run_module(
        "agents.train",
        "suite=dmc-easy",
        "env=dmc-cartpole-balance,dmc-walker-stand",
        "agent=drqv2,sb3-sac",
        "seed=0",
        "budget=smoke",
        "obs=state",
        f"run.root={root}",
        "run.progress=false",
        "logger.tensorboard=false",
        timeout=900,
    )
    assert len(list(root.rglob("summary.json"))) == 4
    out = run_module("agents.report", str(root), "reps=200", "formats=png")
    assert "eval/return over 2 envs (normalised by dmc)" in out.stdout
    assert "drqv2: IQM" in out.stdout and "sb3-sac: IQM" in out.stdout and "optimality gap" in out.stdout


@pytest.mark.slow
def test_suite_dmc_easy_two_agents_two_seeds_smoke(tmp_path):
    """Done when #3: suite=dmc-easy, two agents x 2 seeds at budget=smoke, then the normalised report."""
    root = tmp_path / "runs"
    run_module(
        "agents.train",
        "suite=dmc-easy",
        "agent=drqv2,sb3-sac",
        "seed=0,1",
        "budget=smoke",
        "obs=state",
        f"run.root={root}",
        "run.progress=false",
        "logger.tensorboard=false",
        timeout=3600,
    )
    assert len(list(root.rglob("summary.json"))) == 9 * 2 * 2
    out = run_module("agents.report", str(root), "reps=500", "formats=png")
    assert "eval/return over 9 envs (normalised by dmc)" in out.stdout


def test_external_suite_runs_through_the_searchpath_as_a_multirun(tmp_path):
    """An external agent and suite (hydra.searchpath) in one multirun: tasks x the suite's seeds."""
    env = cli_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "examples" / "external_agent"), env["PYTHONPATH"]])
    root = tmp_path / "runs"
    args = [
        "suite=byo-mini",
        "agent=reinforce-gauss",
        "budget=smoke",
        f"hydra.searchpath=[file://{EXAMPLE_CONF}]",
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.train",
            *args,
            f"run.root={root}",
            "run.progress=false",
            "logger.tensorboard=false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [p.relative_to(root).parts[:3] for p in root.rglob("summary.json")]
    assert sorted(runs) == sorted(
        (task, "reinforce-gauss", f"seed{seed}") for task in ("point-reach", "pendulum") for seed in (0, 1)
    )
