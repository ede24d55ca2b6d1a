"""K-user Gaussian interference channel power control (Sun et al. 2018; Shen et al. 2019).

Sun et al., IEEE TSP 2018, Sec. IV (github.com/Haoran-S/TSP-DNN @ 674df88); Shen et al. JSAC 2021 Sec. V.A:
h_kj ~ CN(0, 1) is the channel from TX j to RX k, P_max = 1,
σ² = 1 (0 dB) or 0.1 (10 dB). Rate_k = log2(1 + |h_kk|² p_k / (Σ_{j≠k} |h_kj|² p_j + σ²)).
Grid convention: ``gain[b, j, k] = |h_kj|²`` (row = TX j, column = user k), so the diagonal is the direct
links.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from envs.wireless.common import Networks, Scenario, as_range, check_number, diag_grid, grid_diag


def ic_rates(gain: torch.Tensor, power: torch.Tensor, noise: float) -> torch.Tensor:
    """(B, K) rates in bit/s/Hz; ``gain`` (B, K, K) TX-major, ``power`` (B, K) (zero for padded users)."""
    rx = gain * power[:, :, None]  # (B, j, k) power received at k from TX j
    signal = torch.diagonal(rx, dim1=1, dim2=2)
    interference = rx.sum(1) - signal
    return torch.log2(1.0 + signal / (interference + noise))


def wmmse_ic(
    gain: torch.Tensor, mask: torch.Tensor, noise: float, p_max: float, iters: int = 100, trace: bool = False
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Scalar WMMSE (Shi et al. 2011; Sun et al. 2018 Algorithm 1), batched, α_k = 1, v_k = √p_k.

    u_k = |h_kk| v_k / (Σ_j |h_kj|² v_j² + σ²);  w_k = 1 / (1 − u_k |h_kk| v_k);
    v_k = clip(w_k u_k |h_kk| / Σ_j w_j u_j² |h_jk|², 0, √P_max). Initialised at full power; runs ``iters``
    iterations (the reference code stops earlier at a 1e-3 change of Σ log w, which gives the same point).

    Returns:
        (B, K) powers, and with ``trace`` the list of (B,) sum rates after every iteration (index 0 = init).
    """
    m = mask.to(gain.dtype)
    h_dir = torch.sqrt(torch.diagonal(gain, dim1=1, dim2=2))
    v = np.sqrt(p_max) * m
    history = [ic_rates(gain, v**2, noise).mul(m).sum(-1)] if trace else []
    for _ in range(iters):
        total = (gain * (v**2)[:, :, None]).sum(1) + noise  # Σ_j |h_kj|² v_j² + σ² at RX k
        u = h_dir * v / total
        w = 1.0 / (1.0 - u * h_dir * v).clamp_min(1e-12)
        denom = (gain * (w * u**2)[:, None, :]).sum(2)  # Σ_j w_j u_j² |h_jk|²: TX k heard at every RX j
        v = torch.where(denom > 0, w * u * h_dir / denom.clamp_min(1e-30), torch.zeros_like(v))
        v = v.clamp(0.0, np.sqrt(p_max)) * m
        if trace:
            history.append(ic_rates(gain, v**2, noise).mul(m).sum(-1))
    return (v**2, history) if trace else v**2


class InterferenceChannel(Scenario):
    """Gaussian IC with K ∈ ``num_users`` pairs, SNR ``snr_db`` = 10·log10(P_max/σ²).

    GNN grid: T = U = K; node (j, k) carries log(1 + |h_kj|² P_max/σ²); serving links are the diagonal; the
    raw action a_k ∈ [-1, 1] of link (k, k) gives p_k = P_max (a_k + 1)/2 (budget per TX: p_k ≤ P_max).
    """

    dims: ClassVar[dict[str, str]] = {"gain": "tu"}
    num_features = 1
    out_channels = 1
    paired = True

    def __init__(
        self, num_users: int | tuple[int, int] = 10, snr_db: float = 0.0, p_max: float = 1.0
    ) -> None:
        self.users = as_range(num_users, "num_users")
        self.p_max = check_number("p_max", p_max)
        snr_db = check_number("snr_db", snr_db, positive=False)
        self.noise = float(self.p_max / 10 ** (snr_db / 10))
        if not 0 < self.noise < float("inf"):
            raise ValueError(f"snr_db={snr_db} gives a noise power of {self.noise}: use |snr_db| < 300")
        self.check_memory("num_users")

    def bytes_per_network(self, sizes: tuple[int, ...]) -> float:
        (k,) = sizes
        return 64.0 * k * k  # gains, features, WMMSE's (K, K) temporaries

    def size_ranges(self) -> list[tuple[int, int]]:
        return [self.users]

    def pad_target(self, sizes: np.ndarray) -> dict[str, int]:
        k = int(sizes[:, 0].max())
        return {"t": k, "u": k}

    def _generate(self, rng: np.random.Generator, n: int, size: tuple[int, ...]) -> Networks:
        (k,) = size
        h = (rng.standard_normal((n, k, k)) + 1j * rng.standard_normal((n, k, k))) / np.sqrt(2.0)
        gain = torch.as_tensor(np.abs(h) ** 2)  # i.i.d., so the TX-major transpose is the same distribution
        ones = torch.ones(n, k, dtype=torch.bool)
        return Networks(
            ones, ones.clone(), torch.eye(k, dtype=torch.bool).expand(n, k, k).clone(), {"gain": gain}
        )

    @property
    def max_tx(self) -> int:
        return self.users[1]

    @property
    def max_users(self) -> int:
        return self.users[1]

    def features(self, net: Networks) -> torch.Tensor:
        return torch.log1p(net.data["gain"] * self.p_max / self.noise)[..., None] * net.valid[..., None]

    def allocate(self, net: Networks, grid: torch.Tensor) -> torch.Tensor:
        a = grid_diag(grid)[..., 0].clamp(-1.0, 1.0)
        return self.p_max * (a + 1.0) / 2.0 * net.user_mask

    def user_se(self, net: Networks, alloc: torch.Tensor) -> torch.Tensor:
        return ic_rates(net.data["gain"], alloc * net.user_mask, self.noise) * net.user_mask

    def baselines(self, net: Networks) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(0)
        rand = torch.rand(net.user_mask.shape, generator=gen, dtype=torch.float64) * self.p_max
        full = self.p_max * net.user_mask.double()
        return {"full power": self.user_se(net, full), "random power": self.user_se(net, rand)}

    def wmmse(self, net: Networks, iters: int = 100) -> torch.Tensor:
        power = wmmse_ic(net.data["gain"], net.user_mask, self.noise, self.p_max, iters)
        return self.user_se(net, power)

    def action_dim(self) -> int:
        return self.users[1]

    def grid_to_action(self, grid: torch.Tensor) -> torch.Tensor:
        return grid_diag(grid)[..., 0]

    def action_to_grid(self, action: torch.Tensor) -> torch.Tensor:
        return diag_grid(action[..., None])
