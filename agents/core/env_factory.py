"""Builds environments from an env config: single, vectorized, or PettingZoo parallel."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


@dataclass
class EnvConfig:
    """Schema of ``conf/env/*.yaml``.

    Attributes:
        name: the Hydra config name (``cartpole``); used in run directory names.
        id: the registered id (``CartPole-v1``, ``pgsuite/N2NRemoval-ResNet34-v0``); ``module:Id-v0`` imports
            ``module`` first (gymnasium's convention), so a module that registers on import needs no plugin.
        kind: ``gym`` (gymnasium) or ``parallel`` (PettingZoo ParallelEnv).
        family: the environment family (``classic``, ``compression``, ``robotics``...).
        kwargs: keyword arguments for ``gym.make`` / ``pettingzoo.make``.
        num_envs: number of training environments acting in parallel.
        vectorization: ``sync`` or ``async`` (subprocesses; MuJoCo rendering needs ``spawn``, which we use).
        max_episode_steps: optional horizon override (``TimeLimit``).
        budgets: named run budgets (``smoke``, ``default``, ``paper``...) merged by ``budget=<name>``.
        agent_presets: per-agent hyperparameters for this env (zoo-style), keyed by agent config name.
        default_agent: the agent used when the command line names none (``env=n2n-resnet34`` alone).
    """

    name: str = "???"
    id: str = "???"
    kind: str = "gym"
    family: str = "classic"
    kwargs: dict[str, Any] = field(default_factory=dict)
    num_envs: int = 1
    vectorization: str = "sync"
    max_episode_steps: int | None = None
    budgets: dict[str, Any] = field(default_factory=dict)
    agent_presets: dict[str, Any] = field(default_factory=dict)
    default_agent: str | None = None


class EnvFactory:
    """Makes the environments of a run; every ``make`` is seeded by the caller."""

    def __init__(self, cfg: EnvConfig) -> None:
        import envs  # noqa: F401 - registers the suite's ids
        from agents.core.plugins import load_plugins

        load_plugins()  # installed extensions register their env ids (issue 14)
        self.cfg = cfg
        if cfg.kind not in ("gym", "parallel"):
            raise ValueError(f"env.kind must be 'gym' or 'parallel', got {cfg.kind!r}")
        if cfg.vectorization not in ("sync", "async"):
            raise ValueError(f"env.vectorization must be 'sync' or 'async', got {cfg.vectorization!r}")
        if cfg.num_envs < 1:
            raise ValueError(f"env.num_envs must be >= 1, got {cfg.num_envs}")
        if cfg.kind == "gym" and ":" in cfg.id:  # "package.module:Env-v0": importing it registers the id
            import importlib

            importlib.import_module(cfg.id.split(":", 1)[0])
        if cfg.kind == "gym" and cfg.id.split(":")[-1] not in gym.registry:
            close = difflib.get_close_matches(cfg.id, list(gym.registry), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"environment id {cfg.id!r} is not registered.{hint}")

    @property
    def id(self) -> str:
        return self.cfg.id

    def make(self, seed: int | None = None, render_mode: str | None = None) -> Any:
        """One environment, reset once with ``seed`` so its RNG is seeded (gymnasium) or a parallel env."""
        kwargs = dict(self.cfg.kwargs)
        if self.cfg.kind == "parallel":
            import pettingzoo

            if render_mode is not None:
                kwargs["render_mode"] = render_mode
            env = pettingzoo.make("parallel", self.cfg.id, **kwargs)
            if seed is not None:
                env.reset(seed=seed)
            return env
        if self.cfg.max_episode_steps is not None:
            kwargs["max_episode_steps"] = self.cfg.max_episode_steps
        env = gym.make(self.cfg.id, render_mode=render_mode, **kwargs)
        if self.cfg.family == "classic":
            from envs.action_checks import CheckedActions

            env = CheckedActions(env)  # gymnasium's own envs assert or accept NaN (issue 20)
        if seed is not None:
            env.reset(seed=seed)
            env.action_space.seed(seed)
        return env

    def make_thunks(self, seed: int) -> list[Any]:
        """``num_envs`` picklable constructors (for SB3 VecEnvs or gymnasium vector envs)."""
        return [_Thunk(self.cfg, seed + i) for i in range(self.cfg.num_envs)]


class _Thunk:
    """Picklable env constructor (subprocess vectorization needs one)."""

    def __init__(self, cfg: EnvConfig, seed: int) -> None:
        self.cfg, self.seed = cfg, seed

    def __call__(self) -> Any:
        return EnvFactory(self.cfg).make(seed=None)
