"""MPE ``simple_spread`` through the ``mpe2`` package, adapted to the suite's conventions (mpe2 1.1.1,
``simple_spread_v3``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pettingzoo import ParallelEnv

from envs.action_checks import discrete_action


class MPESpread(ParallelEnv):
    """## Description
    Cooperative navigation (Lowe et al. 2017) from ``mpe2.simple_spread_v3``: ``N`` agents must cover ``N``
    landmarks while avoiding collisions. This adapter delegates to mpe2 and only normalises the API: plain
    ``dict`` rewards, float32 observations, ``state()`` as float32 and a fixed discrete action set.

    ## Action Space
    ``Discrete(5)`` per agent: no-op, left, right, down, up.

    ## Observation Space
    ``Box(-inf, inf, (6·N,), float32)`` for the default full observability (own velocity and position,
    landmark and other agents' relative positions, communication). ``state()`` concatenates all agents'
    observations (54 floats for N = 3).

    ## Rewards
    (1 − local_ratio)·(−Σ_landmarks min_agent distance) + local_ratio·(−1 per collision of the agent).

    ## Starting State
    Agents and landmarks uniformly in [−1, 1]², zero velocity (mpe2).

    ## Episode End
    Truncation after ``max_cycles`` steps (25).

    ## Arguments
    ``N`` (3), ``local_ratio`` (0.5), ``max_cycles`` (25), ``render_mode`` (None, "rgb_array" or "human"),
    and any further keyword argument of ``mpe2.simple_spread_v3.parallel_env`` (``dynamic_rescaling``...).

    ## Version History
    * v0: initial version on mpe2 1.1.1 ``simple_spread_v3``.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array"],
        "is_parallelizable": True,
        "render_fps": 10,
    }

    def __init__(
        self,
        N: int = 3,
        local_ratio: float = 0.5,
        max_cycles: int = 25,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        from mpe2 import simple_spread_v3

        if kwargs.get("continuous_actions"):
            raise ValueError("MPESpread-v0 uses discrete actions; continuous_actions=True is not supported")
        kwargs["continuous_actions"] = False
        self._env = simple_spread_v3.parallel_env(
            N=N, local_ratio=local_ratio, max_cycles=max_cycles, render_mode=render_mode, **kwargs
        )
        self.render_mode = render_mode
        self.max_cycles = max_cycles
        self.possible_agents = list(self._env.possible_agents)
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> Any:
        return self._env.observation_space(agent)

    def action_space(self, agent: str) -> Any:
        return self._env.action_space(agent)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, infos = self._env.reset(seed=seed, options=options)
        self.agents = list(self._env.agents)
        return _f32(obs), {a: dict(infos.get(a, {})) for a in obs}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        for agent in actions:
            if agent not in self.agents:
                raise ValueError(f"action given for {agent!r}, which is not live; live agents: {self.agents}")
        checked = {a: discrete_action(self.action_space(a), v, a) for a, v in actions.items()}
        obs, rewards, terms, truncs, infos = self._env.step(checked)
        self.agents = list(self._env.agents)
        return (
            _f32(obs),
            {a: float(r) for a, r in rewards.items()},
            {a: bool(t) for a, t in terms.items()},
            {a: bool(t) for a, t in truncs.items()},
            {a: dict(i) for a, i in infos.items()},
        )

    def state(self) -> np.ndarray:
        return np.asarray(self._env.state(), dtype=np.float32)

    def render(self) -> Any:
        return self._env.render()

    def close(self) -> None:
        self._env.close()


def _f32(obs: dict[str, Any]) -> dict[str, np.ndarray]:
    return {a: np.asarray(o, dtype=np.float32) for a, o in obs.items()}
