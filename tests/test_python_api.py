"""The Python API (issue 14): ``from agents import train, evaluate, report`` compose configs exactly as the
command line does and return the run directory and its summary."""

from __future__ import annotations

import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import OmegaConf

from agents.core import search_path
from agents.core.config import CONF_DIR, ConfigError, compose_run_config
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "external_agent"
CONF = f"hydra.searchpath=[file://{EXAMPLE / 'pgs_reinforce' / 'conf'}]"


@pytest.fixture(autouse=True)
def _clean_search_path():
    yield
    search_path.set_extra([])


@pytest.mark.parametrize(
    ("env", "agent", "overrides"),
    [
        ("dmc-walker-walk", "drqv2", ["budget=smoke", "obs=state", "agent.lr=0.001"]),
        ("cartpole", "sb3-ppo", ["budget=default", "++agent.hyperparams.n_steps=64"]),
        ("n2n-resnet18", None, ["budget=smoke"]),
    ],
)
def test_compose_matches_the_command_line(env, agent, overrides):
    from agents.api import compose
    from agents.core.precheck import preflight

    api_cfg = compose(env, agent, 3, overrides)
    argv = preflight([f"env={env}", *([f"agent={agent}"] if agent else []), "seed=3", *overrides])
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cli_cfg = compose_run_config(hydra_compose(config_name="config", overrides=argv), argv)
    assert OmegaConf.to_container(api_cfg, resolve=True) == OmegaConf.to_container(cli_cfg, resolve=True)
    assert api_cfg.seed == 3 and api_cfg.agent.name == (agent or "n2n")


def test_train_evaluate_report_from_python(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from agents import evaluate, report, train, train_suite

    root = f"run.root={tmp_path / 'runs'}"
    run = train(env="point-reach", agent="reinforce-gauss", seed=1, overrides=["budget=smoke", CONF, root])
    assert run.path.is_dir() and run.path.parts[-4:-1] == ("point-reach", "reinforce-gauss", "seed1")
    assert (
        run.summary["steps"] == 200 and "eval/return" in run.final_eval and "eval/success" in run.final_eval
    )
    assert run.config["agent"]["_target_"] == "pgs_reinforce.learner.GaussianReinforce"
    again = train(env="point-reach", agent="reinforce-gauss", seed=1, overrides=["budget=smoke", CONF, root])
    assert again.final_eval == run.final_eval  # one root seed, same result
    metrics = evaluate(run.path, episodes=3, checkpoint="last")
    assert metrics["eval/length_mean"] == 50 and "eval/return_mean" in metrics
    suite_runs = train_suite(
        "byo-mini", agents=["reinforce-gauss"], seeds=[0], overrides=["budget=smoke", CONF, root]
    )
    assert sorted(r.path.parts[-4] for r in suite_runs) == ["pendulum", "point-reach"]
    assert all(r.config["suite"]["name"] == "byo-mini" for r in suite_runs)
    data = report(tmp_path / "runs", reps=100, formats="png")
    assert "eval/return" in data["metrics"] and (tmp_path / "runs" / "report" / "report.md").is_file()


def test_bad_input_raises_config_errors():
    from agents import train

    with pytest.raises(ConfigError, match="Did you mean 'pendulum'"):
        train(env="pendulm", agent="sb3-sac")
    with pytest.raises(ConfigError, match="cannot act in env 'cartpole'"):
        train(env="cartpole", agent="sb3-sac")
    with pytest.raises(ConfigError, match="use train_suite"):
        train(env="cartpole", agent="sb3-ppo,sb3-a2c")
