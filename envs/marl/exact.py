"""Exact evaluation of joint policies on tabular models (``exact_model()`` of the coordination/matrix games).

The price-of-anarchy ratio J(π)/J* of papers/bn_marl.md, Sec. 9.1: J(π) = μᵀ(I − γP_π)⁻¹ R_π, and J* from
value iteration over *joint* actions (code ``cg.py: get_poa``, ``value_iteration_global``). A model is a dict
with ``transition`` P[s, a, s'] (rows may sum to < 1 where the episode ends), ``reward`` R[s, a],
``initial`` μ[s] and ``gamma``.
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
