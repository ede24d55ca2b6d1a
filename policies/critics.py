"""Critic networks of the on-policy multi-agent learners (moved out of ``agents/marl/bn_mappo.py``, issue
13)."""

from __future__ import annotations

import torch
from torch import nn


class CentralValue(nn.Module):
    """Centralised state-value V(s) on the global state: MLP ``state → hidden → hidden → 1``.

    The MAPPO critic with ``use_centralized_V=True`` (Chen & Zhang, ICML 2023, Sec. 4; official code
    github.com/dchen48/BNPG @ b7cf8b2, ``r_actor_critic.py: R_Critic``, hidden 64, one ReLU MLP).
    """

    def __init__(self, state_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(state_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """(..., state_dim) → (...) values."""
        return self.net(state).squeeze(-1)
