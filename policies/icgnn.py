"""ICGNN: information-carrying GNN on the homogeneous virtual graph (Sun et al., arXiv 2408.17252).

Reconstruction adopted from papers/wireless_icgnn.md Sec. 3.1 (the paper's layer equations are not public):
one node per TX–user link, stored as a dense (B, T, U, ·) grid; links sharing a TX (a row) or a user (a
column) are neighbours. Every layer carries information along both neighbourhoods with permutation-invariant
aggregators (masked mean and max over all real links, and mean over the serving links), and all nodes share
one set of weights, so a model trained at one size runs at any number of TXs, users and antennas and is
equivariant to permuting TXs and users.

Precoding (scenario 1) is matrix-inverse free: the GNN's per-user outputs (regulariser, power) parametrise
V = Hᴴ(HHᴴ + diag r)^{-1} and the K × K system is solved with a fixed number of conjugate-gradient
iterations (:func:`precode`, built on ``envs.wireless.cg.conjugate_gradient``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from envs.wireless.mimo import linear_precoder


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def _aggregate(h: torch.Tensor, valid: torch.Tensor, serving: torch.Tensor, dim: int) -> torch.Tensor:
    """Masked [mean, max] over real links and mean over serving links along ``dim`` (kept, broadcastable)."""
    count = valid.sum(dim, keepdim=True)
    mean = (h * valid).sum(dim, keepdim=True) / count.clamp_min(1.0)
    big = torch.finfo(h.dtype).max
    peak = h.masked_fill(valid == 0, -big).amax(dim, keepdim=True)
    peak = torch.where(count > 0, peak, torch.zeros_like(peak))
    serve_mean = (h * serving).sum(dim, keepdim=True) / serving.sum(dim, keepdim=True).clamp_min(1.0)
    return torch.cat([mean, peak, serve_mean], -1)


class _Layer(nn.Module):
    """h ← h + W₂ σ(A z + B agg_tx(z) + C agg_user(z)), z = LayerNorm(h).

    The same function as an MLP on the concatenation [z, agg_tx, agg_user], but the aggregate terms are
    projected once per TX / per user and broadcast, so the per-node cost is two D × D products.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.self_proj = nn.Linear(hidden, hidden)
        self.tx_proj = nn.Linear(3 * hidden, hidden, bias=False)
        self.user_proj = nn.Linear(3 * hidden, hidden, bias=False)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, valid: torch.Tensor, serv: torch.Tensor) -> torch.Tensor:
        z = self.norm(h)
        by_tx = self.tx_proj(_aggregate(z, valid, serv, dim=2))  # (B, T, 1, D): links sharing the TX
        by_user = self.user_proj(_aggregate(z, valid, serv, dim=1))  # (B, 1, U, D): links sharing the user
        return (h + self.out(nn.functional.silu(self.self_proj(z) + by_tx + by_user))) * valid


class ICGNN(nn.Module):
    """Homogeneous-graph GNN mapping per-link features to per-link outputs.

    Args:
        in_features: F, per-link input features (the serving flag is appended internally).
        out_channels: outputs per link.
        hidden: width D of the node embeddings.
        layers: number of message-passing layers (each with its own weights, shared by all nodes).
    """

    def __init__(self, in_features: int, out_channels: int, hidden: int = 64, layers: int = 4) -> None:
        super().__init__()
        self.encoder = _mlp([in_features + 1, hidden, hidden])
        self.layers = nn.ModuleList([_Layer(hidden) for _ in range(layers)])
        self.decoder = _mlp([hidden, hidden, out_channels])

    def forward(
        self, links: torch.Tensor, serving: torch.Tensor, tx_mask: torch.Tensor, user_mask: torch.Tensor
    ) -> torch.Tensor:
        """links (B, T, U, F), serving (B, T, U), masks (B, T) / (B, U) → (B, T, U, out_channels)."""
        valid = (tx_mask[:, :, None] * user_mask[:, None, :]).to(links.dtype)[..., None]
        serv = serving.to(links.dtype)[..., None] * valid
        h = self.encoder(torch.cat([links, serv], -1)) * valid
        for layer in self.layers:
            h = layer(h, valid, serv)
        return self.decoder(h) * valid


def obs_to_graph(obs: dict[str, Any], num_features: int) -> tuple[torch.Tensor, ...]:
    """Env observation (one or a batch) → (links, serving, tx_mask, user_mask) grid tensors."""
    tx = torch.as_tensor(np.asarray(obs["tx_mask"]), dtype=torch.float32)
    us = torch.as_tensor(np.asarray(obs["user_mask"]), dtype=torch.float32)
    if tx.dim() == 1:
        tx, us = tx[None], us[None]
    b, t, u = tx.shape[0], tx.shape[1], us.shape[1]
    links = torch.as_tensor(np.asarray(obs["links"]), dtype=torch.float32).reshape(b, t, u, num_features)
    serving = torch.as_tensor(np.asarray(obs["serving"]), dtype=torch.float32).reshape(b, t, u)
    return links, serving, tx, us


def precode(
    h: torch.Tensor, user_mask: torch.Tensor, reg: torch.Tensor, power: torch.Tensor, cg_iters: int
) -> torch.Tensor:
    """V = Hᴴ (HHᴴ + diag reg)^{-1} with ``cg_iters`` CG iterations (no inverse), columns at ``power``."""
    return linear_precoder(h, user_mask, reg, power, cg_iters=cg_iters)
