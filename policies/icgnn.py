"""ICGNN with factorised aggregation: D-wide states per TX and per user, C-channel link weights (issue 17).

ICGNN (Sun et al., arXiv 2408.17252) learns resource allocation by passing information over the
homogeneous virtual graph of TX–user links: a link's neighbours are the links that share its TX (row) or
its user (column); one set of weights serves every network size and the map is equivariant to permuting
TXs and users. The paper's layer equations are not public (no official repository); issue 4 reconstructed
them as a link-grid GNN in the IGCNet/MPGNN style (Shen et al., JSAC 2021, arXiv 2007.07632;
github.com/yshenaw/GNN-Resource-Management @ 6a437fe), kept as :class:`policies.icgnn_grid.LinkGridICGNN`.

This model computes the same kind of row/column message passing without D-wide link embeddings. A row
aggregate of the grid model, Σ_u f(link_tu, state_u), is factorised as Σ_u Σ_c e_tuc · m_uc: a small edge
MLP turns every link's features into C scalar weights e_tuc (computed once, not per layer), and each
entity sends an M-wide message m_u. The aggregate over the TX's row (users heard by / interfering with that
TX) and over the user's column (TXs reaching that user) are then batched matrix products (B, T, U, C) ×
(B, U, M), and all D × D work is per TX and per user (T + U nodes instead of T · U). Serving links (the
diagonal for the IC and MISO, the DCC clusters in cell-free) carry the partner's full state. Node inputs
also hold log(1 + neighbourhood size), so a network's size is visible to every layer (issue 17 item 2).

Cost per network and layer ≈ 2·T·U·C·M + (T + U)·(D·M + (2D + C·M)·D + D²) multiply-adds, against
(T·U)·(≈ 5 D²) for the grid model; docs/wireless.md lists both next to the measured times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from envs.wireless.mimo import linear_precoder
from policies.icgnn_grid import LinkGridICGNN, mlp

__all__ = ["ICGNN", "LinkGridICGNN", "build_icgnn", "flops_per_network", "obs_to_graph", "precode"]


class _Update(nn.Module):
    """s ← s + MLP([LN(s), aggregates, log(1 + n)]): the per-entity update of one round."""

    def __init__(self, hidden: int, inputs: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.mlp = mlp([hidden + inputs + 1, hidden, hidden])

    def forward(self, state: torch.Tensor, agg: torch.Tensor, log_n: torch.Tensor) -> torch.Tensor:
        return state + self.mlp(torch.cat([self.norm(state), agg, log_n], -1))


class ICGNN(nn.Module):
    """Factorised ICGNN: per-link outputs from per-TX and per-user states (issue 17).

    Two forms of the same message passing:

    - ``paired=False`` (cell-free): one state per TX (AP) and one per user. A TX aggregates its row
      Σ_u e_tu · m_u and the mean state of the users it serves; a user its column Σ_t e_tu · m_t and the
      mean state of its serving TXs.
    - ``paired=True`` (IC, cellular MISO: T = U and the serving links are the diagonal): TX k and user k
      form one node, so one state per pair aggregates both its row (the links its TX reaches, i.e. the
      interference it causes) and its column (the links reaching its user, the interference it receives) —
      the node-per-pair graph of IGCNet; half the per-entity work, and only the diagonal is decoded.

    Args:
        in_features: F, per-link input features (the serving flag is appended internally).
        out_channels: outputs per link.
        hidden: width D of the states.
        layers: message-passing rounds, own weights per round.
        channels: C, scalar link weights per link (the edge MLP's output).
        message: M, width of the messages each entity sends.
        paired: the pair form above (needs a square grid with the diagonal as serving links).
        aggregation: ``mean`` (Σ/n over the neighbourhood) or ``sum`` (Σ/10: grows with the number of
            neighbours, like the interference a link sees).
        size_feature: give every update log(1 + n), the neighbourhood size (else a constant zero input).
    """

    def __init__(
        self,
        in_features: int,
        out_channels: int,
        hidden: int = 32,
        layers: int = 3,
        channels: int = 8,
        message: int = 8,
        paired: bool = False,
        aggregation: str = "mean",
        size_feature: bool = True,
    ) -> None:
        super().__init__()
        if aggregation not in ("mean", "sum"):
            raise ValueError(f"aggregation must be 'mean' or 'sum', got {aggregation!r}")
        self.channels, self.message, self.paired, self.aggregation = channels, message, paired, aggregation
        self.ref_scale = 0.1  # sum aggregation: Σ / 10, a fixed scale (not the network's size)
        self.size_weight = 1.0 if size_feature else 0.0
        c, m, d = channels, message, hidden
        self.edge = mlp([in_features + 1, 2 * c, c])
        sides = ["pair"] if paired else ["tx", "user"]
        agg_in = 2 * c * m if paired else c * m + d  # paired: row + column; else own side + served mean
        init_in = 3 * c if paired else 2 * c
        self.init = nn.ModuleDict({k: mlp([init_in + 1, d, d]) for k in sides})
        self.msg = nn.ModuleDict(
            {k: nn.ModuleList([nn.Linear(d, m, bias=False) for _ in range(layers)]) for k in sides}
        )
        self.update = nn.ModuleDict(
            {k: nn.ModuleList([_Update(d, agg_in) for _ in range(layers)]) for k in sides}
        )
        self.final_norm = nn.LayerNorm(d)
        if paired:
            self.decoder = mlp([d + c, d, out_channels])
        else:
            # per-link decoder σ(A tx_t + B user_u + G e_tu) → out, M wide: the only (T, U, ·) activation
            self.dec_tx = nn.Linear(d, m)
            self.dec_user = nn.Linear(d, m, bias=False)
            self.dec_edge = nn.Linear(c, m, bias=False)
            self.dec_out = nn.Linear(m, out_channels)

    def forward(
        self, links: torch.Tensor, serving: torch.Tensor, tx_mask: torch.Tensor, user_mask: torch.Tensor
    ) -> torch.Tensor:
        """links (B, T, U, F), serving (B, T, U), masks (B, T) / (B, U) → (B, T, U, out_channels)."""
        dtype = links.dtype
        tx_m, us_m = tx_mask.to(dtype), user_mask.to(dtype)
        valid = tx_m[:, :, None] * us_m[:, None, :]
        serv = serving.to(dtype) * valid
        e = self.edge(torch.cat([links, serv[..., None]], -1)) * valid[..., None]  # (B, T, U, C)
        b, t, u, c = e.shape
        n_u, n_t = us_m.sum(1)[:, None, None], tx_m.sum(1)[:, None, None]  # (B, 1, 1)
        inv_u, inv_t = 1.0 / n_u.clamp_min(1.0), 1.0 / n_t.clamp_min(1.0)
        # weights of the link-weighted aggregates: 1/n (mean) or 1/n_ref (sum, grows with the size)
        w_u, w_t = (inv_u, inv_t) if self.aggregation == "mean" else (self.ref_scale,) * 2
        if self.paired:
            if t != u:
                raise ValueError(f"paired=True needs a square T x U grid, got {t} x {u}")
            # link weights in matmul layout, made once: both[b, j, k·2C + x] = e_kjx (row of pair k, x < C)
            # and e_jk(x-C) (column of pair k); aggregates are then (B, M, K) @ (B, K, 2KC) products
            both = torch.cat([e.permute(0, 2, 1, 3), e], 3).reshape(b, t, 2 * t * c)
            return self._paired(e, both, tx_m * us_m, n_u, w_u)
        # row[b, t·C + c, u] = e_tuc, col[b, u·C + c, t] = e_tuc
        row, col = e.permute(0, 1, 3, 2), e.permute(0, 2, 3, 1)
        srv_t = serv / serv.sum(2, keepdim=True).clamp_min(1.0)  # row-normalised serving weights (B, T, U)
        srv_u = (serv / serv.sum(1, keepdim=True).clamp_min(1.0)).transpose(1, 2)  # (B, U, T)
        log_u = torch.log1p(n_u).expand(-1, t, 1) * self.size_weight  # log of the neighbourhood size
        log_t = torch.log1p(n_t).expand(-1, u, 1) * self.size_weight
        row, col = row.reshape(b, t * c, u), col.reshape(b, u * c, t)
        tx_in = [e.sum(2) * w_u, torch.einsum("btu,btuc->btc", srv_t, e), log_u]
        us_in = [e.sum(1) * w_t, torch.einsum("but,btuc->buc", srv_u, e), log_t]
        tx = self.init["tx"](torch.cat(tx_in, -1)) * tx_m[..., None]  # (B, T, D)
        us = self.init["user"](torch.cat(us_in, -1)) * us_m[..., None]  # (B, U, D)
        for i in range(len(self.update["tx"])):
            m_u, m_t = self.msg["user"][i](us), self.msg["tx"][i](tx)  # (B, U, M), (B, T, M)
            agg_t = torch.cat([torch.bmm(row, m_u).view(b, t, -1) * w_u, torch.bmm(srv_t, us)], -1)
            agg_u = torch.cat([torch.bmm(col, m_t).view(b, u, -1) * w_t, torch.bmm(srv_u, tx)], -1)
            tx, us = (
                self.update["tx"][i](tx, agg_t, log_u) * tx_m[..., None],
                self.update["user"][i](us, agg_u, log_t) * us_m[..., None],
            )
        tx, us = self.final_norm(tx), self.final_norm(us)
        pre = self.dec_tx(tx)[:, :, None] + self.dec_user(us)[:, None] + self.dec_edge(e)
        return self.dec_out(nn.functional.silu(pre)) * valid[..., None]

    def _paired(
        self,
        e: torch.Tensor,
        both: torch.Tensor,
        mask: torch.Tensor,
        n: torch.Tensor,
        w_n: torch.Tensor | float,
    ) -> torch.Tensor:
        b, k = e.shape[:2]
        e_diag = torch.diagonal(e, dim1=1, dim2=2).transpose(1, 2)  # (B, K, C): the serving links
        log_n = torch.log1p(n).expand(-1, k, 1) * self.size_weight
        init_in = torch.cat([e.sum(2) * w_n, e.sum(1) * w_n, e_diag, log_n], -1)
        dense = bool(mask.all())
        s = self.init["pair"](init_in)
        s = s if dense else s * mask[..., None]
        for msg, update in zip(self.msg["pair"], self.update["pair"], strict=True):
            # row and column aggregates (B, M, K·2C) → (B, K, 2C·M); the wide-output product is the fast one
            agg = torch.bmm(msg(s).transpose(1, 2), both).view(b, -1, k, both.shape[2] // k)
            agg = agg.permute(0, 2, 3, 1).reshape(b, k, -1) * w_n
            s = update(s, agg, log_n)
            s = s if dense else s * mask[..., None]
        out = self.decoder(torch.cat([self.final_norm(s), e_diag], -1)) * mask[..., None]  # (B, K, out)
        return out[:, :, None, :] * torch.eye(k, dtype=e.dtype)[None, :, :, None]


def build_icgnn(arch: str, in_features: int, out_channels: int, **kwargs: Any) -> nn.Module:
    """``arch="entity"``: :class:`ICGNN`; ``"grid"``: :class:`LinkGridICGNN` (only hidden/layers apply)."""
    if arch == "entity":
        return ICGNN(in_features, out_channels, **kwargs)
    if arch == "grid":
        return LinkGridICGNN(in_features, out_channels, kwargs["hidden"], kwargs["layers"])
    raise ValueError(f"arch must be 'entity' or 'grid', got {arch!r}")


def flops_per_network(model: nn.Module, t: int, u: int, in_features: int) -> float:
    """Multiply-adds × 2 of one forward pass on a dense T × U network (matrix products only; the
    element-wise work is O(T·U·C) for :class:`ICGNN` and O(T·U·D) per layer for the grid model)."""
    if isinstance(model, LinkGridICGNN):
        d = model.encoder[0].out_features
        layers = len(model.layers)
        per_link = (in_features + 1) * d + d * d + layers * (2 * d * d + 2 * 3 * d) + d * d + d * 2
        per_entity = layers * 2 * 3 * d * d  # aggregate projections, once per row / column
        return 2.0 * (t * u * per_link + (t + u) * per_entity / 2)
    assert isinstance(model, ICGNN)
    c, m = model.channels, model.message
    side = "pair" if model.paired else "tx"
    d = model.init[side][0].out_features
    layers = len(model.update[side])
    out = model.decoder[-1].out_features if model.paired else model.dec_out.out_features
    edge = t * u * ((in_features + 1) * 2 * c + 2 * c * c)
    if model.paired:  # K = t nodes; row + column aggregates of width C·M each
        per_layer = 2 * t * t * c * m + t * (d * m + (d + 2 * c * m + 1) * d + d * d)
        rest = t * ((3 * c + 1) * d + d * d) + t * ((d + c) * d + d * out)
    else:
        agg = 2 * t * u * c * m + 2 * t * u * d  # link-weighted rows/columns + served means
        per_layer = agg + (t + u) * (d * m + (2 * d + c * m + 1) * d + d * d)
        rest = (t + u) * ((2 * c + 1) * d + d * d) + (t + u) * d * m + t * u * (c * m + m * out)
    return 2.0 * (edge + layers * per_layer + rest)


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
