"""MENTOR's mixture-of-experts actor trunk (Huang et al. 2025, arXiv 2410.14972, Sec. "MoE backbone").

Provenance: suninghuang19/mentor @ f4fa81f ``moe.py`` (experts ``Linear(d,h)-ReLU-Linear(h,d)``, gate
``Linear(d,g)-ReLU-Dropout-Linear(g,E)``, softmax, top-k renormalised weights) and ``agents/mentor.py`` (the
MoE replaces the actor's middle
``Linear(1024,1024)``).

Dispatch (issue 16). The released code runs all E experts on every input and discards the E − k it does
not select. ``dispatch="sparse"`` (default) runs each expert only on the inputs routed to it (one gather,
E small matmuls, one ``index_add_``): k/E of the expert FLOPs, the same output up to fp32 summation order
(tested against ``dispatch="dense"``). The sparse compute calls the experts' layers functionally, so
forward hooks never see partial batches; when an expert layer *has* forward hooks (the dormant-ratio meter
of the actor update), the experts are also run once on the whole batch without gradient, so the hooks see
exactly what they see under dense compute (the released dormant statistic: every expert neuron averaged
over the whole batch). Measured on CPU: counting only routed inputs instead changes MENTOR's behaviour —
once the gate concentrates on a few experts, the idle experts dominate the ratio and σ ≈ 1.

Auxiliary loss. The official ``moe_auxiliary_loss`` is ``Var_e(load_e) + mean_b H(p_b)`` where ``load_e`` is
the *count* of top-k selections / B. A count is piecewise constant in the gate logits, so that variance has
zero gradient and balances nothing. We keep the count for logging (:attr:`MoE.last_usage`) and differentiate
the same statistic measured by the routing weights, ``load_e = k · mean_b w_{b,e}`` (same scale: Σ_e = k),
so the balance term reaches the gate. The loss is scaled by ``aux_loss_coef`` in the learner (the official
``agents/mentor.py`` computes ``aux_loss_scale`` = 0.002 by ``calc_aux_loss_scale`` but only logs it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from policies.vision import Actor


class MoE(nn.Module):
    """Top-k routed mixture of 2-layer FFN experts mapping ``dim → dim``.

    Args:
        dim: input and output width (the actor's ``hidden_dim``; 1024 in the paper).
        num_experts: experts E (16).
        top_k: experts mixed per input (4); weights renormalised over the selected ones.
        expert_hidden_dim: inner width of each expert (256).
        gate_hidden_dim: inner width of the gate MLP (256).
        dropout: dropout in the gate MLP (0.1).
        dispatch: ``sparse`` (only the selected experts run) or ``dense`` (all experts, as released).

    ``forward(x)`` returns ``(y, aux_loss)``; after each call :attr:`last_usage` holds the fraction of inputs
    routed to each expert (top-k counts / B, detached) and :attr:`last_weights` the dense ``(B, E)`` routing
    weights (exactly ``top_k`` non-zeros per row, summing to 1).
    """

    def __init__(
        self,
        dim: int,
        num_experts: int = 16,
        top_k: int = 4,
        expert_hidden_dim: int = 256,
        gate_hidden_dim: int = 256,
        dropout: float = 0.1,
        dispatch: str = "sparse",
    ) -> None:
        super().__init__()
        if dispatch not in ("sparse", "dense"):
            raise ValueError(f"MoE dispatch must be 'sparse' or 'dense', got {dispatch!r}")
        self.dispatch = dispatch
        if not 1 <= top_k <= num_experts:
            raise ValueError(
                f"MoE needs 1 <= top_k <= num_experts, got top_k={top_k}, num_experts={num_experts}"
            )
        self.num_experts, self.top_k = num_experts, top_k
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, expert_hidden_dim), nn.ReLU(), nn.Linear(expert_hidden_dim, dim))
            for _ in range(num_experts)
        )
        self.gate = nn.Sequential(
            nn.Linear(dim, gate_hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(gate_hidden_dim, num_experts),
        )
        self.last_usage = torch.zeros(num_experts)
        self.last_weights = torch.zeros(0, num_experts)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs = F.softmax(self.gate(x), dim=-1)  # (B, E)
        top_p, top_i = probs.topk(self.top_k, dim=-1)
        top_w = top_p / (top_p.sum(-1, keepdim=True) + 1e-9)  # renormalised (official: + 1e-9)
        weights = torch.zeros_like(probs).scatter(-1, top_i, top_w)  # dense, k non-zeros per row
        if self.dispatch == "dense":
            outputs = torch.stack([expert(x) for expert in self.experts], dim=1)  # (B, E, dim)
            y = (weights.unsqueeze(-1) * outputs).sum(1)
        else:
            y = self._sparse(x, top_i, top_w)
        load = self.top_k * weights.mean(0)  # differentiable load (see module docstring)
        balance = load.var(unbiased=False)
        entropy = -(probs * torch.log(probs + 1e-9)).sum(-1).mean()
        self.last_usage = F.one_hot(top_i, self.num_experts).sum(1).float().mean(0).detach()
        self.last_weights = weights.detach()
        return y, balance + entropy

    def _sparse(self, x: torch.Tensor, top_i: torch.Tensor, top_w: torch.Tensor) -> torch.Tensor:
        """Σ_j w_{b,j}·FFN_{i_{b,j}}(x_b), each expert run once on the rows routed to it."""
        flat = top_i.reshape(-1)  # (B·k,), row b's j-th choice at b·k + j
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=self.num_experts).tolist()  # one host sync per forward
        rows = torch.div(order, self.top_k, rounding_mode="floor")
        routed = x.index_select(0, rows).split(counts)
        out = torch.cat([_quiet(expert, part) for expert, part in zip(self.experts, routed, strict=True)])
        out = out * top_w.reshape(-1).index_select(0, order).unsqueeze(-1)
        if any(m._forward_hooks for m in self.experts.modules()):  # observers see the dense forward
            with torch.no_grad():
                for expert in self.experts:
                    expert(x)
        return torch.zeros_like(x).index_add_(0, rows, out)


def _quiet(expert: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``expert(x)`` without firing forward hooks (Linear layers applied functionally)."""
    for layer in expert:
        x = F.linear(x, layer.weight, layer.bias) if isinstance(layer, nn.Linear) else layer(x)
    return x


class MoEActor(Actor):
    """DrQ-v2 actor whose middle layer is a :class:`MoE`; keeps the last forward's aux loss in
    :attr:`aux_loss`."""

    def __init__(
        self, repr_dim: int, action_dim: int, feature_dim: int, hidden_dim: int, moe: MoE, state_dim: int = 0
    ) -> None:
        # Actor.__init__ applies orthogonal init to every Linear, experts and gate included (as the official
        # Actor's ``self.apply(utils.weight_init)`` does after the MoE's own Xavier init).
        super().__init__(repr_dim, action_dim, feature_dim, hidden_dim, hidden=moe, state_dim=state_dim)
        self.aux_loss = torch.zeros(())

    def policy_mean(self, h: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.policy_in(h))
        x, self.aux_loss = self.hidden(x)
        return torch.tanh(self.policy_out(F.relu(x)))
