"""Shared plumbing of the suite's cooperative PettingZoo ``ParallelEnv``s (agents, spaces, seeding, steps).

Every env here is fully cooperative: each agent receives the same team reward, all agents finish together,
and ``state()`` returns the global state used by a centralised critic and by the context-aware DAG
generator (Chen & Zhang, ICML 2023, Sec. 5).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from envs.action_checks import discrete_action


class TeamParallelEnv(ParallelEnv):
    """Base class: ``n_agents`` agents named ``agent_0 … agent_{n-1}`` with identical spaces.

    Subclasses set ``observation_spaces``/``action_spaces`` through :meth:`_init_spaces` and implement
    ``_reset_state()``, ``_transition(actions: np.ndarray) -> (reward, terminated)``, ``_observations()``
    and ``state()``. Episodes truncate after ``max_cycles`` steps (``max_cycles=-1``-style disabling is not
    supported: every env here has a finite horizon).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, n_agents: int, max_cycles: int, render_mode: str | None = None) -> None:
        if n_agents < 1:
            raise ValueError(f"n_agents must be >= 1, got {n_agents}")
        if max_cycles < 1:
            raise ValueError(f"max_cycles must be >= 1, got {max_cycles}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        self.n_agents = int(n_agents)
        self.max_cycles = int(max_cycles)
        self.render_mode = render_mode
        self.possible_agents = [f"agent_{i}" for i in range(self.n_agents)]
        self.agents: list[str] = []
        self.np_random, _ = seeding.np_random(None)
        self._cycle = 0

    def _init_spaces(self, obs_space: spaces.Space, n_actions: int) -> None:
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(n_actions) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    # -- hooks ----------------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        raise NotImplementedError

    def _transition(self, actions: np.ndarray) -> tuple[float, bool]:
        raise NotImplementedError

    def _observations(self) -> list[np.ndarray]:
        raise NotImplementedError

    def _infos(self) -> dict[str, Any]:
        return {}

    # -- ParallelEnv API ------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        self.agents = list(self.possible_agents)
        self._cycle = 0
        self._reset_state()
        info = self._infos()
        return self._obs_dict(), {a: dict(info) for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"actions are missing for agents {missing}; pass one action per live agent")
        joint = np.empty(self.n_agents, dtype=np.int64)
        for i, agent in enumerate(self.possible_agents):
            joint[i] = discrete_action(self.action_spaces[agent], actions[agent], agent)
        self._cycle += 1
        reward, terminated = self._transition(joint)
        truncated = (not terminated) and self._cycle >= self.max_cycles
        obs = self._obs_dict()
        info = self._infos()
        rewards = {a: float(reward) for a in self.agents}
        terms = {a: bool(terminated) for a in self.agents}
        truncs = {a: bool(truncated) for a in self.agents}
        infos = {a: dict(info) for a in self.agents}
        if terminated or truncated:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def _obs_dict(self) -> dict[str, np.ndarray]:
        return dict(zip(self.possible_agents, self._observations(), strict=True))

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return f"step {self._cycle}: state {np.array2string(self.state(), precision=2)}"
        return None

    def close(self) -> None:
        pass
