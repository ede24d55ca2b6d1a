"""Bring your own method (issue 14): the public API, external agents/envs through hydra.searchpath
(file:// and pkg://) and through an installed ``pgsuite.plugins`` entry point, ``--help``, ``agents.list``
and the one-line refusals of bad input."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from agents.core import plugins, search_path
from agents.core.config import ConfigError, available
from agents.core.precheck import check_spaces, preflight
from tests.conftest import ROOT, cli_env, only_run_dir

EXAMPLE = ROOT / "examples" / "external_agent"
EXAMPLE_CONF = EXAMPLE / "pgs_reinforce" / "conf"


def run_cli(args: list[str], cwd: Path, pythonpath: list[Path] = (), timeout: float = 300):
    """``args`` as a subprocess from ``cwd`` with the repository and ``pythonpath`` importable."""
    env = cli_env()
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env["PYTHONPATH"]])
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def console_script(name: str) -> list[str]:
    """The installed console script, else the module it points to (a checkout that was never installed)."""
    script = Path(sys.executable).parent / name
    module = {"pgsuite-train": "agents.train", "pgsuite-evaluate": "agents.evaluate"}.get(name)
    module = module or f"agents.{name.removeprefix('pgsuite-')}"
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


@pytest.fixture(autouse=True)
def _clean_search_path():
    yield
    search_path.set_extra([])
    plugins.reset()


def write_dist_info(site: Path, entry_point: str, name: str = "pgs_reinforce") -> None:
    """A real installed-distribution record (what ``pip install`` writes) declaring ``entry_point``."""
    info = site / f"{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[pgsuite.plugins]\n{name} = {entry_point}\n")


# -- the public API ----------------------------------------------------------------------------------


def test_public_api_is_importable_from_the_package_roots():
    from agents import (  # noqa: F401
        EnvConfig,
        EnvFactory,
        Learner,
        LearnerConfig,
        derive_seed,
        evaluate,
        report,
        seed_everything,
        train,
        train_suite,
    )
    from agents.api import train as api_train
    from envs import register

    assert callable(train) and callable(evaluate) and callable(report) and callable(register)
    assert issubclass(Learner, object) and LearnerConfig().name == "???"
    assert derive_seed(0, "train") == derive_seed(0, "train") != derive_seed(1, "train")
    assert api_train.__doc__ and "like ``python -m agents.train" in api_train.__doc__


def test_register_adds_an_env_id_in_one_line():
    from envs import register

    env_id = register("pgsuite-test/PointReach-v0", "pgs_reinforce.point_env:PointReach", max_episode_steps=5)
    assert env_id in gym.registry and gym.registry[env_id].max_episode_steps == 5
    assert register(env_id, "pgs_reinforce.point_env:PointReach") == env_id  # same entry point: no-op
    with pytest.raises(ValueError, match="already registered"):
        register(env_id, "some.other:Env")


def test_example_learner_imports_only_the_public_api():
    """The external learner reaches pgsuite through the package roots only (``from agents import ...``)."""
    for file in (EXAMPLE / "pgs_reinforce").glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] in ("agents", "envs")
            ):
                assert node.module in ("agents", "envs"), f"{file.name} imports {node.module}"


# -- search path, pre-check, did you mean -------------------------------------------------------------


def test_precheck_finds_configs_through_file_and_pkg_searchpaths(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for entry in (f"file://{EXAMPLE_CONF}", "pkg://pgs_reinforce.conf"):
        argv = preflight(["env=pendulum", "agent=reinforce-gauss", f"hydra.searchpath=[{entry}]"])
        assert "agent=reinforce-gauss" in argv and "reinforce-gauss" in available("agent")
        assert "byo-mini" in available("suite") and "point-reach" in available("env")
        with pytest.raises(ConfigError, match="Did you mean 'reinforce-gauss'"):
            preflight(["env=pendulum", "agent=reinforce-gaus", f"hydra.searchpath=[{entry}]"])
        search_path.set_extra([])
    with pytest.raises(ConfigError, match="unknown agent 'reinforce-gauss'"):
        preflight(["env=pendulum", "agent=reinforce-gauss"])  # without the search path it is unknown


def test_space_check_names_agent_env_and_spaces():
    with pytest.raises(ConfigError) as err:
        check_spaces("cartpole", "sb3-sac")
    message = str(err.value)
    assert "\n" not in message
    assert "'sb3-sac'" in message and "'cartpole'" in message and "action discrete (it takes box)" in message
    with pytest.raises(ConfigError, match="env parallel"):
        check_spaces("marl-climbing", "drqv2")
    check_spaces("dmc-cartpole-balance", "sb3-sac", obs="state")


def test_every_env_accepts_its_default_and_preset_agents():
    from omegaconf import OmegaConf

    for env in available("env"):
        raw = OmegaConf.load(search_path.find("env", env))
        for agent in {raw.get("default_agent"), *(raw.get("agent_presets") or {})} - {None}:
            if agent in available("agent"):
                check_spaces(env, agent)


BUILT_ENVS = [
    ("dmc-cartpole-balance", "state"),
    ("dmc-cartpole-balance", None),
    ("marl-climbing", None),
    ("wireless-ic", None),
    ("n2n-resnet18", None),
    ("noise-mask-digits", None),
]


@pytest.mark.parametrize(("env", "obs"), BUILT_ENVS)
def test_space_table_matches_the_built_envs(env, obs):
    """FAMILY_SPACES describes the shipped families without building them; check it against real builds."""
    from omegaconf import OmegaConf

    from agents.api import compose
    from agents.core.env_factory import EnvConfig, EnvFactory
    from agents.core.spaces import action_kind, env_spaces, space_kind

    cfg = compose(env, None, 0, ["budget=smoke", *([f"obs={obs}"] if obs else [])])
    resolved = OmegaConf.to_container(cfg.env, resolve=True)
    env_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EnvConfig), resolved))
    built = EnvFactory(env_cfg).make(seed=0)
    try:
        parallel = env_cfg.kind == "parallel"
        agent = built.possible_agents[0] if parallel else None
        obs_space = built.observation_space(agent) if parallel else built.observation_space
        act_space = built.action_space(agent) if parallel else built.action_space
    finally:
        built.close()
    table = env_spaces(resolved, obs)
    assert (table.observation, table.action) == (space_kind(obs_space), action_kind(act_space))


# -- --help and agents.list -------------------------------------------------------------------------


def test_help_and_bare_command_print_usage_with_groups(tmp_path, capsys, monkeypatch):
    proc = run_cli([sys.executable, "-m", "agents.train", "--help"], cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    from agents import evaluate, plot, report, train
    from agents import list as list_cli

    monkeypatch.setattr(sys, "argv", ["pgsuite-train"])  # no arguments at all
    with pytest.raises(SystemExit) as exit_:
        train.main()
    assert exit_.value.code == 0
    bare = capsys.readouterr().out
    for text in (proc.stdout, bare):
        assert "usage: python -m agents.train" in text
        for group in ("env (", "agent (", "budget (", "suite ("):
            assert group in text
        assert "dmc-easy" in text and "sb3-ppo" in text
    monkeypatch.setattr(sys, "argv", ["pgsuite-evaluate", "--help"])
    with pytest.raises(SystemExit) as exit_:
        evaluate.main()
    assert exit_.value.code == 0 and "usage" in capsys.readouterr().out
    for main in (report.main, plot.main):
        with pytest.raises(SystemExit) as exit_:
            main(["--help"])
        assert exit_.value.code == 0 and "usage" in capsys.readouterr().out
    assert list_cli.main(["--help"]) == 0 and "usage" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


def test_list_prints_every_env_agent_and_suite_with_spaces(tmp_path):
    proc = run_cli([sys.executable, "-m", "agents.list"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    for env in available("env"):
        assert env in rows, env
    assert (
        "CartPole-v1" in rows["cartpole"] and "discrete" in rows["cartpole"] and "vector" in rows["cartpole"]
    )
    assert "drqv2" in rows["dmc-walker-walk"] and "box" in rows["dmc-walker-walk"]
    assert "parallel" in rows["marl-climbing"] and "bn-mappo" in rows["marl-climbing"]
    for agent in available("agent"):
        assert agent in rows, agent
    assert "action box" in rows["sb3-sac"] and "discrete" in rows["sb3-ppo"]
    for suite in available("suite"):
        assert suite in rows, suite
    assert "pgsuite-list" in (ROOT / "pyproject.toml").read_text()


# -- bad input: one line, exit 2, nothing on disk -----------------------------------------------------


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    site = tmp_path / "site"
    write_dist_info(site, "pgs_missing_module.plugin:pgsuite_plugin", name="pgs_broken")
    work = tmp_path / "work"
    work.mkdir()
    cases = [
        (["suite=dmc-eazy", "agent=drqv2"], [], "unknown suite 'dmc-eazy'"),
        (["env=cartpole", "agent=sb3-sac"], [], "agent 'sb3-sac' cannot act in env 'cartpole'"),
        (
            ["env=pendulum", "agent=sb3-sac", "hydra.searchpath=[file:///no/such/conf]"],
            [],
            "file:///no/such/conf",
        ),
        (["env=pendulum", "agent=sb3-sac"], [site], "pgsuite plugin 'pgs_broken'"),
    ]
    for args, path, expected in cases:
        proc = run_cli(
            [sys.executable, "-m", "agents.train", *args, "run.root=runs"], cwd=work, pythonpath=path
        )
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (
            args,
            proc.stderr,
        )
        if path:
            assert "ModuleNotFoundError" in lines[0] and "pgs_missing_module" in lines[0]
        assert not list(work.iterdir()), f"{args} created {list(work.iterdir())}"


# -- external agent end to end ----------------------------------------------------------------------


def test_external_agent_trained_evaluated_reported_via_console_scripts(tmp_path):
    """Done when #1: an agent outside the repository, its package on PYTHONPATH, its configs through
    ``hydra.searchpath``: pgsuite-train, pgsuite-evaluate, pgsuite-report from another working directory."""
    outside = tmp_path / "my_lab"
    shutil.copytree(EXAMPLE / "pgs_reinforce", outside / "pgs_reinforce")
    conf = f"hydra.searchpath=[file://{outside / 'pgs_reinforce' / 'conf'}]"
    train = run_cli(
        [
            *console_script("pgsuite-train"),
            "env=pendulum",
            "agent=reinforce-gauss",
            "budget=smoke",
            conf,
            "run.progress=false",
            "logger.tensorboard=false",
        ],
        cwd=tmp_path,
        pythonpath=[outside],
    )
    assert train.returncode == 0, train.stderr[-3000:]
    run = only_run_dir(tmp_path / "runs")
    assert run.relative_to(tmp_path / "runs").parts[:2] == ("pendulum", "reinforce-gauss")
    assert "pgs_reinforce.learner.GaussianReinforce" in (run / "config.yaml").read_text()
    evaluate = run_cli(
        [*console_script("pgsuite-evaluate"), f"run={run}", "episodes=2"], cwd=tmp_path, pythonpath=[outside]
    )
    assert evaluate.returncode == 0 and "eval/return_mean" in evaluate.stdout, evaluate.stderr[-3000:]
    report = run_cli([*console_script("pgsuite-report"), "runs", "reps=100", "formats=png"], cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    assert "reinforce-gauss" in (tmp_path / "runs" / "report" / "report.md").read_text()


def test_installed_plugin_entry_point_provides_configs_and_env(tmp_path, monkeypatch):
    """A real dist-info with a ``pgsuite.plugins`` entry point (what ``pip install`` writes) on sys.path:
    its search path and env registration are picked up, in process and by the CLI, with no searchpath."""
    site = tmp_path / "site"
    write_dist_info(site, "pgs_reinforce.plugin:pgsuite_plugin")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(site))
    plugins.reset()
    loaded = plugins.load_plugins()
    assert [(p.name, p.dist, p.searchpath) for p in loaded] == [
        ("pgs_reinforce", "pgs_reinforce", ("pkg://pgs_reinforce.conf",))
    ]
    assert "byo/PointReach-v0" in gym.registry
    argv = preflight(["env=point-reach", "agent=reinforce-gauss"])
    assert "hydra.searchpath=[pkg://pgs_reinforce.conf]" in argv

    proc = run_cli(
        [
            sys.executable,
            "-m",
            "agents.train",
            "env=point-reach",
            "agent=reinforce-gauss",
            "budget=smoke",
            "run.progress=false",
            "logger.tensorboard=false",
        ],
        cwd=tmp_path,
        pythonpath=[site, EXAMPLE],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = only_run_dir(tmp_path / "runs")
    assert run.relative_to(tmp_path / "runs").parts[:2] == ("point-reach", "reinforce-gauss")
    proc = run_cli(
        [sys.executable, "-m", "agents.evaluate", f"run={run}", "episodes=2"],
        cwd=tmp_path,
        pythonpath=[site, EXAMPLE],
    )
    assert proc.returncode == 0 and "eval/success_rate" in proc.stdout, proc.stderr[-3000:]
