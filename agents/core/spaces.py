"""Space kinds of envs and agents: ``agents.list`` and the pre-check "can this agent act in this env?".

A kind is a short name for a gymnasium space: observations ``vector`` (1-D ``Box``), ``image`` (3-D
``uint8`` ``Box``), ``box`` (other ``Box``), ``dict``, ``tuple``; actions ``box``, ``discrete``,
``multi-discrete``, ``multi-binary``. Learners declare what they accept (``Learner.observation_spaces``,
``action_spaces``, ``env_kinds``, :meth:`agents.core.base.Learner.accepted_spaces`).

The shipped families whose envs are slow to build (MuJoCo, model- or data-backed) are described by
:data:`FAMILY_SPACES`, measured by building each env once (tests/test_extending.py re-checks a sample
against real builds); any other env (classic control, an external env) is built once and read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

#: family -> (observation kind, action kind, example) of the shipped families that are slow to build.
#: Robotics observations follow ``kwargs.obs`` (:data:`ROBOTICS_OBS`).
FAMILY_SPACES: dict[str, tuple[str, str, str]] = {
    "robotics": ("image", "box", "pixels uint8 (9, 84, 84) | state float32 (n,); actions [-1, 1]^n"),
    "compression": ("vector", "multi-binary", "float32 (133,) layer embeddings; MultiBinary(layers)"),
    "noise_mask": ("image", "box", "uint8 (1, h, w) images; [-1, 1]^(k, k) masks"),
    "wireless": ("dict", "box", "Dict(links, serving, tx_mask, user_mask); [-1, 1]^n powers"),
    "marl": ("vector", "discrete", "per agent: float32 (n,); Discrete(k)"),
}
ROBOTICS_OBS = {None: "image", "pixels": "image", "state": "vector", "pixels+state": "dict"}


@dataclass(frozen=True)
class EnvSpaces:
    """The kinds of an env: ``kind`` (gym/parallel), observation and action kinds, and a description."""

    kind: str
    observation: str
    action: str
    detail: str


def space_kind(space: Any) -> str:
    """The kind name of a gymnasium space (see the module docstring)."""
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        if len(space.shape) == 1:
            return "vector"
        if len(space.shape) == 3 and space.dtype.name == "uint8":
            return "image"
        return "box"
    names = {
        spaces.Discrete: "discrete",
        spaces.MultiDiscrete: "multi-discrete",
        spaces.MultiBinary: "multi-binary",
        spaces.Dict: "dict",
        spaces.Tuple: "tuple",
    }
    for cls, name in names.items():
        if isinstance(space, cls):
            return name
    return type(space).__name__.lower()


def action_kind(space: Any) -> str:
    """Action kinds do not split boxes by shape: any ``Box`` is ``box``."""
    from gymnasium import spaces

    return "box" if isinstance(space, spaces.Box) else space_kind(space)


def env_spaces(env_cfg: dict[str, Any], obs: str | None = None) -> EnvSpaces:
    """The space kinds of the env of a (resolved or raw) env config mapping; ``obs`` is the root ``obs=``."""
    kind = str(env_cfg.get("kind", "gym"))
    family = str(env_cfg.get("family", "classic"))
    if family in FAMILY_SPACES:
        observation, action, detail = FAMILY_SPACES[family]
        if family == "robotics":
            observation = ROBOTICS_OBS.get(obs, "image")
        return EnvSpaces(kind, observation, action, detail)
    return _probe(str(env_cfg["id"]), kind, _plain_kwargs(env_cfg.get("kwargs") or {}))


def _plain_kwargs(kwargs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Env kwargs without unresolved interpolations (``${obs}``): those keep the env's own default."""
    return tuple(
        sorted((k, v) for k, v in kwargs.items() if not (isinstance(v, str) and "${" in v) and v is not None)
    )


@functools.lru_cache(maxsize=256)
def _probe(env_id: str, kind: str, kwargs: tuple[tuple[str, Any], ...]) -> EnvSpaces:
    from agents.core.env_factory import EnvConfig, EnvFactory

    env = EnvFactory(EnvConfig(name=env_id, id=env_id, kind=kind, kwargs=dict(kwargs))).make()
    try:
        if kind == "parallel":
            agent = env.possible_agents[0]
            obs_space, act_space = env.observation_space(agent), env.action_space(agent)
        else:
            obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    detail = f"{_short(obs_space)}; {_short(act_space)}"
    return EnvSpaces(kind, space_kind(obs_space), action_kind(act_space), detail)


def _short(space: Any) -> str:
    text = repr(space)
    return text if len(text) <= 60 else f"{type(space).__name__}{getattr(space, 'shape', '')}"


def incompatibility(accepted: dict[str, tuple[str, ...]], spaces: EnvSpaces) -> str | None:
    """Why a learner with ``accepted`` kinds cannot act in an env with ``spaces``; ``None`` when it can."""
    problems = []
    for key, have in (("env", spaces.kind), ("observation", spaces.observation), ("action", spaces.action)):
        allowed = accepted.get(key) or ()
        if allowed and have not in allowed:
            problems.append(f"{key} {have} (it takes {'/'.join(allowed)})")
    return ", ".join(problems) or None


def describe_accepted(accepted: dict[str, tuple[str, ...]]) -> str:
    """``env gym; obs vector/image; action box`` (``any`` where nothing is declared)."""
    parts = [
        f"{label} {'/'.join(accepted.get(key) or ()) or 'any'}"
        for key, label in (("env", "env"), ("observation", "obs"), ("action", "action"))
    ]
    return "; ".join(parts)
