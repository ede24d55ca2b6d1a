"""Batched conjugate gradient (Hestenes & Stiefel 1952), the matrix-inverse-free solver of ICGNN precoding.

Algorithm (Hestenes & Stiefel 1952; Saad, Iterative Methods for Sparse Linear Systems, Alg. 6.18): r₀ = b − A
x₀, p₀ = r₀; α = rᴴr / pᴴAp; x ← x + αp;
r ← r − αAp; β = r'ᴴr' / rᴴr; p ← r' + βp. Every column of ``b`` is an independent system; each iteration
costs one (batched) mat-vec and no matrix is ever inverted or factorised.
"""

from __future__ import annotations

import torch


def conjugate_gradient(
    a: torch.Tensor, b: torch.Tensor, iters: int, x0: torch.Tensor | None = None
) -> torch.Tensor:
    """Solve ``a x = b`` approximately with ``iters`` CG iterations.

    Args:
        a: (..., n, n) Hermitian positive-definite matrices (real or complex). Padded dimensions must carry
            an identity block (and zeros in ``b``) so they stay exactly zero.
        b: (..., n, c) right-hand sides, one independent CG run per column.
        iters: number of iterations t ≥ 0 (t = n gives the exact solution in exact arithmetic).
        x0: optional start (default 0).

    Returns:
        (..., n, c) approximate solution, differentiable w.r.t. ``a`` and ``b``.
    """
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    x = torch.zeros_like(b) if x0 is None else x0
    r = b - a @ x if x0 is not None else b
    p = r
    rs = (r.conj() * r).real.sum(dim=-2, keepdim=True)  # (..., 1, c)
    for _ in range(iters):
        ap = a @ p
        den = (p.conj() * ap).real.sum(dim=-2, keepdim=True)
        alpha = torch.where(den > 0, rs / den.clamp_min(1e-30), torch.zeros_like(den))
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = (r.conj() * r).real.sum(dim=-2, keepdim=True)
        beta = torch.where(rs > 0, rs_new / rs.clamp_min(1e-30), torch.zeros_like(rs))
        p = r + beta * p
        rs = rs_new
    return x
