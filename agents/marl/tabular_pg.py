"""Exact policy gradient for tabular softmax Bayesian-network joint policies on fixed DAGs.

The tabular experiment of Chen & Zhang (ICML 2023, arXiv 2306.01920; official code github.com/dchen48/BNPG
@ b7cf8b2, ``Tabular_Coordination_Game/cg.py``, ``run.py``): agent i owns a table θ_i[s, c, b] over states
s, configurations c of its parents' actions and its own actions b, π^i(b | s, c) = softmax(θ_i[s, c])_b,
π(a|s) = ∏_i π^i(a^i | s, a^{Pa_i}); θ ~ N(0, 1). Each iteration takes one plain SGD step (lr 0.01,
gradient-norm clip 1e3) along the exact gradient of J(θ) = μᵀ(I − γP_π)⁻¹R_π, obtained by autograd through
the linear solve; by the policy-gradient theorem this equals the official loss's gradient
∇[1/(1−γ) Σ_{s,a} d(s) Q(s,a) π(a|s)] with d and Q held fixed (paper Sec. 4, PG-BN).

The official code weights states with μ(s) = 1/n (not normalised, Σμ = 2^n/n); the gradient here is taken on
that same objective (``objective_scale`` = Σμ_official), so lr 0.01 means what it means there, while J, J/J*
and the NE gap are reported with μ normalised to 1 (the official NE gap is 2^n/n times ours).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from envs.marl.exact import nash_gap, optimal_value

GRAPHS = ("empty", "line", "full")


def fixed_parents(graph: str, n: int) -> list[list[int]]:
    """Parents of each agent: ``empty``; ``full`` (every j < i, code ``all_ones``); ``line`` (i−1 → i).

    The official ``get_line`` sets edges i → i+1 only for i < n−2 (no edge at all for n = 2, the last agent
    unlinked); ``line`` here is the whole chain 0 → 1 → … → n−1 (equal to ``full`` at n = 2).
    """
    if graph == "empty":
        return [[] for _ in range(n)]
    if graph == "full":
        return [list(range(i)) for i in range(n)]
    if graph == "line":
        return [[i - 1] if i > 0 else [] for i in range(n)]
    raise ValueError(f"graph must be one of {GRAPHS}, got {graph!r}")


class TabularBNPolicy:
    """Tabular softmax BN joint policies, one per seed (batched): θ_i (seeds, S, |A|^{|Pa_i|}, |A|) ~ N(0,
    1)."""

    def __init__(
        self, n: int, n_actions: int, n_states: int, parents: list[list[int]], seeds: list[int]
    ) -> None:
        self.n, self.m, self.parents = n, n_actions, parents
        gens = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
        self.theta = [
            torch.stack(
                [
                    torch.randn(n_states, n_actions ** len(pa), n_actions, generator=g, dtype=torch.float64)
                    for g in gens
                ]
            ).requires_grad_(True)
            for pa in parents
        ]
        digits = np.array(list(np.ndindex(*(n_actions,) * n)), dtype=np.int64)  # (A, n), agent 0 first
        self._own = [torch.as_tensor(digits[:, i]) for i in range(n)]
        self._cfg = [
            torch.as_tensor(
                (digits[:, pa] * n_actions ** np.arange(len(pa))[::-1]).sum(-1)
                if pa
                else np.zeros(len(digits))
            ).long()
            for pa in parents
        ]

    def factors(self) -> torch.Tensor:
        """(seeds, n, S, A): π^i(a^i | s, a^{Pa_i}) for every joint action a."""
        return torch.stack(
            [
                torch.softmax(t, -1)[:, :, c, o]
                for t, c, o in zip(self.theta, self._cfg, self._own, strict=True)
            ],
            dim=1,
        )


def exact_j(pi: torch.Tensor, model: dict[str, Any], mu: torch.Tensor) -> torch.Tensor:
    """Differentiable J = μᵀ(I − γP_π)⁻¹R_π of joint policies ``pi`` (..., S, A) → (...)."""
    transition = torch.as_tensor(model["transition"], dtype=torch.float64)
    reward = torch.as_tensor(model["reward"], dtype=torch.float64)
    p_pi = torch.einsum("...sa,sat->...st", pi, transition)
    eye = torch.eye(pi.shape[-2], dtype=torch.float64)
    v = torch.linalg.solve(eye - float(model["gamma"]) * p_pi, (pi * reward).sum(-1, keepdim=True))
    return (mu[:, None] * v).sum((-2, -1))


def run_exact_pg(
    model: dict[str, Any],
    n: int,
    n_actions: int,
    graph: str,
    seeds: list[int],
    iterations: int = 2000,
    lr: float = 0.01,
    clip: float = 1e3,
    objective_scale: float = 1.0,
    log_every: int = 10,
) -> dict[str, Any]:
    """Exact PG from each seed's θ ~ N(0, 1) (independent runs, batched); J/J* and NE-gap curves (seeds, T).

    Per seed: θ ← θ + lr·g·min(1, clip/‖g‖) with g = ∇(objective_scale·J) (SGD with gradient-norm clipping,
    as the official ``update_policy``). Logged every ``log_every`` iterations and at the end.
    """
    policy = TabularBNPolicy(n, n_actions, model["reward"].shape[0], fixed_parents(graph, n), seeds)
    mu = torch.as_tensor(model["initial"], dtype=torch.float64)
    j_star = float(model["initial"] @ optimal_value(model))
    steps, ratio, gap = [], [], []
    for it in range(iterations + 1):
        factors = policy.factors()
        j = exact_j(factors.prod(1), model, mu)
        if it % log_every == 0 or it == iterations:
            metrics = [nash_gap(model, f.detach().numpy(), n_actions) for f in factors]
            steps.append(it)
            ratio.append([m["j"] / j_star for m in metrics])
            gap.append([m["ne_gap"] for m in metrics])
        if it == iterations:
            break
        grads = torch.autograd.grad(objective_scale * j.sum(), policy.theta)
        norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads))
        scale = (clip / norm).clamp(max=1.0)
        with torch.no_grad():
            for theta, g in zip(policy.theta, grads, strict=True):
                theta += lr * scale.view(-1, *(1,) * (g.dim() - 1)) * g
    return {
        "iterations": steps,
        "j_over_jstar": np.array(ratio).T.tolist(),
        "ne_gap": np.array(gap).T.tolist(),
        "j_star": j_star,
        "seeds": list(seeds),
    }
