"""MENTOR's mixture-of-experts actor trunk: shapes, top-k routing sparsity, aux-loss gradients, usage stats."""

from __future__ import annotations

import torch

from policies.moe import MoE, MoEActor


def test_forward_backward_shapes_paper_sizes() -> None:
    torch.manual_seed(0)
    moe = MoE(1024)  # paper defaults: 16 experts 1024→256→1024, top-4, gate 256
    assert len(moe.experts) == 16 and moe.experts[0][0].weight.shape == (256, 1024)
    x = torch.randn(5, 1024, requires_grad=True)
    y, aux = moe(x)
    assert y.shape == (5, 1024) and aux.shape == ()
    (y.sum() + aux).backward()
    assert x.grad is not None and x.grad.shape == (5, 1024)


def test_routing_exactly_top_k_weights_summing_to_one() -> None:
    torch.manual_seed(1)
    moe = MoE(12, num_experts=6, top_k=3, expert_hidden_dim=4, gate_hidden_dim=8)
    y, _ = moe(torch.randn(40, 12))
    weights = moe.last_weights
    assert ((weights > 0).sum(-1) == 3).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(40))
    usage = moe.last_usage  # fraction of inputs routed to each expert; sums to top_k
    assert usage.shape == (6,) and abs(float(usage.sum()) - 3.0) < 1e-5
    # the output is exactly the weighted sum of the selected experts' outputs
    moe.eval()
    x = torch.randn(3, 12)
    y, _ = moe(x)
    manual = sum(moe.last_weights[:, e : e + 1] * moe.experts[e](x) for e in range(6))
    torch.testing.assert_close(y, manual)


def test_aux_loss_gradient_reaches_gate_both_terms() -> None:
    torch.manual_seed(2)
    moe = MoE(8, num_experts=4, top_k=2, expert_hidden_dim=4, gate_hidden_dim=8, dropout=0.0)
    _, aux = moe(torch.randn(16, 8))
    aux.backward()
    gate_grad = sum(p.grad.abs().sum() for p in moe.gate.parameters())
    assert gate_grad > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in moe.experts.parameters())
    # the balance term alone (load variance measured by the routing weights) also has a gate gradient
    moe.zero_grad()
    probs = torch.softmax(moe.gate(torch.randn(16, 8)), -1)
    top_p, top_i = probs.topk(2, -1)
    w = torch.zeros_like(probs).scatter(-1, top_i, top_p / top_p.sum(-1, keepdim=True))
    (2 * w.mean(0)).var(unbiased=False).backward()
    assert moe.gate[-1].weight.grad.abs().sum() > 0


def test_moe_actor_exposes_aux_loss() -> None:
    torch.manual_seed(3)
    actor = MoEActor(10, 2, 6, 16, MoE(16, num_experts=4, top_k=2, expert_hidden_dim=4, gate_hidden_dim=4))
    dist = actor(torch.randn(7, 10), 0.2)
    assert dist.mean.shape == (7, 2) and actor.aux_loss.requires_grad
    (dist.mean.sum() + actor.aux_loss).backward()
    assert actor.hidden.gate[0].weight.grad is not None
