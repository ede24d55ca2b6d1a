"""Chen & Zhang's n-agent coordination game (papers/bn_marl.md, Secs. 9.1–9.2), with an exact model."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.marl.base import TeamParallelEnv

#: l(n): the "balanced" band of the reward (code `cg.py: self.l`).
_BAND = {2: 1, 3: 1, 5: 2, 10: 3}


def coordination_reward(bits: np.ndarray, band: int) -> float:
    """r(s) of one joint state (code `cg.py: get_reward`): #0 and #1 are the counts of zeros and ones.

    |#0 − #1| ≤ l: r = 1 if #0 < #1 else 0; otherwise r = 3 if #0 > #1 (all zeros, the optimum) else 2.
    """
    zeros = int(np.sum(np.asarray(bits) == 0))
    ones = len(bits) - zeros
    if abs(zeros - ones) <= band:
        return 1.0 if zeros < ones else 0.0
    return 3.0 if zeros > ones else 2.0


class CoordinationGame(TeamParallelEnv):
    """## Description
    The cooperative Markov game of Chen & Zhang (ICML 2023): each of ``n`` agents owns one bit of the
    joint state and chooses the bit it wants next; the environment flips each chosen bit with probability
    ``epsilon``. The team is paid by the resulting joint state: "all zeros" is the optimum, "all ones" a
    bad Nash equilibrium where independent learners get stuck.

    ## Action Space
    ``Discrete(2)`` per agent: the desired next value of the agent's own bit.

    ## Observation Space
    ``Box(0, 1, (n,), float32)`` per agent: the full joint state (agent 0 first), as in the official code.
    ``state()`` returns the same vector.

    ## Rewards
    The team reward (identical for every agent) is r(s') of the joint state *reached* by the step (official
    deep env `cg.py: step`): with #0/#1 the counts of zeros/ones and l = {2:1, 3:1, 5:2, 10:3}[n],
    r = 1 if |#0−#1| ≤ l and #0 < #1; 0 if |#0−#1| ≤ l otherwise; 3 if #0 > #1 (beyond the band); else 2.

    ## Starting State
    Each bit is 0 with probability ``mu0`` (default 1/n, code `mu[i] = 1/n`), independently.

    ## Episode End
    No termination; truncation after ``max_cycles`` steps (25 in the paper).

    ## Arguments
    ``n_agents`` (2, 3, 5 or 10), ``epsilon`` (0.1), ``mu0`` (None → 1/n), ``gamma`` (0.95, only used by
    :meth:`exact_model`), ``max_cycles`` (25), ``render_mode`` (None or "ansi").

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        n_agents: int = 3,
        epsilon: float = 0.1,
        mu0: float | None = None,
        gamma: float = 0.95,
        max_cycles: int = 25,
        render_mode: str | None = None,
    ) -> None:
        if n_agents not in _BAND:
            raise ValueError(
                f"n_agents must be one of {sorted(_BAND)} (the paper's band table), got {n_agents}"
            )
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        super().__init__(n_agents, max_cycles, render_mode)
        self.epsilon = float(epsilon)
        self.mu0 = 1.0 / n_agents if mu0 is None else float(mu0)
        self.gamma = float(gamma)
        self.band = _BAND[n_agents]
        self._init_spaces(spaces.Box(0.0, 1.0, (n_agents,), np.float32), 2)
        self.bits = np.zeros(n_agents, dtype=np.int64)

    def _reset_state(self) -> None:
        self.bits = (self.np_random.random(self.n_agents) >= self.mu0).astype(np.int64)

    def _transition(self, actions: np.ndarray) -> tuple[float, bool]:
        flip = self.np_random.random(self.n_agents) < self.epsilon
        self.bits = np.where(flip, 1 - actions, actions).astype(np.int64)
        return coordination_reward(self.bits, self.band), False

    def _observations(self) -> list[np.ndarray]:
        return [self.state() for _ in range(self.n_agents)]

    def state(self) -> np.ndarray:
        return self.bits.astype(np.float32)

    def exact_model(self) -> dict[str, Any]:
        """The tabular MDP for exact evaluation (J, J*, PoA), consistent with :meth:`step`.

        States and joint actions are indexed in binary with agent 0 as the most significant digit (the
        official code's ``np.binary_repr`` order). Returns ``obs`` (S, n, n), ``state`` (S, n),
        ``transition`` P[s, a, s'] (S, A, S), ``reward`` R[s, a] = Σ_s' P[s, a, s'] r(s') (S, A),
        ``initial`` μ (S,) and ``gamma``.
        """
        n = self.n_agents
        bits = np.array(list(np.ndindex(*(2,) * n)), dtype=np.int64)  # (S, n), also the joint actions
        same = bits[:, None, :] == bits[None, :, :]  # (A, S', n): does s'^i equal a^i
        per_agent = np.where(same, 1.0 - self.epsilon, self.epsilon)
        p_as = per_agent.prod(-1)  # (A, S')
        transition = np.broadcast_to(p_as, (len(bits), *p_as.shape)).copy()  # independent of s
        r_next = np.array([coordination_reward(b, self.band) for b in bits])
        initial = np.prod(np.where(bits == 0, self.mu0, 1.0 - self.mu0), axis=1)
        states = bits.astype(np.float32)
        return {
            "obs": np.repeat(states[:, None, :], n, axis=1),
            "state": states,
            "transition": transition,
            "reward": transition @ r_next,
            "initial": initial,
            "gamma": self.gamma,
        }
