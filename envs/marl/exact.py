"""Exact evaluation of joint policies on tabular models (``exact_model()`` of the coordination/matrix games).

The price-of-anarchy ratio J(π)/J* and the Nash-equilibrium gap of Chen & Zhang's tabular experiment (ICML
2023, arXiv 2306.01920; official code github.com/dchen48/BNPG @ b7cf8b2, ``Tabular_Coordination_Game/cg.py``:
``get_poa``, ``value_iteration_global``, ``get_NE_Gap_i``). J(π) = μᵀ(I − γP_π)⁻¹ R_π; J* by value iteration
over *joint* actions. A model is a dict with ``transition`` P[s, a, s'] (rows may sum to < 1 where the
episode ends), ``reward`` R[s, a], ``initial`` μ[s] and ``gamma``; joint actions are indexed with agent 0 as
the most significant digit.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def policy_value(model: dict[str, Any], pi: np.ndarray) -> np.ndarray:
    """V^π (S,) of a joint policy ``pi`` (S, A) (rows sum to 1): V = (I − γ P_π)⁻¹ R_π."""
    pi = np.asarray(pi, dtype=np.float64)
    transition, reward, gamma = model["transition"], model["reward"], float(model["gamma"])
    if pi.shape != reward.shape:
        raise ValueError(
            f"policy has shape {pi.shape}, the model's (states, joint actions) is {reward.shape}"
        )
    p_pi = np.einsum("sa,sat->st", pi, transition)
    r_pi = (pi * reward).sum(-1)
    return np.linalg.solve(np.eye(len(r_pi)) - gamma * p_pi, r_pi)


def optimal_value(model: dict[str, Any], tol: float = 1e-10, max_iters: int = 100_000) -> np.ndarray:
    """V* (S,) by value iteration over joint actions: V ← max_a R + γ P V."""
    transition, reward, gamma = model["transition"], model["reward"], float(model["gamma"])
    v = np.zeros(reward.shape[0])
    for _ in range(max_iters):
        v_new = (reward + gamma * transition @ v).max(-1)
        if np.abs(v_new - v).max() <= tol:
            return v_new
        v = v_new
    return v


def price_of_anarchy(model: dict[str, Any], pi: np.ndarray) -> dict[str, float]:
    """``j`` = μᵀV^π, ``j_star`` = μᵀV*, and ``j_over_jstar`` = J/J* (1 = optimal joint policy)."""
    mu = np.asarray(model["initial"], dtype=np.float64)
    j = float(mu @ policy_value(model, pi))
    j_star = float(mu @ optimal_value(model))
    return {"j": j, "j_star": j_star, "j_over_jstar": j / j_star if j_star != 0 else float("nan")}


def best_response_value(p_i: np.ndarray, r_i: np.ndarray, gamma: float, max_iters: int = 1000) -> np.ndarray:
    """Optimal V (S,) of a single-agent MDP ``p_i`` (S, m, S), ``r_i`` (S, m) by exact policy iteration."""
    s_idx = np.arange(r_i.shape[0])
    sigma = r_i.argmax(-1)
    for _ in range(max_iters):
        v = np.linalg.solve(np.eye(len(s_idx)) - gamma * p_i[s_idx, sigma], r_i[s_idx, sigma])
        q = r_i + gamma * p_i @ v
        new = q.argmax(-1)
        keep = q[s_idx, sigma] >= q[s_idx, new] - 1e-12  # keep the incumbent on ties: no cycling
        new = np.where(keep, sigma, new)
        if np.array_equal(new, sigma):
            return v
        sigma = new
    return v


def nash_gap(model: dict[str, Any], factors: np.ndarray, n_actions: int) -> dict[str, float]:
    """NE gap max_i [max_{σ_i} J(σ_i, π_{−i}) − J(π)] of a Bayesian-network joint policy.

    ``factors`` (n, S, A): factors[i, s, a] = π^i(a^i | s, a^{Pa_i}) read off joint action a, so that
    π(a|s) = ∏_i factors[i, s, a]. Agent i deviates to a state-based policy σ_i(s) while every other agent
    keeps its conditional, children reacting to i's deviating action (official ``get_NE_Gap_i``: the joint
    policy divided by i's factor). Returns ``ne_gap`` and ``j`` (μ normalised as in the model).
    """
    factors = np.asarray(factors, dtype=np.float64)
    n, s, a = factors.shape
    if a != n_actions**n:
        raise ValueError(f"factors have {a} joint actions; expected n_actions**n = {n_actions**n}")
    pi = factors.prod(0)
    mu, gamma = np.asarray(model["initial"], dtype=np.float64), float(model["gamma"])
    j = float(mu @ policy_value(model, pi))
    transition, reward = model["transition"], model["reward"]
    gaps = []
    for i in range(n):
        others = np.prod(np.delete(factors, i, axis=0), axis=0)  # (S, A): Π_{j≠i} π^j, sums to 1 per a^i
        grid = (s, *(n_actions,) * n)
        w = np.moveaxis(others.reshape(grid), i + 1, 1).reshape(s, n_actions, -1)  # (S, a^i, a^{−i})
        p_full = np.moveaxis(transition.reshape(*grid, -1), i + 1, 1).reshape(s, n_actions, -1, s)
        r_full = np.moveaxis(reward.reshape(grid), i + 1, 1).reshape(s, n_actions, -1)
        p_i = np.einsum("sdo,sdot->sdt", w, p_full)
        r_i = (w * r_full).sum(-1)
        gaps.append(float(mu @ best_response_value(p_i, r_i, gamma)) - j)
    return {"ne_gap": max(gaps), "j": j}
