"""MENTOR's mixture-of-experts actor trunk: shapes, top-k routing sparsity, aux-loss gradients, usage
stats."""

from __future__ import annotations

import pytest
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


def test_sparse_dispatch_equals_dense_at_paper_sizes_fp32() -> None:
    """Issue 16: only the selected experts run, yet output, aux loss and every gradient match the dense
    path."""
    torch.manual_seed(4)
    moe = MoE(1024)  # 16 experts 1024→256→1024, top-4, gate 256
    x = torch.randn(256, 1024)
    results = {}
    for dispatch in ("dense", "sparse"):
        moe.dispatch = dispatch
        moe.zero_grad()
        xi = x.clone().requires_grad_(True)
        torch.manual_seed(5)  # same gate-dropout mask
        y, aux = moe(xi)
        (y.square().mean() + aux).backward()
        grads = {n: p.grad.clone() for n, p in moe.named_parameters()}
        results[dispatch] = (y.detach(), aux.detach(), xi.grad, grads, moe.last_usage.clone())
    dense, sparse = results["dense"], results["sparse"]
    torch.testing.assert_close(sparse[0], dense[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sparse[1], dense[1])
    torch.testing.assert_close(sparse[2], dense[2], rtol=1e-5, atol=1e-7)
    for name, grad in dense[3].items():
        torch.testing.assert_close(sparse[3][name], grad, rtol=1e-4, atol=1e-8, msg=name)
    torch.testing.assert_close(sparse[4], dense[4])


def test_sparse_dispatch_shows_hooks_the_dense_forward() -> None:
    """The dormant meter sees every expert on the whole batch (the released statistic), not just routed
    rows."""
    from agents.visual.perturb import DormantMeter

    torch.manual_seed(6)
    moe = MoE(8, num_experts=4, top_k=1, expert_hidden_dim=4, gate_hidden_dim=4, dropout=0.0)
    with torch.no_grad():  # the gate always picks expert 2
        moe.gate[-1].weight.zero_()
        moe.gate[-1].bias.copy_(torch.tensor([0.0, 0.0, 9.0, 0.0]))
    x = torch.randn(10, 8)
    ratios, rows = {}, {}
    for dispatch in ("dense", "sparse"):
        moe.dispatch = dispatch
        seen = []
        handles = [
            e[0].register_forward_hook(lambda m, i, o, s=seen: s.append(o.shape[0])) for e in moe.experts
        ]
        with DormantMeter(moe) as meter:
            y, _ = moe(x)
        for h in handles:
            h.remove()
        ratios[dispatch], rows[dispatch] = meter.ratio, seen
    assert rows["sparse"] == rows["dense"] == [10, 10, 10, 10]  # every expert, whole batch, once
    assert ratios["sparse"] == ratios["dense"]
    moe.dispatch = "sparse"
    torch.testing.assert_close(moe(x)[0], y)  # no hooks: sparse compute only, same output
    with pytest.raises(ValueError, match="sparse"):
        MoE(8, dispatch="magic")
