"""PettingZoo API, seeding and dynamics of the MARL envs (envs/marl)."""

from __future__ import annotations

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

import envs
from envs.marl.coordination import CoordinationGame, coordination_reward
from envs.marl.exact import optimal_value, policy_value, price_of_anarchy
from envs.marl.matrix_games import ClimbingGame, PenaltyGame

MARL_IDS = [
    "pgsuite/Coordination-v0",
    "pgsuite/Climbing-v0",
    "pgsuite/Penalty-v0",
    "pgsuite/Copy-v0",
    "pgsuite/Aloha-v0",
    "pgsuite/MPESpread-v0",
]


def test_all_ids_registered() -> None:
    assert set(MARL_IDS) <= set(envs.registered_parallel_ids())
    assert set(MARL_IDS) <= set(pettingzoo.parallel_registry)


@pytest.mark.parametrize("env_id", MARL_IDS)
def test_parallel_api_and_seed(env_id: str) -> None:
    parallel_api_test(pettingzoo.make("parallel", env_id), num_cycles=50)
    parallel_seed_test(lambda: pettingzoo.make("parallel", env_id))
    env = pettingzoo.make("parallel", env_id)
    env.reset(seed=3)
    state = env.state()
    assert isinstance(state, np.ndarray) and state.dtype == np.float32 and state.ndim == 1
    # Same seed → same trajectory of states under the same actions.
    traj = []
    for _ in range(2):
        env.reset(seed=7)
        states = []
        while env.agents:
            env.step({a: 1 % env.action_space(a).n for a in env.agents})
            states.append(env.state().copy())
        traj.append(np.stack(states))
    np.testing.assert_array_equal(traj[0], traj[1])


@pytest.mark.parametrize("env_id", ["pgsuite/Coordination-v0", "pgsuite/Aloha-v0", "pgsuite/MPESpread-v0"])
def test_invalid_action_names_the_fix(env_id: str) -> None:
    env = pettingzoo.make("parallel", env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        env.step({a: 99 for a in env.agents})


def test_coordination_reward_table() -> None:
    # n = 3, l = 1 (code `cg.py: get_reward`): only 000 and 111 lie outside the band.
    assert coordination_reward(np.array([0, 0, 0]), 1) == 3.0
    assert coordination_reward(np.array([1, 1, 1]), 1) == 2.0
    assert coordination_reward(np.array([0, 1, 1]), 1) == 1.0
    assert coordination_reward(np.array([0, 0, 1]), 1) == 0.0
    assert coordination_reward(np.array([0, 0, 0, 0, 1]), 2) == 3.0  # n = 5, l = 2
    assert coordination_reward(np.array([0, 0, 0, 1, 1]), 2) == 0.0


def test_coordination_exact_model_matches_sampling() -> None:
    env = CoordinationGame(n_agents=2, epsilon=0.1)
    model = env.exact_model()
    np.testing.assert_allclose(model["transition"].sum(-1), 1.0)
    assert model["initial"].sum() == pytest.approx(1.0)
    # Empirical next-state frequencies from state 11 under joint action (0, 1) match P[s, a, :].
    env.reset(seed=0)
    counts = np.zeros(4)
    for _ in range(4000):
        env.bits = np.array([1, 1])
        env._transition(np.array([0, 1]))
        counts[env.bits[0] * 2 + env.bits[1]] += 1
    np.testing.assert_allclose(counts / counts.sum(), model["transition"][3, 1], atol=0.02)
    # The all-zeros policy is optimal: J/J* = 1; the all-ones policy is the bad equilibrium.
    zeros = np.zeros((4, 4))
    zeros[:, 0] = 1.0
    ones = np.zeros((4, 4))
    ones[:, 3] = 1.0
    assert price_of_anarchy(model, zeros)["j_over_jstar"] == pytest.approx(1.0, abs=1e-6)
    assert price_of_anarchy(model, ones)["j_over_jstar"] < 0.8
    np.testing.assert_allclose(policy_value(model, zeros), optimal_value(model), atol=1e-6)


def test_matrix_games_payoffs_and_exact_value() -> None:
    climbing = ClimbingGame()
    assert climbing.optimal_joint_actions == [(0, 0)]
    obs, _ = climbing.reset(seed=0)
    assert not obs["agent_0"].any()
    _, rewards, terms, truncs, _ = climbing.step({"agent_0": 1, "agent_1": 2})
    assert rewards == {"agent_0": 6.0, "agent_1": 6.0} and climbing.agents == []
    assert all(terms.values()) and not any(truncs.values())  # the game is over: no bootstrapping
    penalty = PenaltyGame(k=-100)
    assert sorted(penalty.optimal_joint_actions) == [(0, 0), (2, 2)]
    uniform = np.full((1, 9), 1 / 9)
    assert price_of_anarchy(penalty.exact_model(), uniform)["j"] == pytest.approx((20 + 2 - 200) / 9)
    with pytest.raises(ValueError, match="k must be <= 0"):
        PenaltyGame(k=5)


def test_aloha_collision_rule() -> None:
    env = pettingzoo.make("parallel", "pgsuite/Aloha-v0", arrival_prob=0.0)
    env.reset(seed=0)
    # Agents 0 and 1 are neighbours: both transmitting collide (−10 each); agent 3 alone succeeds (+0.1).
    actions = {a: 0 for a in env.agents}
    actions.update(agent_0=1, agent_1=1, agent_3=1)
    _, rewards, _, _, infos = env.step(actions)
    assert rewards["agent_0"] == pytest.approx(-20 + 0.1)
    assert infos["agent_0"]["transmitted"] == 1.0
    np.testing.assert_array_equal(env.state(), [1, 1, 1, 0, 1, 1, 1, 1, 1, 1])
