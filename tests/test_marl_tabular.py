"""Coordination-game fidelity, the NE gap and the exact tabular PG runner (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.marl.tabular_pg import fixed_parents, run_exact_pg
from envs.marl.coordination import CoordinationGame, coordination_reward
from envs.marl.exact import nash_gap, optimal_value, price_of_anarchy


def test_reward_is_paid_for_the_current_state_and_start_is_uniform() -> None:
    env = CoordinationGame(n_agents=3, epsilon=0.1)
    env.reset(seed=0)
    for _ in range(20):
        before = env.bits.copy()
        _, rewards, *_ = env.step({f"agent_{i}": int(a) for i, a in enumerate(np.random.randint(0, 2, 3))})
        assert rewards["agent_0"] == coordination_reward(before, env.band)  # r(s_t), official definition
    counts = np.zeros(8)
    for k in range(4000):
        env.reset(seed=k)
        counts[int("".join(map(str, env.bits)), 2)] += 1
    np.testing.assert_allclose(counts / counts.sum(), 1 / 8, atol=0.02)  # uniform initial state


def test_next_state_variant_pays_the_reached_state() -> None:
    env = CoordinationGame(n_agents=2, epsilon=0.1, mu0=0.5, reward_on="next_state")
    env.reset(seed=1)
    for _ in range(20):
        _, rewards, *_ = env.step({"agent_0": 0, "agent_1": 1})
        assert rewards["agent_0"] == coordination_reward(env.bits, env.band)
    model = env.exact_model()
    r_state = np.array([coordination_reward(np.array(b), 1) for b in np.ndindex(2, 2)])
    np.testing.assert_allclose(model["reward"], model["transition"] @ r_state)


@pytest.mark.parametrize("kwargs", [{}, {"reward_on": "next_state", "mu0": 0.5}])
def test_exact_value_matches_monte_carlo_returns(kwargs: dict) -> None:
    """μᵀV^π of the exact model equals the mean discounted return of the env's own episodes."""
    env = CoordinationGame(n_agents=2, epsilon=0.1, max_cycles=150, **kwargs)
    model = env.exact_model()
    rng = np.random.default_rng(0)
    p_zero = np.array([0.8, 0.3, 0.6, 0.1])  # P(agent plays 0 | s), the same for both agents
    pi = np.zeros((4, 4))
    for s in range(4):
        for a in range(4):
            a0, a1 = divmod(a, 2)
            pi[s, a] = (p_zero[s] if a0 == 0 else 1 - p_zero[s]) * (p_zero[s] if a1 == 0 else 1 - p_zero[s])
    j = price_of_anarchy(model, pi)["j"]
    returns = []
    for ep in range(400):
        env.reset(seed=ep)
        total, discount = 0.0, 1.0
        while env.agents:
            s = env.bits[0] * 2 + env.bits[1]
            acts = (rng.random(2) >= p_zero[s]).astype(int)
            _, rew, *_ = env.step({"agent_0": int(acts[0]), "agent_1": int(acts[1])})
            total += discount * rew["agent_0"]
            discount *= model["gamma"]
        returns.append(total)
    assert np.mean(returns) == pytest.approx(j, rel=0.03)


def test_all_zeros_is_optimal_and_all_ones_is_a_nash_equilibrium() -> None:
    model = CoordinationGame(n_agents=3).exact_model()
    s, a = model["reward"].shape
    factors = np.zeros((3, s, a))
    digits = np.array(list(np.ndindex(2, 2, 2)))
    for i in range(3):
        factors[i] = (digits[:, i] == 1)[None, :]  # every agent deterministically plays 1
    ones = nash_gap(model, factors, 2)
    assert ones["ne_gap"] == pytest.approx(0.0, abs=1e-8)  # unilateral deviation cannot help: an NE
    assert ones["j"] / (model["initial"] @ optimal_value(model)) < 0.8  # ... with a bad price of anarchy
    zeros = nash_gap(model, 1.0 - factors, 2)
    assert zeros["ne_gap"] == pytest.approx(0.0, abs=1e-8)
    assert zeros["j"] == pytest.approx(model["initial"] @ optimal_value(model), rel=1e-8)
    lone_one = factors.copy()
    lone_one[:2] = 1.0 - factors[:2]  # agents 0, 1 play 0, agent 2 plays 1: state 001 pays 0
    assert nash_gap(model, lone_one, 2)["ne_gap"] > 10.0  # agent 2 switching to 0 reaches 000 (r = 3)


def test_line_and_full_parents() -> None:
    assert fixed_parents("full", 3) == [[], [0], [0, 1]]
    assert fixed_parents("line", 3) == [[], [0], [1]]
    assert fixed_parents("empty", 2) == [[], []]
    with pytest.raises(ValueError, match="graph must be one of"):
        fixed_parents("star", 3)


def test_exact_pg_full_dag_beats_independent_policies_at_n2() -> None:
    """The paper's tabular effect: with the full DAG, exact PG escapes the all-ones NE more often."""
    model = CoordinationGame(n_agents=2).exact_model()
    finals = {}
    for graph in ("empty", "full"):
        out = run_exact_pg(
            model, 2, 2, graph, list(range(1, 7)), iterations=1000, objective_scale=2.0, log_every=500
        )
        ratio, gap = np.array(out["j_over_jstar"]), np.array(out["ne_gap"])  # (seeds, logged iterations)
        finals[graph] = ratio[:, -1]
        assert (gap[:, -1] < gap[:, 0] + 1e-9).all()  # PG moves towards an NE
        assert (gap[:, -1] >= -1e-8).all()
    assert finals["full"].mean() > finals["empty"].mean() + 0.03
