"""User-centric cell-free massive MIMO downlink power allocation (Demir, Björnson, Sanguinetti 2021).

Setup (book Sec. 5.3/7.4; github.com/emilbjornson/cell-free-book ``generateSetup.m``): APs and UEs uniform in
a
square with wrap-around, APs 10 m above UEs, path loss −30.5 − 36.7 log10(d) dB, 4 dB shadowing, B = 20 MHz,
noise figure 7 dB, τ_c = 200, τ_p = 10, pilot power 100 mW, ρ_max = 200 mW per AP. Pilot assignment and
DCC clustering follow the book (master AP = strongest; pilot with least contamination at the master AP;
each AP serves the strongest UE on every pilot). The square side scales as √(L / 100) km so every size has
the book's densities (100 APs and 40 UEs per km² at L = 100, K = 40).

Deviations (documented in docs/wireless.md): uncorrelated Rayleigh fading (R = β I instead of local
scattering), independent shadowing, per-AP antenna counts drawn from a range.

Downlink SE: distributed MR precoding with normalised local precoders and per-(AP, UE) powers ρ_lk, the
use-and-then-forget bound (book Sec. 6.2, Theorem 6.4 with the MR closed form of Corollary 6.x for
uncorrelated fading, derived in docs/wireless.md):

  SINR_k = (Σ_l √(ρ_lk N_l γ_lk))² / (Σ_i Σ_l ρ_li β_lk + Σ_{i ∈ P_k \\ {k}} (Σ_l √(ρ_li N_l γ_lk))² + σ²),
  γ_lk = τ_p p β_lk² / (τ_p p Σ_{i∈P_k} β_li + σ²),   SE_k = (1 − τ_p/τ_c) log2(1 + SINR_k),

with the per-AP budget Σ_k ρ_lk ≤ ρ_max, ρ_lk = 0 outside the DCC clusters.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from envs.wireless.common import Networks, Scenario, as_range, check_int, check_number


def cellfree_se(net: Networks, rho: torch.Tensor, tau_p: int, tau_c: int, noise: float) -> torch.Tensor:
    """(B, K) SE of every UE for powers ``rho`` (B, L, K) in W (zero outside the clusters)."""
    beta, gamma, ant, same = net.data["beta"], net.data["gamma"], net.data["antennas"], net.data["same_pilot"]
    power = rho * ant[:, :, None]
    # √(ρ_li N_l), with a finite gradient at ρ = 0 (links outside the clusters carry exactly zero power)
    amp = torch.where(power > 0, torch.sqrt(power.clamp_min(1e-300)), torch.zeros_like(power))
    coh = torch.einsum("bli,blk->bik", amp, torch.sqrt(gamma))  # coh[i, k] = Σ_l √(ρ_li N_l γ_lk)
    signal = torch.diagonal(coh, dim1=1, dim2=2) ** 2
    incoherent = torch.einsum("bli,blk->bk", rho, beta)
    contamination = ((coh**2) * same).sum(1) - signal  # same[i, k]: i shares k's pilot (incl. i = k)
    sinr = signal / (incoherent + contamination + noise)
    return (1.0 - tau_p / tau_c) * torch.log2(1.0 + sinr) * net.user_mask


def wmmse_cellfree(
    net: Networks,
    rho_max: float,
    noise: float,
    iters: int = 100,
    trace: bool = False,
    tau_p: int = 10,
    tau_c: int = 200,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Sum-SE maximisation by WMMSE with a majorise–minimise power step (book Alg. 7.6 family).

    With μ_lk = √ρ_lk, a_k = Σ_l μ_lk s_lk (s_lk = √(N_l γ_lk)) and total received power T_k, the scalar
    WMMSE steps u_k = a_k/T_k, w_k = 1/(1 − u_k a_k) are exact; the μ-step minimises a separable upper bound
    of the convex quadratic Σ_k w_k(u_k² T_k − 2u_k a_k) ((s·μ)² ≤ (s·μ̄) Σ_l s_l μ_l²/μ̄_l, tight at μ̄),
    whose per-AP solution is μ_lk = c_lk / (D_lk + λ_l) with λ_l ≥ 0 found by bisection. Every step is a
    block ascent, so the sum SE never decreases. Initialised at equal power over each AP's served UEs.
    """
    beta, gamma, ant, same = net.data["beta"], net.data["gamma"], net.data["antennas"], net.data["same_pilot"]
    serv = net.serving.to(beta.dtype)
    s = torch.sqrt(ant[:, :, None] * gamma) * serv  # only served links carry power; s enters through μ
    s_all = torch.sqrt(ant[:, :, None] * gamma)
    mu = torch.sqrt(rho_max * serv / serv.sum(2, keepdim=True).clamp_min(1.0))
    umask = net.user_mask.to(beta.dtype)

    def sum_se(m: torch.Tensor) -> torch.Tensor:
        return cellfree_se(net, m**2, tau_p, tau_c, noise).sum(-1)

    history = [sum_se(mu)] if trace else []
    for _ in range(iters):
        coh = torch.einsum("bli,blk->bik", mu, s_all)  # Σ_l μ_li s_lk
        a = torch.diagonal(coh, dim1=1, dim2=2)
        total = torch.einsum("bli,blk->bk", mu**2, beta) + ((coh**2) * same).sum(1) + noise
        u = a / total * umask
        w = 1.0 / (1.0 - u * a).clamp_min(1e-12) * umask
        wu2 = w * u**2
        d = torch.einsum("bk,blk->bl", wu2, beta)[:, :, None]  # Σ_k w_k u_k² β_lk, per AP
        # coherent part Σ_{k ∈ P_i} w_k u_k² (s_k·μ_i)², majorised per (l, i)
        coh_w = wu2[:, None, :] * same * coh  # (b, i, k): w_k u_k² (s_k·μ_i) for k ∈ P_i
        maj = torch.einsum("bik,blk->bli", coh_w, s_all) / mu.clamp_min(1e-30)
        big_d = (d + maj) * serv + (1.0 - serv)
        c = (w * u)[:, None, :] * s
        mu = _per_ap_solve(c, big_d, rho_max) * serv
        if trace:
            history.append(sum_se(mu))
    return (mu**2, history) if trace else mu**2


def _per_ap_solve(c: torch.Tensor, d: torch.Tensor, rho_max: float, steps: int = 50) -> torch.Tensor:
    """argmin Σ_k d_lk x_lk² − 2c_lk x_lk s.t. Σ_k x_lk² ≤ ρ_max per AP: x = c/(d + λ_l), λ_l by bisection."""

    def power(lam: torch.Tensor) -> torch.Tensor:
        return ((c / (d + lam)) ** 2).sum(2, keepdim=True)

    lo = torch.zeros_like(d[:, :, :1])
    hi = torch.ones_like(lo)
    while bool((power(hi) > rho_max).any()):
        hi = torch.where(power(hi) > rho_max, hi * 10.0, hi)
    for _ in range(steps):
        mid = (lo + hi) / 2
        over = power(mid) > rho_max
        lo, hi = torch.where(over, mid, lo), torch.where(over, hi, mid)
    lam = torch.where(power(lo) <= rho_max, lo, hi)
    return c / (d + lam)


def fractional_power(net: Networks, rho_max: float, upsilon: float) -> torch.Tensor:
    """Distributed fractional power allocation (book eq. 7.47): ρ_lk = ρ_max β_lk^υ / Σ_{i∈D_l} β_li^υ."""
    serv = net.serving.to(net.data["beta"].dtype)
    weight = net.data["beta"].clamp_min(1e-300) ** upsilon * serv
    return rho_max * weight / weight.sum(2, keepdim=True).clamp_min(1e-300)


class CellFree(Scenario):
    """Cell-free downlink with L ∈ ``num_aps`` APs, K ∈ ``num_users`` UEs, N_l ∈ ``antennas`` per AP.

    GNN grid: T = L APs, U = K UEs, one node per (AP, UE) pair; the serving mask is the DCC clustering.
    Node features: [10 log10(ρ_max β_lk / σ²) / 20, γ_lk / β_lk (estimate quality), log2(N_l) / 2].
    Raw action a_lk ∈ [-1, 1] → q_lk = (a_lk + 1)/2 on served links, ρ_lk = ρ_max q_lk / max(1, Σ_k q_lk),
    so every AP's budget Σ_k ρ_lk ≤ ρ_max holds for any action.
    """

    dims: ClassVar[dict[str, str]] = {"beta": "tu", "gamma": "tu", "antennas": "t", "same_pilot": "uu"}
    num_features = 3
    out_channels = 1

    def __init__(
        self,
        num_aps: int | tuple[int, int] = 25,
        num_users: int | tuple[int, int] = 10,
        antennas: int | tuple[int, int] = 4,
        tau_p: int = 10,
        tau_c: int = 200,
        rho_max: float = 0.2,
        pilot_power: float = 0.1,
        ap_density: float = 100.0,
        shadow_db: float = 4.0,
    ) -> None:
        self.aps = as_range(num_aps, "num_aps")
        self.users = as_range(num_users, "num_users")
        self.antennas = as_range(antennas, "antennas")
        self.tau_p, self.tau_c = check_int("tau_p", tau_p), check_int("tau_c", tau_c)
        if not self.tau_p < self.tau_c:
            raise ValueError(f"need 1 <= tau_p < tau_c, got tau_p={tau_p}, tau_c={tau_c}")
        self.rho_max, self.pilot_power = (
            check_number("rho_max", rho_max),
            check_number("pilot_power", pilot_power),
        )
        self.ap_density = check_number("ap_density", ap_density)
        self.shadow_db = check_number("shadow_db", shadow_db, positive=False)
        if self.shadow_db < 0:
            raise ValueError(f"shadow_db must be >= 0 (a standard deviation in dB), got {shadow_db!r}")
        self.check_memory("(num_aps, num_users)")
        self.noise = 10 ** ((-174 + 10 * np.log10(20e6) + 7) / 10) / 1000  # W: −174 dBm/Hz, 20 MHz, NF 7 dB

    def size_ranges(self) -> list[tuple[int, int]]:
        return [self.aps, self.users]

    def bytes_per_network(self, sizes: tuple[int, ...]) -> float:
        num_l, num_k = sizes
        return 128.0 * num_l * num_k + 16.0 * num_k * num_k  # (L, K) data, layout, WMMSE-MM; (K, K) pilots

    def pad_target(self, sizes: np.ndarray) -> dict[str, int]:
        return {"t": int(sizes[:, 0].max()), "u": int(sizes[:, 1].max())}

    def _generate(self, rng: np.random.Generator, n: int, size: tuple[int, ...]) -> Networks:
        num_l, num_k = size
        side = 1000.0 * np.sqrt(num_l / self.ap_density)  # metres; keeps the book's densities
        ap = rng.uniform(0, side, (n, num_l, 2))
        ue = rng.uniform(0, side, (n, num_k, 2))
        delta = np.abs(ap[:, :, None, :] - ue[:, None, :, :])
        delta = np.minimum(delta, side - delta)  # wrap-around
        dist = np.sqrt((delta**2).sum(-1) + 10.0**2)  # APs 10 m above UEs
        gain_db = -30.5 - 36.7 * np.log10(dist) + self.shadow_db * rng.standard_normal((n, num_l, num_k))
        beta = 10 ** (gain_db / 10)
        rows = np.arange(n)
        pilot = np.zeros((n, num_k), dtype=np.int64)
        serving = np.zeros((n, num_l, num_k), dtype=bool)
        for k in range(num_k):  # generateSetup.m: master AP and pilot assignment
            master = beta[:, :, k].argmax(1)
            if k < self.tau_p:
                pilot[:, k] = k
            else:
                at_master = beta[rows, master, :k]  # (n, k)
                contamination = np.stack(
                    [(at_master * (pilot[:, :k] == t)).sum(1) for t in range(self.tau_p)], 1
                )
                pilot[:, k] = contamination.argmin(1)
            serving[rows, master, k] = True
        for t in range(self.tau_p):  # each AP serves the strongest UE on every pilot
            on_t = pilot == t
            has = on_t.any(1)
            best = np.where(on_t[:, None, :], beta, -np.inf).argmax(2)  # (n, L)
            nn, ll = np.nonzero(has[:, None] & np.ones((n, num_l), dtype=bool))
            serving[nn, ll, best[nn, ll]] = True
        same = pilot[:, :, None] == pilot[:, None, :]
        contaminated = beta @ same.astype(np.float64)  # Σ_{i∈P_k} β_li
        tp = self.tau_p * self.pilot_power
        gamma = tp * beta**2 / (tp * contaminated + self.noise)
        antennas = rng.integers(self.antennas[0], self.antennas[1] + 1, size=(n, num_l)).astype(np.float64)
        data = {
            "beta": torch.as_tensor(beta),
            "gamma": torch.as_tensor(gamma),
            "antennas": torch.as_tensor(antennas),
            "same_pilot": torch.as_tensor(same.astype(np.float64)),
        }
        ones = torch.ones
        return Networks(
            ones(n, num_l, dtype=torch.bool), ones(n, num_k, dtype=torch.bool), torch.as_tensor(serving), data
        )

    @property
    def max_tx(self) -> int:
        return self.aps[1]

    @property
    def max_users(self) -> int:
        return self.users[1]

    def features(self, net: Networks) -> torch.Tensor:
        beta, valid = net.data["beta"], net.valid
        snr_db = 10 * torch.log10((self.rho_max * beta / self.noise).clamp_min(1e-12)) / 20
        quality = net.data["gamma"] / beta.clamp_min(1e-300)
        ant = torch.log2(net.data["antennas"].clamp_min(1.0))[:, :, None].expand_as(beta) / 2
        return torch.stack([snr_db, quality, ant], -1) * valid[..., None]

    def allocate(self, net: Networks, grid: torch.Tensor) -> torch.Tensor:
        q = (grid[..., 0].clamp(-1.0, 1.0) + 1.0) / 2.0 * net.serving
        return self.rho_max * q / q.sum(2, keepdim=True).clamp_min(1.0)

    def user_se(self, net: Networks, alloc: torch.Tensor) -> torch.Tensor:
        return cellfree_se(net, alloc * net.serving, self.tau_p, self.tau_c, self.noise)

    def baselines(self, net: Networks) -> dict[str, torch.Tensor]:
        serv = net.serving.double()
        share = self.rho_max * serv / serv.sum(2, keepdim=True).clamp_min(1.0)
        return {
            "equal share ρmax/|D_l|": self.user_se(net, share),
            "equal ρmax/τp": self.user_se(net, self.rho_max / self.tau_p * serv),
            "FPA υ=+0.5": self.user_se(net, fractional_power(net, self.rho_max, 0.5)),
            "FPA υ=-0.5": self.user_se(net, fractional_power(net, self.rho_max, -0.5)),
        }

    def wmmse(self, net: Networks, iters: int = 100) -> torch.Tensor:
        rho = wmmse_cellfree(net, self.rho_max, self.noise, iters, tau_p=self.tau_p, tau_c=self.tau_c)
        return self.user_se(net, rho)

    def action_dim(self) -> int:
        return self.aps[1] * self.users[1]

    def grid_to_action(self, grid: torch.Tensor) -> torch.Tensor:
        return grid[..., 0].flatten(1)

    def action_to_grid(self, action: torch.Tensor) -> torch.Tensor:
        return action.reshape(action.shape[0], self.aps[1], self.users[1], 1)
