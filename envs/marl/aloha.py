"""Aloha packet transmission (10 agents, fixed interference graph) of the BNPG benchmarks (official
BN_MAPPO_Aloha/onpolicy/envs/aloha/aloha.py, github.com/dchen48/BNPG @ b7cf8b2)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.marl.base import TeamParallelEnv

#: Interference graph of the official code (`BN_MAPPO_Aloha/.../aloha.py: self.adj`): 10 agents on a
#: 2×5 layout whose rows wrap around (every agent has 2–3 neighbours).
ALOHA_ADJ = np.array(
    [
        [0, 1, 0, 0, 0, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0, 1, 0, 0, 0],
        [0, 1, 0, 1, 0, 0, 0, 1, 0, 0],
        [0, 0, 1, 0, 1, 0, 0, 0, 1, 0],
        [0, 0, 0, 1, 0, 1, 0, 0, 0, 1],
        [1, 0, 0, 0, 1, 0, 1, 0, 0, 0],
        [0, 1, 0, 0, 0, 1, 0, 1, 0, 0],
        [0, 0, 1, 0, 0, 0, 1, 0, 1, 0],
        [0, 0, 0, 1, 0, 0, 0, 1, 0, 1],
        [0, 0, 0, 0, 1, 0, 0, 0, 1, 0],
    ],
    dtype=np.int64,
)


class Aloha(TeamParallelEnv):
    """## Description
    Ten radios share a channel. Each holds a backlog of packets; a transmission succeeds only when no
    neighbour in the interference graph transmits in the same step. Agents must learn to take turns.

    ## Action Space
    ``Discrete(2)`` per agent: 0 = wait, 1 = transmit.

    ## Observation Space
    ``Box(0, max_backlog, (1,), float32)``: the agent's own backlog. ``state()`` is the vector of all
    backlogs (the official code's shared observation).

    ## Rewards
    Team reward, identical for every agent, summed over agents: an agent that transmits with a non-empty
    backlog earns +0.1 (and sends one packet) when no neighbour chose "transmit", and −10 (collision)
    otherwise. Transmitting with an empty backlog earns nothing. After the transmissions, each agent
    receives a new packet with probability ``arrival_prob`` and backlogs are capped at ``max_backlog``.

    ## Starting State
    Every backlog is 1.

    ## Episode End
    Truncation after ``max_cycles`` = 20 steps.

    ## Arguments
    ``arrival_prob`` (0.6), ``max_backlog`` (5), ``max_cycles`` (20), ``render_mode`` (None or "ansi").

    ## Version History
    * v0: initial version (dynamics of the official code, commit b7cf8b2).
    """

    def __init__(
        self,
        arrival_prob: float = 0.6,
        max_backlog: int = 5,
        max_cycles: int = 20,
        render_mode: str | None = None,
    ) -> None:
        if not 0.0 <= arrival_prob <= 1.0:
            raise ValueError(f"arrival_prob must be in [0, 1], got {arrival_prob}")
        if max_backlog < 1:
            raise ValueError(f"max_backlog must be >= 1, got {max_backlog}")
        super().__init__(len(ALOHA_ADJ), max_cycles, render_mode)
        self.adj = ALOHA_ADJ
        self.arrival_prob = float(arrival_prob)
        self.max_backlog = int(max_backlog)
        self._init_spaces(spaces.Box(0.0, float(max_backlog), (1,), np.float32), 2)
        self.backlogs = np.ones(self.n_agents, dtype=np.int64)
        self.transmitted = 0

    def _reset_state(self) -> None:
        self.backlogs = np.ones(self.n_agents, dtype=np.int64)
        self.transmitted = 0

    def _transition(self, actions: np.ndarray) -> tuple[float, bool]:
        attempts = (actions == 1) & (self.backlogs > 0)
        collided = (self.adj @ (actions == 1).astype(np.int64)) > 0
        success = attempts & ~collided
        reward = 0.1 * success.sum() - 10.0 * (attempts & collided).sum()
        self.backlogs -= success.astype(np.int64)
        self.transmitted += int(success.sum())
        arrivals = self.np_random.random(self.n_agents) < self.arrival_prob
        self.backlogs = np.minimum(self.backlogs + arrivals, self.max_backlog)
        return float(reward), False

    def _observations(self) -> list[np.ndarray]:
        return [np.array([b], dtype=np.float32) for b in self.backlogs]

    def _infos(self) -> dict[str, float]:
        return {"transmitted": float(self.transmitted), "backlog": float(self.backlogs.sum())}

    def state(self) -> np.ndarray:
        return self.backlogs.astype(np.float32)
