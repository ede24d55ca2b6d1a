"""Benchmark suites: a named task set × seeds, run as one Hydra multirun (issue 14).

``agents/conf/suite/<name>.yaml`` (or a suite on the search path) holds::

    name: dmc-easy
    description: ...
    source: where the task list comes from (paper section, repository file)
    tasks: [dmc-cartpole-balance, ...]     # env config names
    seeds: [0, 1, 2]
    metric: eval/return                    # what agents.report aggregates
    refs: dmc                              # normalisation references (agents/analysis/references.yaml)
    overrides: []                          # extra command-line overrides every run of the suite gets
    agent_overrides: {drqv2: {...}}        # per-agent settings (only the matching agent gets them)

``python -m agents.train suite=dmc-easy agent=drqv2,sb3-sac`` expands to ``-m env=<tasks> seed=<seeds>
suite=dmc-easy run.root=runs/suites/dmc-easy`` (values given on the command line win; ``env=`` may name a
subset of the tasks). A cross-agent sweep carries agent-specific settings in ``agent_overrides`` of the
suite or in a per-agent override file, ``agent_overrides=<file.yaml>`` (``{agent: {key: value}}``) or
``agent_overrides=<folder>`` (``<agent>.yaml`` per agent), merged after the env's presets and budget and
before command-line values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from agents.core import search_path
from agents.core.config import ConfigError


class SuiteError(ConfigError):
    """An unknown suite, a task outside it, or an unreadable per-agent override file."""


@dataclass
class Suite:
    """A suite yaml (see the module docstring)."""

    name: str
    tasks: list[str]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    description: str = ""
    source: str = ""
    metric: str = "eval/return"
    refs: Any = None
    overrides: list[str] = field(default_factory=list)
    agent_overrides: dict[str, Any] = field(default_factory=dict)


def load_suite(name: str) -> Suite:
    """The suite called ``name`` on the config search path.

    Raises:
        SuiteError: no such suite (with a "did you mean"), or a malformed file.
    """
    path = search_path.find("suite", name)
    if path is None:
        from agents.core.config import did_you_mean

        raise SuiteError(did_you_mean("suite", name).replace("\n", " "))
    raw = yaml.safe_load(path.read_text()) or {}
    if raw.get("name") != name:
        raise SuiteError(f"suite file {path}: set 'name: {name}' (the file name; runs record it)")
    try:
        suite = Suite(**raw)
    except TypeError as err:
        raise SuiteError(f"suite file {path}: {err}; keys: {', '.join(Suite.__dataclass_fields__)}") from None
    if not suite.tasks:
        raise SuiteError(f"suite file {path} lists no tasks")
    return suite


def _key(arg: str) -> str:
    return arg.partition("=")[0].lstrip("+")


def expand_suite(argv: list[str]) -> list[str]:
    """Replace ``suite=<name>`` by the multirun over its tasks × seeds (see the module docstring)."""
    picks = [a for a in argv if _key(a) == "suite" and "=" in a]
    if not picks:
        return argv
    name = picks[-1].partition("=")[2]
    if "," in name:
        raise SuiteError(f"suite={name}: one suite per command; run the suites one after the other")
    suite = load_suite(name)
    rest = [a for a in argv if a not in picks]
    given = {_key(a): a.partition("=")[2] for a in rest if "=" in a}
    if "env" in given:
        outside = [e for e in given["env"].split(",") if e not in suite.tasks]
        if outside:
            raise SuiteError(
                f"env={','.join(outside)} is not a task of suite {name!r}; its tasks: "
                f"{', '.join(suite.tasks)}"
            )
    else:
        rest.append("env=" + ",".join(suite.tasks))
    if "seed" not in given:
        rest.append("seed=" + ",".join(str(s) for s in suite.seeds))
    for override in suite.overrides:
        if _key(override) not in given:
            rest.append(override)
    if "run.root" not in given:
        rest.append(f"run.root=runs/suites/{name}")
    rest.append(f"suite={name}")
    if "-m" not in rest and "--multirun" not in rest:
        rest.insert(0, "-m")
    return rest


def load_agent_overrides(path: str | Path) -> dict[str, Any]:
    """``{agent: settings}`` from a yaml file or a folder of ``<agent>.yaml`` files."""
    path = Path(path)
    try:
        if path.is_dir():
            return {p.stem: yaml.safe_load(p.read_text()) or {} for p in sorted(path.glob("*.yaml"))}
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise SuiteError(
            f"agent_overrides={path}: cannot read ({type(err).__name__}: {err}); pass a yaml file "
            "'{agent: {key: value}}' or a folder of <agent>.yaml files"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SuiteError(f"agent_overrides={path}: expected a mapping agent -> {{key: value}}")
    return data


def agent_overrides_for(cfg: DictConfig) -> dict[str, Any]:
    """The settings of ``cfg.agent.name`` from the run's suite, then from ``agent_overrides=<path>``."""
    agent = cfg.agent.get("name")
    merged: Any = OmegaConf.create({})
    suite = cfg.get("suite")
    if isinstance(suite, DictConfig) and agent in (suite.get("agent_overrides") or {}):
        merged = OmegaConf.merge(merged, suite.agent_overrides[agent])
    path = cfg.get("agent_overrides")
    if path:
        settings = load_agent_overrides(path).get(agent)
        if settings:
            merged = OmegaConf.merge(merged, settings)
    return OmegaConf.to_container(merged)  # type: ignore[return-value]
