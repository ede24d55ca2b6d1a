"""Chen & Zhang's n-agent coordination game with an exact tabular model.

Chen & Zhang, "Context-Aware Bayesian Network Actor-Critic Methods for Cooperative MARL", ICML 2023
(arXiv 2306.01920), tabular experiment; official code github.com/dchen48/BNPG @ b7cf8b2,
``Tabular_Coordination_Game/cg.py`` (exact PG, PoA, NE gap) and ``BN_MAPPO_Coordination_Game/onpolicy/envs/
coordination_game/cg.py`` (the deep env).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.marl.base import TeamParallelEnv

#: l(n): the "balanced" band of the reward (code `cg.py: self.l`).
_BAND = {2: 1, 3: 1, 5: 2, 10: 3}
#: Which state pays: the official definition (``state``: r(s_t), as in the tabular code and the deep code's
#: exact PoA) or the deep env's ``step`` (``next_state``: r(s_{t+1})).
REWARD_ON = ("state", "next_state")


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
    ``epsilon``. The team is paid by the joint state: "all zeros" is the optimum, "all ones" a bad Nash
    equilibrium where independent learners get stuck.

    ## Action Space
    ``Discrete(2)`` per agent: the desired next value of the agent's own bit.

    ## Observation Space
    ``Box(0, 1, (n,), float32)`` per agent: the full joint state (agent 0 first), as in the official code.
    ``state()`` returns the same vector.

    ## Rewards
    The team reward (identical for every agent) is r(s) with #0/#1 the counts of zeros/ones and
    l = {2:1, 3:1, 5:2, 10:3}[n]: r = 1 if |#0−#1| ≤ l and #0 < #1; 0 if |#0−#1| ≤ l otherwise; 3 if
    #0 > #1 (beyond the band); else 2. By default (``reward_on="state"``, the official definition: tabular
    code and the deep code's exact PoA) a step pays r(s_t) of the state the agents acted in; the variant
    ``reward_on="next_state"`` pays r(s_{t+1}) of the state reached (the official deep env's ``step``).

    ## Starting State
    Default (``mu0=None``): uniform over the 2^n joint states (official tabular code, μ(s) ∝ 1). The
    variant ``mu0=p``: each bit is 0 with probability p independently (official deep env ``reset``, p = 1/n).

    ## Episode End
    No termination; truncation after ``max_cycles`` steps (25 in the paper's deep version).

    ## Arguments
    ``n_agents`` (2, 3, 5 or 10), ``epsilon`` (0.1), ``mu0`` (None → uniform), ``reward_on`` ("state" or
    "next_state"), ``gamma`` (0.95, only used by :meth:`exact_model`), ``max_cycles`` (25), ``render_mode``
    (None or "ansi").

    ## Version History
    * v0: initial version (issue 15: official reward timing and initial distribution by default).
    """

    def __init__(
        self,
        n_agents: int = 3,
        epsilon: float = 0.1,
        mu0: float | None = None,
        gamma: float = 0.95,
        max_cycles: int = 25,
        render_mode: str | None = None,
        reward_on: str = "state",
    ) -> None:
        if n_agents not in _BAND:
            raise ValueError(
                f"n_agents must be one of {sorted(_BAND)} (the paper's band table), got {n_agents}"
            )
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        if mu0 is not None and not 0.0 <= mu0 <= 1.0:
            raise ValueError(f"mu0 must be None (uniform) or a probability in [0, 1], got {mu0}")
        if reward_on not in REWARD_ON:
            raise ValueError(f"reward_on must be one of {REWARD_ON}, got {reward_on!r}")
        super().__init__(n_agents, max_cycles, render_mode)
        self.epsilon = float(epsilon)
        self.mu0 = None if mu0 is None else float(mu0)
        self.reward_on = reward_on
        self.gamma = float(gamma)
        self.band = _BAND[n_agents]
        self._init_spaces(spaces.Box(0.0, 1.0, (n_agents,), np.float32), 2)
        self.bits = np.zeros(n_agents, dtype=np.int64)

    def _reset_state(self) -> None:
        p0 = 0.5 if self.mu0 is None else self.mu0  # uniform over states = each bit 0 w.p. 1/2
        self.bits = (self.np_random.random(self.n_agents) >= p0).astype(np.int64)

    def _transition(self, actions: np.ndarray) -> tuple[float, bool]:
        reward = coordination_reward(self.bits, self.band)
        flip = self.np_random.random(self.n_agents) < self.epsilon
        self.bits = np.where(flip, 1 - actions, actions).astype(np.int64)
        if self.reward_on == "next_state":
            reward = coordination_reward(self.bits, self.band)
        return reward, False

    def _observations(self) -> list[np.ndarray]:
        return [self.state() for _ in range(self.n_agents)]

    def state(self) -> np.ndarray:
        return self.bits.astype(np.float32)

    def exact_model(self) -> dict[str, Any]:
        """The tabular MDP for exact evaluation (J, J*, PoA, NE gap), consistent with :meth:`step`.

        States and joint actions are indexed in binary with agent 0 as the most significant digit (the
        official code's ``np.binary_repr`` order). Returns ``obs`` (S, n, n), ``state`` (S, n),
        ``transition`` P[s, a, s'] (S, A, S), ``reward`` R[s, a] (S, A): r(s) for ``reward_on="state"``,
        Σ_s' P[s, a, s'] r(s') for ``"next_state"``; ``initial`` μ (S,) (sums to 1) and ``gamma``.
        """
        n = self.n_agents
        bits = np.array(list(np.ndindex(*(2,) * n)), dtype=np.int64)  # (S, n), also the joint actions
        same = bits[:, None, :] == bits[None, :, :]  # (A, S', n): does s'^i equal a^i
        per_agent = np.where(same, 1.0 - self.epsilon, self.epsilon)
        p_as = per_agent.prod(-1)  # (A, S')
        transition = np.broadcast_to(p_as, (len(bits), *p_as.shape)).copy()  # independent of s
        r_state = np.array([coordination_reward(b, self.band) for b in bits])
        if self.reward_on == "state":
            reward = np.repeat(r_state[:, None], len(bits), axis=1)
        else:
            reward = transition @ r_state
        if self.mu0 is None:
            initial = np.full(len(bits), 1.0 / len(bits))
        else:
            initial = np.prod(np.where(bits == 0, self.mu0, 1.0 - self.mu0), axis=1)
        states = bits.astype(np.float32)
        return {
            "obs": np.repeat(states[:, None, :], n, axis=1),
            "state": states,
            "transition": transition,
            "reward": reward,
            "initial": initial,
            "gamma": self.gamma,
        }
