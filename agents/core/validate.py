"""Checks that turn bad input into one-line errors before anything is written (issue 20).

:func:`check_root_types` checks the root keys Hydra leaves untyped (``seed``, ``device``...);
:func:`build_checked` builds the learner and reports an agent that cannot run on the env (e.g. a
continuous-action agent on a ``Discrete`` env) as a :class:`~agents.core.config.ConfigError` naming both
spaces — the run machinery calls it before it creates the run directory.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from omegaconf import DictConfig

from agents.core.config import ConfigError

# Root keys and the types they must have (the sections have typed schemas in agents/core/config.py).
_ROOT_TYPES: dict[str, tuple[type, ...]] = {"seed": (int,), "device": (str,), "deterministic": (bool,)}


def check_root_types(cfg: DictConfig) -> None:
    """``seed`` must be an int (not a bool or string), ``device`` a string, ``deterministic`` a bool."""
    for key, types in _ROOT_TYPES.items():
        value = cfg.get(key)
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            want = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{key} must be {want}, got {value!r}; e.g. {key}={_EXAMPLES[key]}")
    if cfg.seed < 0 or cfg.seed >= 2**32:
        raise ConfigError(f"seed must be in [0, 2**32), got {cfg.seed}")
    resume = cfg.get("resume")
    if not isinstance(resume, str) or not resume:
        raise ConfigError(f"resume must be never, auto or a run directory, got {resume!r}")


_EXAMPLES = {"seed": "0", "device": "cpu", "deterministic": "true"}


def check_choice(key: str, value: Any, choices: Iterable[str]) -> None:
    """Raise a ConfigError with a did-you-mean when ``value`` is not one of ``choices``."""
    options = sorted(choices)
    if value in options:
        return
    close = difflib.get_close_matches(str(value), options, n=2, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"{key} must be one of {', '.join(options)}, got {value!r}.{hint}")


def check_kwargs(owner: str, given: Iterable[str], valid: Iterable[str], key_prefix: str) -> None:
    """Unknown keyword arguments of ``owner`` → a ConfigError with a did-you-mean and the valid names."""
    valid = sorted(valid)
    for name in given:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(
                f"{key_prefix}{name} is not a parameter of {owner}.{hint} Valid: {', '.join(valid)}"
            )


def _space(space: Any) -> str:
    """A short space description: ``Box(4,) float32``, ``Discrete(2)``, ``Dict(pixels, state)``."""
    name = type(space).__name__
    if name == "Box":
        return f"Box{tuple(space.shape)} {space.dtype}"
    if name == "Dict":
        return f"Dict({', '.join(space.spaces)})"
    return str(space)


def describe_spaces(env: Any) -> str:
    """``observation space X, action space Y`` of a gymnasium or PettingZoo env."""
    if hasattr(env, "possible_agents"):
        agent = env.possible_agents[0]
        return (
            f"{len(env.possible_agents)} agents, observation space {_space(env.observation_space(agent))}, "
            f"action space {_space(env.action_space(agent))}"
        )
    return f"observation space {_space(env.observation_space)}, action space {_space(env.action_space)}"


def build_checked(build: Callable[[], Any], cfg: DictConfig, factory: Any) -> Any:
    """Build the learner; an agent that cannot run on the env becomes one ConfigError naming both."""
    try:
        return build()
    except ConfigError:
        raise
    except (
        ValueError,
        TypeError,
        AssertionError,
        NotImplementedError,
        KeyError,
        IndexError,
        AttributeError,
    ) as err:
        from envs.data.base import DataError

        if isinstance(err, DataError):
            raise
        try:
            probe = factory.make()
            spaces = describe_spaces(probe)
            probe.close()
        except Exception:  # describing the env is best effort
            spaces = "spaces unknown"
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        default = cfg.env.get("default_agent")
        fix = "fix the setting it names, or " + (
            f"use the env's default agent (agent={default})" if default else "pick an agent for this env"
        )
        raise ConfigError(
            f"agent {cfg.agent.name!r} cannot be built on env {cfg.env.name!r} ({spaces}): "
            f"{type(err).__name__}: {first}; {fix} (PGSUITE_DEBUG=1 shows where it failed)"
        ) from err
