"""Every config composes (env × its agents × every budget) and bad configs get clear errors."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from agents.core.config import CONF_DIR, ConfigError, available, compose_run_config
from agents.train import preflight

SB3_ENVS = {"cartpole", "pendulum"}


@pytest.fixture(scope="module", autouse=True)
def _hydra():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield


def _compose(overrides: list[str]):
    return compose_run_config(compose(config_name="config", overrides=overrides), overrides)


def _pairs():
    for env in available("env"):
        env_yaml = OmegaConf.load(CONF_DIR / "env" / f"{env}.yaml")
        agents = set(env_yaml.get("agent_presets", {}) or {})
        if env_yaml.get("default_agent"):
            agents.add(env_yaml.default_agent)
        if env in SB3_ENVS:
            agents |= {"sb3-ppo"} if env == "cartpole" else {"sb3-sac", "sb3-td3"}
        for agent in sorted(agents):
            yield env, agent, list(env_yaml.get("budgets", {}))


@pytest.mark.parametrize(("env", "agent", "budgets"), list(_pairs()))
def test_every_env_agent_budget_composes(env, agent, budgets):
    overrides = [f"env={env}", f"agent={agent}"]
    base = compose(config_name="config", overrides=overrides)
    assert budgets, f"env {env} defines no budgets"
    for budget in budgets:
        raw = base.copy()
        raw.budget.name = budget
        cfg = compose_run_config(raw, overrides)
        assert cfg.run.total_steps > 0 and cfg.run.eval_every > 0 and cfg.run.checkpoint_every > 0
        assert cfg.env.name == env and cfg.agent.name == agent
        OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves


def test_precedence_cli_beats_budget_beats_preset():
    cfg = _compose(["env=cartpole", "agent=sb3-ppo", "budget=smoke"])
    assert cfg.run.total_steps == 2048  # from the smoke budget
    assert cfg.agent.hyperparams.n_steps == 32  # from env.agent_presets
    cfg = _compose(
        [
            "env=cartpole",
            "agent=sb3-ppo",
            "budget=smoke",
            "run.total_steps=512",
            "++agent.hyperparams.n_steps=64",
        ]
    )
    assert cfg.run.total_steps == 512 and cfg.agent.hyperparams.n_steps == 64


def test_bad_values_are_rejected_with_valid_keys():
    with pytest.raises(ConfigError, match="Valid keys"):
        _compose(["env=cartpole", "agent=sb3-ppo", "eval.episodes=many"])
    with pytest.raises(ConfigError, match="must be positive"):
        _compose(["env=cartpole", "agent=sb3-ppo", "run.total_steps=-5"])
    with pytest.raises(ConfigError, match="has no budget"):
        _compose(["env=cartpole", "agent=sb3-ppo", "budget.name=nope"])


def test_did_you_mean_for_unknown_names():
    with pytest.raises(ConfigError, match="Did you mean 'cartpole'"):
        preflight(["env=cartpol", "agent=sb3-ppo"])
    with pytest.raises(ConfigError, match="Did you mean 'sb3-ppo'"):
        preflight(["env=cartpole", "agent=sb3-pp"])


def test_env_without_default_agent_asks_for_one():
    with pytest.raises(ConfigError, match="pass agent="):
        preflight(["env=cartpole"])


def test_default_agent_is_added():
    for env in available("env"):
        default = OmegaConf.load(CONF_DIR / "env" / f"{env}.yaml").get("default_agent")
        if default:
            assert preflight([f"env={env}"])[-1] == f"agent={default}"
