"""Gymnasium environments for wireless resource allocation (ICGNN, Sun et al., arXiv 2408.17252).

All three share one shape: an episode is one network (one decision, contextual-bandit style); the
observation is the network as a padded TX × user graph; the action is a flat Box in [-1, 1] mapped inside
the env to a feasible allocation; the reward is the sum SE (or the minimum SE with ``objective="maxmin"``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from envs.wireless.cellfree import CellFree
from envs.wireless.common import Networks, Scenario, objective
from envs.wireless.ic import InterferenceChannel
from envs.wireless.mimo import MultiUserMISO

#: Link features are clipped to ±FEATURE_BOUND (they stay well inside in every configured setting).
FEATURE_BOUND = 10.0


class WirelessEnv(gym.Env):
    """Base class; see the subclasses for the manual of each scenario.

    ## Observation Space
    ``Dict`` of float32 Boxes, padded to the configured maximum sizes T (transmitters) × U (users):

    - ``links`` (T·U·F,): per-link features of the homogeneous virtual graph, row-major over (TX, user,
      feature), clipped to ±``FEATURE_BOUND``;
    - ``serving`` (T·U,): 1 on links that carry data; ``tx_mask`` (T,), ``user_mask`` (U,): 1 on real nodes.
    All keys are 1-D so SB3's ``MultiInputPolicy`` takes them as they are; ICGNN reshapes them to the grid.

    ## Rewards
    Σ_k SE_k in bit/s/Hz over the real users (``objective="sum"``) or min_k SE_k (``"maxmin"``).

    ## Starting State
    ``reset`` draws the network size uniformly within the configured ranges, then the layout and fading.

    ## Episode End
    Terminates after the single ``step`` (``terminated=True``, ``truncated=False``).
    ``info`` holds ``sum_se``, ``min_se``, ``num_tx``, ``num_users``.

    ## Bad actions (issue 20)
    Finite entries outside [-1, 1] are clipped to the Box (the action mapping saturates there); NaN/inf
    entries or a wrong shape raise a one-line ``ValueError``. Constructors reject non-finite SNRs,
    non-positive powers, non-integer sizes and sizes whose estimated memory exceeds
    ``envs.wireless.common.MEMORY_BUDGET`` (the error states the estimate and the bound).
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium convention

    def __init__(self, scenario: Scenario, objective: str = "sum", render_mode: str | None = None) -> None:
        if objective not in ("sum", "maxmin"):
            raise ValueError(f"objective must be 'sum' or 'maxmin', got {objective!r}")
        if render_mode is not None:
            raise ValueError(f"wireless envs do not render; got render_mode={render_mode!r}")
        self.scenario, self.objective, self.render_mode = scenario, objective, render_mode
        t, u, f = scenario.max_tx, scenario.max_users, scenario.num_features
        self.observation_space = spaces.Dict(
            {
                "links": spaces.Box(-FEATURE_BOUND, FEATURE_BOUND, (t * u * f,), np.float32),
                "serving": spaces.Box(0.0, 1.0, (t * u,), np.float32),
                "tx_mask": spaces.Box(0.0, 1.0, (t,), np.float32),
                "user_mask": spaces.Box(0.0, 1.0, (u,), np.float32),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, (scenario.action_dim(),), np.float32)
        self._net: Networks | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self._net = self.scenario.sample(self.np_random, 1, pad_max=True)
        return observation(self.scenario, self._net)[0], self._size_info()

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        if self._net is None:
            raise RuntimeError("the episode is over: call reset() before step()")
        act = np.asarray(action, dtype=np.float64)
        if act.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {act.shape}")
        if not np.all(np.isfinite(act)):
            raise ValueError("action contains NaN or inf; actions must be finite values in [-1, 1]")
        grid = self.scenario.action_to_grid(torch.as_tensor(np.clip(act, -1.0, 1.0))[None])
        with torch.no_grad():
            user_se = self.scenario.user_se(self._net, self.scenario.allocate(self._net, grid))
        mask = self._net.user_mask
        info = self._size_info() | {
            "sum_se": float(objective(user_se, mask, "sum")[0]),
            "min_se": float(objective(user_se, mask, "maxmin")[0]),
        }
        obs = observation(self.scenario, self._net)[0]
        self._net = None
        return obs, info["sum_se" if self.objective == "sum" else "min_se"], True, False, info

    def _size_info(self) -> dict[str, int]:
        assert self._net is not None
        return {"num_tx": int(self._net.tx_mask.sum()), "num_users": int(self._net.user_mask.sum())}


def observation(scenario: Scenario, net: Networks) -> list[dict[str, np.ndarray]]:
    """The env observation of every network of a batch padded to the scenario's maximum sizes."""
    feats = scenario.features(net).clamp(-FEATURE_BOUND, FEATURE_BOUND).to(torch.float32).numpy()
    b = feats.shape[0]
    serving = net.serving.to(torch.float32).numpy().reshape(b, -1)
    tx, us = net.tx_mask.to(torch.float32).numpy(), net.user_mask.to(torch.float32).numpy()
    return [
        {"links": feats[i].reshape(-1), "serving": serving[i], "tx_mask": tx[i], "user_mask": us[i]}
        for i in range(b)
    ]


class WirelessICEnv(WirelessEnv):
    """K-user Gaussian interference channel power control (Sun et al. 2018; Shen et al. 2019).

    ## Description
    K transmitter–receiver pairs share a band; h_kj ~ CN(0, 1). Choose every TX's power p_k ∈ [0, P_max].

    ## Action Space
    ``Box(-1, 1, (K_max,))``: p_k = P_max (a_k + 1)/2 (padded entries ignored).

    ## Observation Space, Rewards, Starting State, Episode End
    See :class:`WirelessEnv`; T = U = K_max, F = 1 (log(1 + |h_kj|² P_max/σ²)); serving = diagonal.

    ## Arguments
    ``num_users`` int or [min, max] (default 10); ``snr_db`` = 10 log10(P_max/σ²) (default 0); ``p_max``;
    ``objective`` ``"sum"`` | ``"maxmin"``.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        num_users: Any = 10,
        snr_db: float = 0.0,
        p_max: float = 1.0,
        objective: str = "sum",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(InterferenceChannel(num_users, snr_db, p_max), objective, render_mode)


class WirelessCellFreeEnv(WirelessEnv):
    """User-centric cell-free massive MIMO downlink power allocation (Demir, Björnson, Sanguinetti 2021).

    ## Description
    L multi-antenna APs serve K UEs with distributed MR precoding in DCC clusters (τ_p = 10 pilots); pick the
    power ρ_lk every AP gives each of its UEs under the per-AP budget ρ_max = 200 mW.

    ## Action Space
    ``Box(-1, 1, (L_max·K_max,))`` row-major over (AP, UE): q = (a + 1)/2 on served links,
    ρ_lk = ρ_max q_lk / max(1, Σ_k q_lk) — the per-AP budget holds for every action.

    ## Observation Space, Rewards, Starting State, Episode End
    See :class:`WirelessEnv`; T = L_max, U = K_max, F = 3 (scaled SNR in dB, γ/β, log2 N_l / 2).

    ## Arguments
    ``num_aps``, ``num_users``, ``antennas`` (int or [min, max]; defaults 25, 10, 4), ``tau_p``, ``tau_c``,
    ``rho_max`` (W), ``pilot_power`` (W), ``ap_density`` (per km²), ``shadow_db``, ``objective``.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, objective: str = "sum", render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(CellFree(**kwargs), objective, render_mode)


class WirelessMIMOEnv(WirelessEnv):
    """Cellular MU-MISO downlink precoding without matrix inverse (ICGNN scenario 1).

    ## Description
    A BS with M antennas serves K single-antenna users (i.i.d. Rayleigh). The precoder is
    V = Hᴴ (HHᴴ + diag r)^{-1} diag-normalised to powers p, solved with ``cg_iters`` CG iterations.

    ## Action Space
    ``Box(-1, 1, (2·K_max,))``: [a_reg_1..K_max, a_pow_1..K_max]; r_k = (Kσ²/P) 10^{2 a_reg,k},
    q_k = (a_pow,k + 1)/2, p_k = P q_k / max(1, Σ q) (total power ≤ P). All-zero action = CG-t RZF.

    ## Observation Space, Rewards, Starting State, Episode End
    See :class:`WirelessEnv`; T = U = K_max (node (j, k): MR beam of user j heard at user k), F = 2.

    ## Arguments
    ``num_antennas`` (default 16), ``num_users`` (default 8) int or [min, max]; ``snr_db`` (10);
    ``p_total``; ``cg_iters`` (4); ``objective``.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, objective: str = "sum", render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(MultiUserMISO(**kwargs), objective, render_mode)
