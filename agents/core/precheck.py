"""The pre-check of ``python -m agents.train`` (issue 14): everything that can be refused before Hydra runs
and before any run directory exists.

1. Config search path: ``hydra.searchpath=[file://...,pkg://...]`` entries must exist; the search paths
   of installed ``pgsuite.plugins`` are appended to the command line's ``hydra.searchpath``.
2. ``suite=<name>`` is expanded into its multirun (:func:`agents.core.suites.expand_suite`).
3. Every group choice (env, agent, budget, logger, data) exists on the search path ("did you mean").
4. An env without ``agent=`` gets its default agent.
5. Every agent can act in every env of the sweep (space kinds, :mod:`agents.core.spaces`).
6. ``agent.<key>=v`` becomes ``++agent.<key>=v``: agent yamls hold only overrides (the learner's ``Config``
   dataclass holds the defaults), so a key may be absent from the yaml; unknown keys are still refused,
   with the valid ones, when the config is typed (:func:`agents.core.config.compose_run_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from agents.core import search_path
from agents.core.config import ConfigError, available, did_you_mean
from agents.core.plugins import PluginError, plugin_searchpath
from agents.core.search_path import SearchPathError

GROUPS = ("env", "agent", "budget", "logger", "data")


def preflight(argv: list[str]) -> list[str]:
    """The command line Hydra should run, after the checks above.

    Raises:
        ConfigError: a one-line reason naming the fix (unknown name, missing folder, broken plugin,
            an agent that cannot act in an env).
    """
    try:
        argv = with_searchpath(argv)
    except (SearchPathError, PluginError) as err:
        raise ConfigError(str(err)) from None
    from agents.core.suites import expand_suite

    argv = expand_suite(argv)
    choices = _choices(argv)
    for key, values in choices.items():
        for name in values:
            if name and search_path.find(key, name) is None:
                raise ConfigError(did_you_mean(key, name))
    if "env" in choices and "agent" not in choices:
        argv = [*argv, f"agent={_default_agent(choices['env'])}"]
        choices["agent"] = [argv[-1].partition("=")[2]]
    argv = _absolute_overrides_path(argv)
    argv = [add_or_override(arg) for arg in argv]
    if "env" in choices:
        obs_values = _values(argv, "obs") or [None]
        for env in choices["env"]:
            for agent in choices["agent"]:
                for obs in obs_values:
                    check_spaces(env, agent, obs)
    return argv


def add_or_override(arg: str) -> str:
    """``agent.<key>=v`` as ``++agent.<key>=v`` (set whether or not the agent yaml names the key)."""
    name, sep, _ = arg.partition("=")
    return f"++{arg}" if sep and name.startswith("agent.") else arg


def with_searchpath(argv: list[str]) -> list[str]:
    """Validate ``hydra.searchpath`` and append the plugins' entries to it (in the argument Hydra reads)."""
    entries, index = search_path.parse_searchpath(argv)
    combined = list(dict.fromkeys([*entries, *plugin_searchpath()]))
    search_path.set_extra(combined)
    if combined == entries:
        return argv
    arg = "hydra.searchpath=[" + ",".join(combined) + "]"
    if index is None:
        return [*argv, arg]
    return [*argv[:index], arg, *argv[index + 1 :]]


def _values(argv: list[str], key: str) -> list[str]:
    for arg in reversed(argv):
        name, sep, value = arg.partition("=")
        if sep and name.lstrip("+") == key:
            return [] if "(" in value else [v for v in value.split(",") if v]
    return []


def _choices(argv: list[str]) -> dict[str, list[str]]:
    return {key: values for key in GROUPS if (values := _values(argv, key))}


def _default_agent(envs: list[str]) -> str:
    defaults = set()
    for env_name in envs:
        default = OmegaConf.load(search_path.find("env", env_name)).get("default_agent")
        if default is None:
            raise ConfigError(
                f"env {env_name!r} has no default agent: pass agent=<name>. "
                f"Available agent configs: {', '.join(available('agent'))}"
            )
        defaults.add(default)
    if len(defaults) > 1:
        raise ConfigError(
            f"the envs of this sweep have different default agents {sorted(defaults)}: pass agent="
        )
    return defaults.pop()


def _absolute_overrides_path(argv: list[str]) -> list[str]:
    """``agent_overrides=<path>`` must exist; made absolute so every job (any cwd, any process) reads it."""
    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name.lstrip("+") == "agent_overrides" and value not in ("", "null"):
            from agents.core.suites import load_agent_overrides

            path = Path(value).expanduser().resolve()
            if not path.exists():
                raise ConfigError(f"agent_overrides={value}: no such file or folder")
            load_agent_overrides(path)  # readable and well-formed
            arg = f"++agent_overrides={path}"  # not in config.yaml: runs without it keep their old config
        out.append(arg)
    return out


def learner_class(agent: str) -> tuple[type, dict[str, Any]]:
    """The learner class named by agent config ``agent`` and the agent yaml as a plain dict."""
    import hydra.utils

    path = search_path.find("agent", agent)
    if path is None:
        raise ConfigError(did_you_mean("agent", agent))
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    target = node.get("_target_") if isinstance(node, dict) else None
    if not target:
        raise ConfigError(f"agent config {path} has no _target_: name the Learner class (module.Class)")
    try:
        cls = hydra.utils.get_class(target)
    except Exception as err:  # hydra wraps the import error of third-party code
        cause = err.__cause__ or err
        raise ConfigError(
            f"agent {agent!r}: cannot import {target} ({type(cause).__name__}: {cause}); "
            "put its package on PYTHONPATH or install it"
        ) from None
    return cls, node  # type: ignore[return-value]


def check_spaces(env: str, agent: str, obs: str | None = None) -> None:
    """Refuse an env × agent pair whose spaces the agent cannot act in (one line naming both)."""
    from agents.core.base import Learner
    from agents.core.spaces import env_spaces, incompatibility

    cls, node = learner_class(agent)
    if not (isinstance(cls, type) and issubclass(cls, Learner)):
        raise ConfigError(f"agent {agent!r}: {node['_target_']} is not a subclass of agents.Learner")
    env_cfg = OmegaConf.to_container(OmegaConf.load(search_path.find("env", env)), resolve=False)
    try:
        spaces = env_spaces(env_cfg, obs)  # type: ignore[arg-type]
    except Exception as err:  # building an unknown env: its own error, in one line
        raise ConfigError(
            f"env {env!r}: cannot build it to read its spaces ({type(err).__name__}: {err})"
        ) from None
    problem = incompatibility(cls.accepted_spaces(node), spaces)
    if problem:
        raise ConfigError(
            f"agent {agent!r} cannot act in env {env!r}: {problem}; env spaces: {spaces.detail}. "
            "Pick another agent (python -m agents.list)"
        )


USAGE = """usage: python -m agents.train env=<env> [agent=<agent>] [key=value ...]      (or pgsuite-train)
       python -m agents.train -m env=<env> agent=<a>,<b> seed=0,1,2            a sweep (Hydra multirun)
       python -m agents.train suite=<suite> agent=<agent>[,<agent>] [seed=...]  a suite: tasks x seeds
       python -m agents.train ... 'hydra.searchpath=[file:///abs/path/conf]'   configs of your own

Common keys: seed=0 device=cpu budget=smoke|default|paper obs=pixels|state resume=auto
run.root=runs run.total_steps=<n> eval.episodes=<n> agent_overrides=<file.yaml> logger=wandb
hydra/launcher=local|slurm|ray.  Lists with spaces and defaults: python -m agents.list.
Extending (your own agent, env or suite): docs/extending.md.  Hydra's own help: --hydra-help."""


def usage(argv: list[str] | None = None) -> str:
    """Usage text with every config group's names on the search path of ``argv`` (plugins included)."""
    try:
        with_searchpath([a for a in argv or [] if a not in ("-h", "--help")])
    except (SearchPathError, PluginError) as err:
        raise ConfigError(str(err)) from None
    lines = [USAGE, "", "Config groups (agents/conf, hydra.searchpath, plugins):"]
    for group in (*GROUPS, "suite"):
        names = available(group)
        lines.append(f"  {group} ({len(names)}): {', '.join(names)}")
    return "\n".join(lines)
