"""Typed schemas of the root config and the composition steps Hydra cannot express.

Precedence, lowest first: schema defaults < agent yaml < ``env.agent_presets[<agent>]`` <
``env.budgets[<budget>]`` < command-line overrides. Hydra applies the command line first, so after merging
presets and budgets we re-apply every value the command line set (:func:`compose_run_config`).

A preset may also carry an ``env:`` section (merged into the env config, e.g. MENTOR's Meta-World camera)
and an ``obs:`` value (the root ``obs`` when the command line leaves it null, e.g. MENTOR's Adroit
``pixels+state``): how an agent was run on an env is part of its preset (issue 16).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from agents.core import search_path
from agents.core.env_factory import EnvConfig
from agents.core.search_path import CONF_DIR

__all__ = ["CONF_DIR", "ConfigError", "available", "compose_run_config", "did_you_mean"]


class ConfigError(ValueError):
    """An invalid configuration; the message names the key and the valid choices."""


@dataclass
class RunConfig:
    root: str = "runs"
    name: str | None = None
    total_steps: int | None = None
    eval_every: int | None = None
    checkpoint_every: int | None = None
    keep_checkpoints: int = 3
    save_arrays: bool = True
    log_every: int = 1000  # env steps between metric rows of learners that yield every step (SB3)
    progress: bool = True


@dataclass
class EvalConfig:
    episodes: int | None = None
    deterministic: bool = True
    video: bool = False
    seed_offset: int = 1_000_000


@dataclass
class LoggerConfig:
    csv: bool = True
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "pgsuite"
    wandb_entity: str | None = None


@dataclass
class BudgetConfig:
    name: str = "default"


@dataclass
class DataConfig:
    name: str = "digits"
    root: str | None = None


_SECTIONS = {
    "run": RunConfig,
    "eval": EvalConfig,
    "logger": LoggerConfig,
    "budget": BudgetConfig,
    "data": DataConfig,
}
_TOP = {
    "seed",
    "device",
    "deterministic",
    "resume",
    "obs",
    "graph",
    "anneal",
    "model",
    "env",
    "agent",
    "suite",  # issue 14: the suite a run belongs to (agents/conf/suite), or null
    "agent_overrides",  # issue 14: per-agent override file of a cross-agent sweep, or null
    *_SECTIONS,
}


def available(group: str) -> list[str]:
    """Config names of ``<group>/`` across the config search path (agents/conf, hydra.searchpath, plugins)."""
    return search_path.names(group)


def did_you_mean(group: str, name: str) -> str:
    options = available(group)
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(options)
    return f"unknown {group} {name!r}.{hint}\nAvailable {group} configs: {listing}"


def _typed(section: str, node: Any, schema: type) -> DictConfig:
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), node)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        valid = ", ".join(f.name for f in fields(schema))
        raise ConfigError(
            f"invalid {section} config: {err.msg if hasattr(err, 'msg') else err}\nValid keys: {valid}"
        ) from None


def compose_run_config(cfg: DictConfig, cli_overrides: list[str]) -> DictConfig:
    """Merge agent presets and the chosen budget into ``cfg``, re-apply CLI values, validate types."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))  # detach from Hydra's struct flags
    unknown = set(cfg) - _TOP
    if unknown:
        raise ConfigError(f"unknown top-level config keys {sorted(unknown)}; valid: {sorted(_TOP)}")
    if cfg.get("agent") is None:
        raise ConfigError(
            f"no agent chosen: pass agent=<name>. Available agent configs: {', '.join(available('agent'))}"
        )
    cli_values = {key: OmegaConf.select(cfg, key) for key in _override_keys(cli_overrides)}

    agent_name = cfg.agent.get("name")
    presets = cfg.env.get("agent_presets") or {}
    if agent_name in presets:
        agent_preset = OmegaConf.to_container(presets[agent_name], resolve=False)
        env_part, obs = agent_preset.pop("env", None), agent_preset.pop("obs", None)
        cfg.agent = OmegaConf.merge(cfg.agent, agent_preset)
        if env_part:
            cfg.env = OmegaConf.merge(cfg.env, env_part)
        if obs is not None and cfg.get("obs") is None:
            cfg.obs = obs

    budget = cfg.budget.name
    budgets = cfg.env.get("budgets") or {}
    preset = budgets.get(budget)
    if preset is None and budget == "cpu":
        preset = budgets.get("default")
    if preset is None:
        raise ConfigError(
            f"env {cfg.env.name!r} has no budget {budget!r}; its budgets: {', '.join(budgets) or 'none'}"
        )
    default_agent = cfg.env.get("default_agent")
    for section in ("run", "eval", "env", "agent"):
        # A budget's agent settings are for the env's default agent (or any agent when it has none).
        if section == "agent" and default_agent is not None and agent_name != default_agent:
            continue
        if section in preset:
            cfg[section] = OmegaConf.merge(cfg[section], preset[section])
    apply_agent_overrides(cfg)  # issue 14: the suite's and agent_overrides=<file> settings of this agent
    for key, value in cli_values.items():
        OmegaConf.update(cfg, key, value, merge=False, force_add=True)

    for section, schema in _SECTIONS.items():
        cfg[section] = _typed(section, cfg.get(section, {}), schema)
    cfg.env = _typed("env", cfg.env, EnvConfig)
    cfg.agent = agent_with_defaults(cfg.agent)
    for key in ("total_steps", "eval_every", "checkpoint_every", "log_every", "keep_checkpoints"):
        value = cfg.run[key]
        if value is None:
            raise ConfigError(
                f"run.{key} is not set: the budget {budget!r} of env {cfg.env.name!r} must define it"
            )
        if value <= 0:
            raise ConfigError(f"run.{key} must be positive, got {value}")
    if cfg.eval.episodes is None:
        cfg.eval.episodes = 10
    from agents.core.validate import check_root_types

    check_root_types(cfg)
    return cfg


def _override_keys(overrides: list[str]) -> list[str]:
    """Config keys set on the command line (``a.b=1``, ``+a=1``, ``++a=1``), not group choices."""
    keys = []
    for item in overrides:
        if "=" not in item or item.startswith("~"):
            continue
        key = item.split("=", 1)[0].lstrip("+")
        if "@" in key or "/" in key:
            continue
        if "." not in key and search_path.is_group(key):
            continue  # a group choice such as env=cartpole
        keys.append(key)
    return keys


def apply_agent_overrides(cfg: DictConfig) -> None:
    """Merge the per-agent settings of the run's suite and ``agent_overrides=<file>`` into ``cfg.agent``."""
    from agents.core.suites import agent_overrides_for

    settings = agent_overrides_for(cfg)
    if settings:
        cfg.agent = OmegaConf.merge(cfg.agent, settings)


def agent_with_defaults(agent: DictConfig) -> DictConfig:
    """``agent`` with every field of its learner's ``Config`` filled in.

    Agent yamls carry only overrides (the dataclass holds the defaults; issue 13); filling them in here
    makes each run's config.yaml show every value, and refuses unknown keys and bad types before any run
    directory exists.
    """
    import hydra.utils

    target = agent.get("_target_")
    try:
        learner_cls = hydra.utils.get_class(str(target))
    except Exception as err:  # an import error of a user's package, or a wrong dotted path
        raise ConfigError(f"agent._target_ {target!r} cannot be imported: {err}") from None
    schema = getattr(learner_cls, "Config", None)
    if schema is None:
        return agent
    node = OmegaConf.to_container(agent, resolve=False)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), node)
    except OmegaConfBaseException as err:
        valid = [f.name for f in fields(schema) if not f.name.startswith("_")]
        key = str(getattr(err, "key", "") or "")
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6) if key else []
        hint = f" Did you mean agent.{close[0]}?" if close else ""
        raise ConfigError(
            f"invalid agent config for {learner_cls.__name__}: {getattr(err, 'msg', err)}.{hint} "
            f"Valid keys: {', '.join(valid)}"
        ) from None
    return OmegaConf.create(OmegaConf.to_container(merged, resolve=False))


def build_learner_config(learner_cls: type, agent_cfg: DictConfig) -> Any:
    """Validate ``agent_cfg`` against ``learner_cls.Config`` and return the dataclass instance."""
    schema = learner_cls.Config
    try:
        node = (
            OmegaConf.to_container(agent_cfg, resolve=True)
            if isinstance(agent_cfg, DictConfig)
            else agent_cfg
        )
        merged = OmegaConf.merge(OmegaConf.structured(schema), node)
    except OmegaConfBaseException as err:
        valid = ", ".join(f.name for f in fields(schema) if not f.name.startswith("_"))
        raise ConfigError(
            f"invalid agent config for {learner_cls.__name__}: {getattr(err, 'msg', err)}\nValid keys: "
            f"{valid}"
        ) from None
    return OmegaConf.to_object(merged)
