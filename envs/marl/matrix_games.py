"""Cooperative matrix games: climbing (Claus & Boutilier 1998), penalty(k) (Kapetanakis & Kudenko 2002) and
a signalling "copy" game (issue 15).

Canonical payoffs of Claus & Boutilier (AAAI 1998, Table 3) and Kapetanakis & Kudenko (AAAI 2002, Table 2);
rows = agent 0's action, columns = agent 1's. Not in Chen & Zhang's paper; added as coordination tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.marl.base import TeamParallelEnv

CLIMBING = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])


def penalty_payoff(k: float) -> np.ndarray:
    """Penalty(k), k ≤ 0: [[10, 0, k], [0, 2, 0], [k, 0, 10]]."""
    return np.array([[10.0, 0.0, k], [0.0, 2.0, 0.0], [k, 0.0, 10.0]])


class MatrixGame(TeamParallelEnv):
    """## Description
    A two-agent cooperative normal-form game with a shared payoff matrix, played once (``max_cycles=1``,
    the default) or repeated with the last joint action observed.

    ## Action Space
    ``Discrete(m)`` per agent (m = 3 for climbing and penalty).

    ## Observation Space
    ``Box(0, 1, (2·m,), float32)``: the one-hot actions of both agents at the previous step (all zeros at
    the first step, so a one-step game is stateless). ``state()`` is the same vector.

    ## Rewards
    ``payoff[a_0, a_1]`` for both agents (identical team reward).

    ## Starting State
    No previous joint action (zeros).

    ## Episode End
    Terminates after ``max_cycles`` rounds (the repeated game is over; its value is the sum of the rounds'
    payoffs). No truncation.

    ## Arguments
    ``payoff`` (m×m team payoffs), ``max_cycles`` (1), ``render_mode`` (None or "ansi").

    ## Version History
    * v0: initial version.
    """

    def __init__(self, payoff: Any, max_cycles: int = 1, render_mode: str | None = None) -> None:
        payoff = np.asarray(payoff, dtype=np.float64)
        if payoff.ndim != 2 or payoff.shape[0] != payoff.shape[1]:
            raise ValueError(f"payoff must be a square matrix, got shape {payoff.shape}")
        super().__init__(2, max_cycles, render_mode)
        self.payoff = payoff
        self.n_actions = payoff.shape[0]
        self._init_spaces(spaces.Box(0.0, 1.0, (2 * self.n_actions,), np.float32), self.n_actions)
        self.last_actions = np.full(2, -1, dtype=np.int64)

    @property
    def optimal_joint_actions(self) -> list[tuple[int, int]]:
        """Every joint action attaining the maximal payoff."""
        best = self.payoff.max()
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(self.payoff == best), strict=True)]

    def _reset_state(self) -> None:
        self.last_actions = np.full(2, -1, dtype=np.int64)

    def _transition(self, actions: np.ndarray) -> tuple[float, bool]:
        self.last_actions = actions.copy()
        # The game is over after max_cycles rounds (exact_model: no value beyond it), so this is termination,
        # not a time limit: reported as truncation, learners bootstrapped from a never-visited state and the
        # value targets diverged (BN-MAPPO, climbing, full DAG, ~16k steps).
        return float(self.payoff[actions[0], actions[1]]), self._cycle >= self.max_cycles

    def state(self) -> np.ndarray:
        out = np.zeros((2, self.n_actions), dtype=np.float32)
        for i, a in enumerate(self.last_actions):
            if a >= 0:
                out[i, a] = 1.0
        return out.reshape(-1)

    def _observations(self) -> list[np.ndarray]:
        return [self.state(), self.state()]

    def exact_model(self) -> dict[str, Any]:
        """The one-step game as a tabular model (see ``CoordinationGame.exact_model`` for the format).

        One state; the transition matrix is all zeros because the episode ends after the step, so
        J(π) = Σ_a π(a) payoff(a). Only defined for ``max_cycles=1``.
        """
        if self.max_cycles != 1:
            raise ValueError("exact_model() is only defined for the one-step game (max_cycles=1)")
        m = self.n_actions
        zeros = np.zeros(2 * m, dtype=np.float32)
        return {
            "obs": zeros[None, None, :].repeat(2, axis=1),
            "state": zeros[None, :],
            "transition": np.zeros((1, m * m, 1)),
            "reward": self.payoff.reshape(1, m * m),  # joint index a_0·m + a_1 (agent 0 most significant)
            "initial": np.ones(1),
            "gamma": 1.0,
        }


class ClimbingGame(MatrixGame):
    """The climbing game [[11, −30, 0], [−30, 7, 6], [0, 0, 5]]: optimum (0, 0) = 11 (see
    :class:`MatrixGame`)."""

    def __init__(self, max_cycles: int = 1, render_mode: str | None = None) -> None:
        super().__init__(CLIMBING, max_cycles, render_mode)


class PenaltyGame(MatrixGame):
    """The penalty(k) game [[10, 0, k], [0, 2, 0], [k, 0, 10]]; optima (0, 0) and (2, 2) (see
    :class:`MatrixGame`).

    Arguments: ``k`` ≤ 0 (default −100), ``max_cycles`` (1), ``render_mode``.
    """

    def __init__(self, k: float = -100.0, max_cycles: int = 1, render_mode: str | None = None) -> None:
        if k > 0:
            raise ValueError(f"penalty k must be <= 0, got {k}")
        super().__init__(penalty_payoff(float(k)), max_cycles, render_mode)
        self.k = float(k)


class CopyGame(TeamParallelEnv):
    """## Description
    A one-step signalling game whose optimum needs agent 1 to copy agent 0: a target t ∈ {0, …, m−1} is
    drawn uniformly; agent 0 observes it, agent 1 observes nothing; the team is paid 1 iff both play t. With
    a DAG edge 0 → 1 the optimum (J = 1) is reachable: agent 0 plays t, agent 1 copies agent 0's action;
    independent policies reach at most 1/m. Used to test that a child factor conditions on its parent.

    ## Action Space
    ``Discrete(m)`` per agent.

    ## Observation Space
    ``Box(0, 1, (m,), float32)``: agent 0 the one-hot target, agent 1 zeros. ``state()`` is the one-hot
    target.

    ## Rewards
    1 for both agents iff a_0 = a_1 = t, else 0.

    ## Starting State
    t uniform over the m targets.

    ## Episode End
    Terminates after the single step.

    ## Arguments
    ``n_actions`` m (3), ``max_cycles`` (must be 1), ``render_mode`` (None or "ansi").

    ## Version History
    * v0: initial version (issue 15).
    """

    def __init__(self, n_actions: int = 3, max_cycles: int = 1, render_mode: str | None = None) -> None:
        if n_actions < 2:
            raise ValueError(f"n_actions must be >= 2, got {n_actions}")
        if max_cycles != 1:
            raise ValueError(f"the copy game is one-step: max_cycles must be 1, got {max_cycles}")
        super().__init__(2, 1, render_mode)
        self.n_actions = int(n_actions)
        self._init_spaces(spaces.Box(0.0, 1.0, (self.n_actions,), np.float32), self.n_actions)
        self.target = 0

    def _reset_state(self) -> None:
        self.target = int(self.np_random.integers(self.n_actions))

    def _transition(self, actions: np.ndarray) -> tuple[float, bool]:
        return float(actions[0] == self.target and actions[1] == self.target), True

    def state(self) -> np.ndarray:
        return np.eye(self.n_actions, dtype=np.float32)[self.target]

    def _observations(self) -> list[np.ndarray]:
        return [self.state(), np.zeros(self.n_actions, dtype=np.float32)]

    def exact_model(self) -> dict[str, Any]:
        """The game as a tabular model (format of ``CoordinationGame.exact_model``): m states (targets)."""
        m = self.n_actions
        targets = np.eye(m, dtype=np.float32)
        reward = np.zeros((m, m * m))
        for t in range(m):
            reward[t, t * m + t] = 1.0
        return {
            "obs": np.stack([targets, np.zeros_like(targets)], axis=1),
            "state": targets,
            "transition": np.zeros((m, m * m, m)),
            "reward": reward,
            "initial": np.full(m, 1.0 / m),
            "gamma": 1.0,
        }
