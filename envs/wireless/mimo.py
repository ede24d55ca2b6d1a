"""Cellular MU-MISO/MIMO downlink precoding: WMMSE, MRT/ZF/RZF, CG-t RZF and the CG-based learned precoder.

Convention: ``h`` (B, K, M) complex, row k = h_kᴴ, so user k receives y_k = h_k · x with x = Σ_j v_j s_j;
precoders ``v`` are (B, M, K) with column k = v_k; total power Σ_k ‖v_k‖² ≤ P. i.i.d. Rayleigh fading and
σ² = P / SNR (Shi, Razaviyayn, Luo, He, IEEE TSP 2011, Sec. IV setup).

The learned precoder follows the optimal structure (Björnson, Bengtsson, Ottersten, IEEE SPM 2014, eq. (11)):
V ∝ (I + Σ_k λ_k/σ² h_k h_kᴴ)^{-1} Hᴴ = Hᴴ (H Hᴴ + diag(σ²/λ))^{-1} (column scaling aside), so the GNN
outputs per-user regularisers r_k = σ²/λ_k and powers p_k, and the K × K Hermitian system is solved with a
fixed number of CG iterations (no inverse). r_k = Kσ²/P and p_k = P/K recover RZF (CG-t RZF for t iterations).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from envs.wireless.cg import conjugate_gradient
from envs.wireless.common import Networks, Scenario, as_range, check_int, check_number, diag_grid, grid_diag


def miso_se(h: torch.Tensor, v: torch.Tensor, noise: float) -> torch.Tensor:
    """(B, K) SE log2(1 + |h_k v_k|² / (Σ_{j≠k} |h_k v_j|² + σ²))."""
    rx = _abs2(h @ v)  # (B, k, j)
    signal = torch.diagonal(rx, dim1=1, dim2=2)
    return torch.log2(1.0 + signal / (rx.sum(2) - signal + noise))


def normalise_columns(v: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
    """Scale column k of ``v`` to norm √power_k (zero columns stay zero)."""
    norm = torch.sqrt(_abs2(v).sum(1, keepdim=True).clamp_min(1e-60))  # NaN-free gradient at zero columns
    return v / norm * torch.sqrt(power.clamp_min(1e-60))[:, None, :] * (power > 0)[:, None, :]


def _abs2(z: torch.Tensor) -> torch.Tensor:
    """|z|² with a finite gradient at z = 0 (``abs()`` of a complex zero has a NaN gradient)."""
    return z.real**2 + z.imag**2


def equal_power(user_mask: torch.Tensor, p_total: float) -> torch.Tensor:
    """(B, K) P / K_b on the real users."""
    m = user_mask.double()
    return p_total * m / m.sum(1, keepdim=True).clamp_min(1.0)


def _gram(h: torch.Tensor, user_mask: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """H Hᴴ + diag(r), with an identity block on padded users so CG/solve keep them at zero."""
    r = torch.where(user_mask, reg.to(h.real.dtype), torch.ones_like(reg, dtype=h.real.dtype))
    return h @ h.mH + torch.diag_embed(r).to(h.dtype)


def linear_precoder(
    h: torch.Tensor,
    user_mask: torch.Tensor,
    reg: torch.Tensor,
    power: torch.Tensor,
    cg_iters: int | None = None,
) -> torch.Tensor:
    """V = Hᴴ (H Hᴴ + diag(reg))^{-1}, columns scaled to ``power``; exact solve, or ``cg_iters`` CG steps."""
    a = _gram(h, user_mask, reg)
    eye = torch.diag_embed(user_mask.to(h.dtype))
    x = torch.linalg.solve(a, eye) if cg_iters is None else conjugate_gradient(a, eye, cg_iters)
    return normalise_columns(h.mH @ x, power * user_mask)


def total_power_precoder(
    h: torch.Tensor, user_mask: torch.Tensor, reg: torch.Tensor, p_total: float, cg_iters: int | None = None
) -> torch.Tensor:
    """V = β Hᴴ (H Hᴴ + diag(reg))^{-1} with one scalar β giving Σ_k ‖v_k‖² = P (the textbook RZF power
    convention, e.g. Peel, Hochwald, Swindlehurst 2005; Björnson et al. 2014): users get unequal powers."""
    a = _gram(h, user_mask, reg)
    eye = torch.diag_embed(user_mask.to(h.dtype))
    x = torch.linalg.solve(a, eye) if cg_iters is None else conjugate_gradient(a, eye, cg_iters)
    v = h.mH @ x
    total = _abs2(v).sum((1, 2)).clamp_min(1e-60)
    return v * torch.sqrt(p_total / total)[:, None, None]


def mrt(h: torch.Tensor, user_mask: torch.Tensor, p_total: float) -> torch.Tensor:
    """Maximum-ratio transmission v_k ∝ h_kᴴ, equal power."""
    return normalise_columns(h.mH.clone(), equal_power(user_mask, p_total))


def rzf_reg(user_mask: torch.Tensor, p_total: float, noise: float) -> torch.Tensor:
    """(B, K) the RZF regulariser Kσ²/P of every user."""
    k = user_mask.double().sum(1, keepdim=True)
    return (k * noise / p_total).expand(user_mask.shape).clone()


def wmmse_mimo(
    h: torch.Tensor,
    user_mask: torch.Tensor,
    p_total: float,
    noise: float,
    iters: int = 100,
    tol: float = 0.0,
    trace: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """WMMSE for the MU-MIMO downlink (Shi, Razaviyayn, Luo, He 2011), batched; Table I of that paper.

    Args:
        h: (B, K, N_r, M) complex channels (N_r = 1 is MISO); padded users are zero.
        user_mask: (B, K) bool.
        iters / tol: at most ``iters`` iterations, stopping early when every network's sum rate improves
            by less than ``tol`` (0 = run all).

    Returns:
        v (B, K, M, N_r) precoders with d = N_r streams per user (and the list of (B,) sum rates).
    U_k = J̃_k^{-1} H_k V_k, W_k = (I − U_kᴴ H_k V_k)^{-1}, V_k = (A + μI)^{-1} H_kᴴ U_k W_k with A =
    Σ_j H_jᴴ U_j W_j U_jᴴ H_j and μ ≥ 0 the smallest value meeting Σ tr(V_k V_kᴴ) ≤ P (eigendecomposition
    of A + bisection). MRT initialisation at equal power.
    """
    nr = h.shape[2]
    mask = user_mask.to(h.real.dtype)
    eye_r = torch.eye(nr, dtype=h.dtype)
    v = h.mH.clone()  # MRT start (B, K, M, Nr)
    scale = torch.sqrt(p_total / (v.abs() ** 2).sum((1, 2, 3)).clamp_min(1e-30))
    v = v * scale[:, None, None, None]
    history = [mimo_sum_rate(h, v, noise)] if trace else []
    for _ in range(iters):
        hv = torch.einsum("bkrm,bjmd->bkjrd", h, v)  # H_k V_j
        cov = torch.einsum("bkjrd,bkjsd->bkrs", hv, hv.conj()) + noise * eye_r
        hvk = torch.diagonal(hv, dim1=1, dim2=2).permute(0, 3, 1, 2)  # (B, K, Nr, d)
        u = torch.linalg.solve(cov, hvk)
        e = eye_r - u.mH @ hvk
        w = torch.linalg.inv(e) * mask[:, :, None, None]  # d × d MSE weights (tiny, per user)
        bk = h.mH @ u @ w  # (B, K, M, d): H_kᴴ U_k W_k
        a = torch.einsum("bkmr,bkrs,bkns->bmn", h.mH @ u, w, (h.mH @ u).conj())
        a = (a + a.mH) / 2
        lam, q = torch.linalg.eigh(a)
        qb = q.mH.unsqueeze(1) @ bk  # (B, K, M, d)
        phi = (qb.abs() ** 2).sum((1, 3))  # (B, M)
        mu = _bisect_mu(lam, phi, p_total)
        inv = q @ torch.diag_embed((1.0 / (lam + mu[:, None]).clamp_min(1e-12)).to(h.dtype)) @ q.mH
        v = (inv.unsqueeze(1) @ bk) * mask[:, :, None, None]
        if trace or tol > 0:
            rate = mimo_sum_rate(h, v, noise)
            if trace:
                history.append(rate)
            if (
                tol > 0
                and trace
                and len(history) > 1
                and bool(((history[-1] - history[-2]).abs() < tol).all())
            ):
                break
    return (v, history) if trace else v


def _bisect_mu(lam: torch.Tensor, phi: torch.Tensor, p_total: float, steps: int = 60) -> torch.Tensor:
    """Smallest μ ≥ 0 with Σ_m φ_m / (λ_m + μ)² ≤ P, per network."""

    def power(mu: torch.Tensor) -> torch.Tensor:
        return (phi / (lam + mu[:, None]).clamp_min(1e-12) ** 2).sum(1)

    lo = torch.zeros(lam.shape[0], dtype=lam.dtype)
    hi = torch.sqrt(phi.sum(1) / p_total) + 1e-12
    feasible0 = power(lo) <= p_total
    for _ in range(steps):
        mid = (lo + hi) / 2
        over = power(mid) > p_total
        lo, hi = torch.where(over, mid, lo), torch.where(over, hi, mid)
    return torch.where(feasible0, torch.zeros_like(hi), hi)


def mimo_sum_rate(h: torch.Tensor, v: torch.Tensor, noise: float) -> torch.Tensor:
    """(B,) Σ_k log2 det(I + H_k V_k V_kᴴ H_kᴴ J_k^{-1}), J_k = Σ_{j≠k} H_k V_j V_jᴴ H_kᴴ + σ² I."""
    nr = h.shape[2]
    hv = torch.einsum("bkrm,bjmd->bkjrd", h, v)
    full = torch.einsum("bkjrd,bkjsd->bkrs", hv, hv.conj()) + noise * torch.eye(nr, dtype=h.dtype)
    hvk = torch.diagonal(hv, dim1=1, dim2=2).permute(0, 3, 1, 2)
    interf = full - hvk @ hvk.mH
    rate = torch.linalg.slogdet(full).logabsdet - torch.linalg.slogdet(interf).logabsdet
    return rate.sum(1) / torch.log(torch.tensor(2.0, dtype=rate.dtype))


class MultiUserMISO(Scenario):
    """One BS with M ∈ ``num_antennas`` antennas serving K ∈ ``num_users`` single-antenna users, i.i.d.
    Rayleigh fading, SNR = P/σ².

    GNN grid (homogeneous virtual graph): T = U = K; node (j, k) is "beam j → user k": the maximum-ratio beam
    of user j heard at user k; features [log(1 + P/σ² |h_k h_jᴴ|² / ‖h_j‖²) / 4, |h_k h_jᴴ|² / (‖h_j‖²
    ‖h_k‖²)].
    Antennas enter only through inner products, so one GNN runs at any (M, K). Serving links = the diagonal.
    Raw action on link (k, k): channel 0 → r_k = (Kσ²/P) 10^{2 a_k} (regulariser, RZF at a = 0), channel 1
    → q_k = (a_k + 1)/2, p_k = P q_k / max(1, Σ_j q_j) (total power ≤ P); V = CG_t(Hᴴ(HHᴴ + diag r)^{-1}).
    """

    dims: ClassVar[dict[str, str]] = {"h": "ua", "antenna_mask": "a"}
    num_features = 2
    out_channels = 2
    paired = True

    def __init__(
        self,
        num_antennas: int | tuple[int, int] = 16,
        num_users: int | tuple[int, int] = 8,
        snr_db: float = 10.0,
        p_total: float = 1.0,
        cg_iters: int = 4,
    ) -> None:
        self.antennas = as_range(num_antennas, "num_antennas")
        self.users = as_range(num_users, "num_users")
        self.p_total, self.cg_iters = check_number("p_total", p_total), check_int("cg_iters", cg_iters)
        snr_db = check_number("snr_db", snr_db, positive=False)
        self.noise = float(self.p_total / 10 ** (snr_db / 10))
        if not 0 < self.noise < float("inf"):
            raise ValueError(f"snr_db={snr_db} gives a noise power of {self.noise}: use |snr_db| < 300")
        self.check_memory("(num_antennas, num_users)")

    def bytes_per_network(self, sizes: tuple[int, ...]) -> float:
        m, k = sizes
        return 32.0 * k * m + 64.0 * k * k + 48.0 * m * m  # channels, (K, K) features/Gram, WMMSE's eigh

    def size_ranges(self) -> list[tuple[int, int]]:
        return [self.antennas, self.users]

    def pad_target(self, sizes: np.ndarray) -> dict[str, int]:
        k = int(sizes[:, 1].max())
        return {"a": int(sizes[:, 0].max()), "u": k, "t": k}

    def _generate(self, rng: np.random.Generator, n: int, size: tuple[int, ...]) -> Networks:
        m, k = size
        h = (rng.standard_normal((n, k, m)) + 1j * rng.standard_normal((n, k, m))) / np.sqrt(2.0)
        ones = torch.ones(n, k, dtype=torch.bool)
        eye = torch.eye(k, dtype=torch.bool).expand(n, k, k).clone()
        return Networks(ones, ones.clone(), eye, {"h": torch.as_tensor(h), "antenna_mask": torch.ones(n, m)})

    @property
    def max_tx(self) -> int:
        return self.users[1]

    @property
    def max_users(self) -> int:
        return self.users[1]

    def features(self, net: Networks) -> torch.Tensor:
        h = net.data["h"]
        gram = (h @ h.mH).abs() ** 2  # |h_k h_jᴴ|², (B, k, j)
        norms = torch.diagonal(gram, dim1=1, dim2=2).sqrt().clamp_min(1e-30)  # ‖h‖²
        beam = (gram / norms[:, None, :]).transpose(1, 2)  # (B, j, k): beam j at user k
        corr = beam / norms[:, None, :]
        return (
            torch.stack([torch.log1p(beam * self.p_total / self.noise) / 4, corr], -1) * net.valid[..., None]
        )

    def allocate(self, net: Networks, grid: torch.Tensor) -> torch.Tensor:
        a = grid_diag(grid).clamp(-1.0, 1.0)
        mask = net.user_mask
        reg = rzf_reg(mask, self.p_total, self.noise) * 10 ** (2 * a[..., 0])
        q = (a[..., 1] + 1.0) / 2.0 * mask
        power = self.p_total * q / q.sum(1, keepdim=True).clamp_min(1.0)
        return linear_precoder(net.data["h"], mask, reg, power, cg_iters=self.cg_iters)

    def user_se(self, net: Networks, alloc: torch.Tensor) -> torch.Tensor:
        return miso_se(net.data["h"], alloc, self.noise) * net.user_mask

    def baselines(self, net: Networks) -> dict[str, torch.Tensor]:
        h, mask = net.data["h"], net.user_mask
        ep, reg = equal_power(mask, self.p_total), rzf_reg(mask, self.p_total, self.noise)
        zero = torch.zeros_like(reg)
        t, p = self.cg_iters, self.p_total
        return {  # RZF in both power conventions (issue 17): P/K per user (columns normalised) | total P
            "MRT": self.user_se(net, mrt(h, mask, p)),
            "ZF": self.user_se(net, linear_precoder(h, mask, zero + 1e-9, ep)),
            "RZF": self.user_se(net, linear_precoder(h, mask, reg, ep)),
            f"RZF-CG{t}": self.user_se(net, linear_precoder(h, mask, reg, ep, t)),
            "RZF total-P": self.user_se(net, total_power_precoder(h, mask, reg, p)),
            f"RZF-CG{t} total-P": self.user_se(net, total_power_precoder(h, mask, reg, p, t)),
        }

    def wmmse(self, net: Networks, iters: int = 100) -> torch.Tensor:
        v = wmmse_mimo(net.data["h"][:, :, None, :], net.user_mask, self.p_total, self.noise, iters)
        return self.user_se(net, v[..., 0].transpose(1, 2))

    def action_dim(self) -> int:
        return 2 * self.users[1]

    def grid_to_action(self, grid: torch.Tensor) -> torch.Tensor:
        return grid_diag(grid).transpose(1, 2).flatten(1)  # [reg_1..reg_K, power_1..power_K]

    def action_to_grid(self, action: torch.Tensor) -> torch.Tensor:
        return diag_grid(action.reshape(action.shape[0], 2, self.users[1]).transpose(1, 2))
