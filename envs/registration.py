"""Idempotent registration helpers shared by every environment family."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

NAMESPACE = "pgsuite"

_PARALLEL_IDS: list[str] = []


def register_gym(env_id: str, entry_point: str, **kwargs: Any) -> None:
    """Register ``pgsuite/<env_id>`` with gymnasium unless it is registered already.

    Args:
        env_id: id without namespace, with a version suffix (``"N2NRemoval-ResNet34-v0"``).
        entry_point: ``"module:Class"`` string, so nothing heavy is imported at registration.
        **kwargs: forwarded to :func:`gymnasium.register` (``max_episode_steps``, ``kwargs``...).
    """
    full_id = f"{NAMESPACE}/{env_id}"
    if full_id in gym.registry:
        return
    gym.register(id=full_id, entry_point=entry_point, **kwargs)


def register_parallel(env_id: str, entry_point: str, **kwargs: Any) -> None:
    """Register a PettingZoo ``ParallelEnv`` under ``pgsuite/<env_id>`` (no-op without pettingzoo)."""
    full_id = f"{NAMESPACE}/{env_id}"
    if full_id in _PARALLEL_IDS:
        return
    try:
        import pettingzoo
    except ImportError:  # the `marl` extra is not installed
        return
    if full_id not in pettingzoo.parallel_registry:
        pettingzoo.register("parallel", full_id, entry_point=entry_point, **kwargs)
    _PARALLEL_IDS.append(full_id)


def registered_gym_ids() -> list[str]:
    """All gymnasium ids this suite registered (``pgsuite/...``), sorted."""
    return sorted(i for i in gym.registry if i.startswith(f"{NAMESPACE}/"))


def registered_parallel_ids() -> list[str]:
    """All PettingZoo parallel ids this suite registered, sorted."""
    return sorted(_PARALLEL_IDS)


def register(env_id: str, entry_point: Any, *, parallel: bool = False, **kwargs: Any) -> str:
    """Register a new environment id in one line (the public extension API, issue 14)::

        from envs import register
        register("MyTask-v0", "my_package.envs:MyTask", max_episode_steps=200)

    Unlike the suite's own families, the id is used as given (choose your own namespace, e.g.
    ``mylab/MyTask-v0``). Registering the same id with the same entry point again is a no-op.

    Args:
        env_id: gymnasium id with a version suffix.
        entry_point: ``"module:Class"`` (imported at ``make`` time) or a callable returning the env.
        parallel: register a PettingZoo ``ParallelEnv`` (``env.kind: parallel``) instead of a gymnasium env.
        **kwargs: forwarded to :func:`gymnasium.register` (``max_episode_steps``, ``kwargs``...).

    Returns:
        The id, for the env yaml's ``id:``.

    Raises:
        ValueError: ``env_id`` is already registered with another entry point.
    """
    if parallel:
        import pettingzoo

        if env_id in pettingzoo.parallel_registry:
            return env_id
        pettingzoo.register("parallel", env_id, entry_point=entry_point, **kwargs)
        return env_id
    if env_id in gym.registry:
        existing = gym.registry[env_id].entry_point
        if existing != entry_point:
            raise ValueError(
                f"env id {env_id!r} is already registered with entry point {existing!r}; pick another id"
            )
        return env_id
    gym.register(id=env_id, entry_point=entry_point, **kwargs)
    return env_id
