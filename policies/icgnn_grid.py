"""The link-grid ICGNN: one node per TX–user link on a dense (B, T, U, D) grid (issue 4's model).

ICGNN (Sun et al., arXiv 2408.17252) passes information over the homogeneous virtual graph whose nodes are
TX–user links; links sharing a TX (a row) or a user (a column) are neighbours. The layer equations are not
public; this is the reconstruction of issue 4 in the aggregation style of IGCNet/MPGNN (Shen et al., JSAC
2021, arXiv 2007.07632; github.com/yshenaw/GNN-Resource-Management @ 6a437fe): every layer aggregates the
row and the column of a link with mean and max over real links and mean over serving links.

Issue 17 keeps this model as ``agent.arch=grid`` (the cheaper default is :class:`policies.icgnn.ICGNN`) and
restructures its aggregation: the masked sums are batched matrix products with the masks as weights
(:func:`aggregate`), and the masked max copies the grid only when a batch holds padding.
:func:`aggregate_masked` is the original formulation, kept as the reference the tests compare against.
"""

from __future__ import annotations

import torch
from torch import nn


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with SiLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def aggregate_masked(h: torch.Tensor, valid: torch.Tensor, serving: torch.Tensor, dim: int) -> torch.Tensor:
    """Reference (issue 4): masked [mean, max] over real links and mean over serving links along ``dim``.

    ``h`` (B, T, U, D); ``valid``/``serving`` (B, T, U, 1) float masks; result keeps ``dim`` as size 1.
    """
    count = valid.sum(dim, keepdim=True)
    mean = (h * valid).sum(dim, keepdim=True) / count.clamp_min(1.0)
    big = torch.finfo(h.dtype).max
    peak = h.masked_fill(valid == 0, -big).amax(dim, keepdim=True)
    peak = torch.where(count > 0, peak, torch.zeros_like(peak))
    serve_mean = (h * serving).sum(dim, keepdim=True) / serving.sum(dim, keepdim=True).clamp_min(1.0)
    return torch.cat([mean, peak, serve_mean], -1)


def aggregate(
    h: torch.Tensor, masks: torch.Tensor, inv_counts: torch.Tensor, dim: int, dense: bool
) -> torch.Tensor:
    """The same three aggregates as :func:`aggregate_masked` without masked copies of ``h`` (issue 17).

    Args:
        h: (B, T, U, D) link embeddings.
        masks: (B, T, U, 2) float [valid, serving]: both masked sums come from one batched matmul.
        inv_counts: 1 / max(1, count) of both masks along ``dim``, shaped like the result's mask axis.
        dim: 2 (the TX's row: links sharing the TX) or 1 (the user's column).
        dense: no padding in the batch (the max needs no mask then).
    """
    if dim == 2:
        sums = torch.einsum("btud,btum->btmd", h, masks)  # (B, T, 2, D)
    else:
        sums = torch.einsum("btud,btum->bumd", h, masks)  # (B, U, 2, D)
    sums = sums * inv_counts
    if dense:
        peak = h.amax(dim)
    else:
        valid = masks[..., :1] > 0
        peak = h.masked_fill(~valid, float("-inf")).amax(dim)
        peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    out = torch.cat([sums[..., 0, :], peak, sums[..., 1, :]], -1)
    return out.unsqueeze(dim)


class _GridLayer(nn.Module):
    """h ← h + W₂ σ(A z + B agg_tx(z) + C agg_user(z)), z = LayerNorm(h); aggregates projected once per
    TX / per user and broadcast, so the per-link cost is two D × D products."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.self_proj = nn.Linear(hidden, hidden)
        self.tx_proj = nn.Linear(3 * hidden, hidden, bias=False)
        self.user_proj = nn.Linear(3 * hidden, hidden, bias=False)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, ctx: dict[str, torch.Tensor | bool]) -> torch.Tensor:
        z = self.norm(h)
        if ctx["reference"]:
            by_tx = aggregate_masked(z, ctx["valid"], ctx["serv"], dim=2)
            by_user = aggregate_masked(z, ctx["valid"], ctx["serv"], dim=1)
        else:
            by_tx = aggregate(z, ctx["masks"], ctx["inv_row"], 2, ctx["dense"])
            by_user = aggregate(z, ctx["masks"], ctx["inv_col"], 1, ctx["dense"])
        update = self.out(
            nn.functional.silu(self.self_proj(z) + self.tx_proj(by_tx) + self.user_proj(by_user))
        )
        return h + update if ctx["dense"] else (h + update) * ctx["valid"]


class LinkGridICGNN(nn.Module):
    """Homogeneous-graph GNN mapping per-link features to per-link outputs (one D-wide node per link).

    Args:
        in_features: F, per-link input features (the serving flag is appended internally).
        out_channels: outputs per link.
        hidden: width D of the node embeddings.
        layers: number of message-passing layers (each with its own weights, shared by all nodes).
        reference_aggregation: use :func:`aggregate_masked` (the issue-4 computation) instead of
            :func:`aggregate`; same function, slower.
    """

    def __init__(
        self,
        in_features: int,
        out_channels: int,
        hidden: int = 64,
        layers: int = 4,
        reference_aggregation: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = mlp([in_features + 1, hidden, hidden])
        self.layers = nn.ModuleList([_GridLayer(hidden) for _ in range(layers)])
        self.decoder = mlp([hidden, hidden, out_channels])
        self.reference_aggregation = reference_aggregation

    def forward(
        self, links: torch.Tensor, serving: torch.Tensor, tx_mask: torch.Tensor, user_mask: torch.Tensor
    ) -> torch.Tensor:
        """links (B, T, U, F), serving (B, T, U), masks (B, T) / (B, U) → (B, T, U, out_channels)."""
        valid = (tx_mask[:, :, None] * user_mask[:, None, :]).to(links.dtype)
        serv = serving.to(links.dtype) * valid
        masks = torch.stack([valid, serv], -1)
        counts = masks.sum(2).clamp_min(1.0)  # (B, T, 2) per row
        ctx: dict[str, torch.Tensor | bool] = {
            "reference": self.reference_aggregation,
            "dense": bool(valid.all()),
            "valid": valid[..., None],
            "serv": serv[..., None],
            "masks": masks,
            "inv_row": (1.0 / counts)[..., None],
            "inv_col": (1.0 / masks.sum(1).clamp_min(1.0))[..., None],
        }
        if self.reference_aggregation:
            ctx["dense"] = False
        h = self.encoder(torch.cat([links, serv[..., None]], -1)) * valid[..., None]
        for layer in self.layers:
            h = layer(h, ctx)
        return self.decoder(h) * valid[..., None]
