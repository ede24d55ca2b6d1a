"""DAG sampler validity and the Bayesian-network joint policy (policies/dag.py, policies/bayes_net.py)."""

from __future__ import annotations

import itertools

import pytest
import torch

from policies.bayes_net import BayesNetJointPolicy, BayesNetPolicy, parse_graph
from policies.dag import DAGGenerator, fixed_dag, is_acyclic, open_ratio


def _check_consistent(adj: torch.Tensor, order: torch.Tensor) -> None:
    for a, o in zip(adj, order, strict=True):
        assert is_acyclic(a)
        assert sorted(o.tolist()) == list(range(len(o)))
        pos = torch.empty_like(o)
        pos[o] = torch.arange(len(o))
        for j, i in (a > 0.5).nonzero().tolist():
            assert pos[j] < pos[i], "edge j→i must point forward in the topological order"


def test_samples_are_dags_with_consistent_order() -> None:
    torch.manual_seed(0)
    gen = DAGGenerator(context_dim=6, n_agents=5)
    ctx = torch.randn(300, 6)
    with torch.no_grad():
        sample = gen.sample(ctx)
    assert set(sample.adj.unique().tolist()) <= {0.0, 1.0}
    assert sample.adj.diagonal(dim1=-2, dim2=-1).abs().sum() == 0
    _check_consistent(sample.adj, sample.order)
    assert len({tuple(o.tolist()) for o in sample.order}) > 10  # orderings vary with the noise/context
    for mode in ("empty", "full", "random"):
        fixed = fixed_dag(mode, 50, 5, p=0.4)
        _check_consistent(fixed.adj, fixed.order)
    assert open_ratio(fixed_dag("full", 3, 5).adj) == 1.0 and open_ratio(fixed_dag("empty", 3, 5).adj) == 0.0


def test_edge_prior_sets_the_initial_open_ratio_and_keeps_the_context_path() -> None:
    torch.manual_seed(3)
    ctx = torch.randn(4000, 6)
    with torch.no_grad():
        official = open_ratio(DAGGenerator(6, 4).sample(ctx).adj).item()
        dense = DAGGenerator(6, 4, edge_prior=0.95)
        assert abs(open_ratio(dense.sample(ctx).adj).item() - 0.95) < 0.02
    assert 0.3 < official < 0.7  # PyTorch's init: each edge ≈ ½
    _, edge_logits = dense.logits(ctx[:8])
    edge_logits[..., 0].sum().backward()
    assert dense.edge_net[0].weight.grad.abs().sum() > 0  # still context-conditioned and trainable
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="edge_prior"):
            DAGGenerator(6, 4, edge_prior=bad)


def test_deterministic_mode_is_repeatable_and_context_dependent() -> None:
    torch.manual_seed(1)
    gen = DAGGenerator(context_dim=3, n_agents=4)
    with torch.no_grad():
        for p in gen.parameters():
            p.mul_(5.0)  # sharper logits so different contexts give different DAGs
        ctx = torch.randn(64, 3)
        first, second = gen.sample(ctx, deterministic=True), gen.sample(ctx, deterministic=True)
    assert torch.equal(first.adj, second.adj) and torch.equal(first.order, second.order)
    assert len({tuple(a.flatten().tolist()) for a in first.adj}) > 1


def test_gradients_reach_the_generator_and_relax_reproduces_the_sample() -> None:
    torch.manual_seed(2)
    gen = DAGGenerator(context_dim=4, n_agents=4)
    ctx = torch.randn(32, 4)
    with torch.no_grad():
        stored = gen.sample(ctx).detached()
    relaxed = gen.relax(ctx, stored)
    assert torch.equal(relaxed.adj.detach(), stored.adj)  # exact forward value of the stored DAG
    weights = torch.randn(4, 4)
    (relaxed.adj * weights).sum().backward()
    for net in (gen.perm_net, gen.edge_net):
        grad = net[0].weight.grad
        assert grad is not None and grad.abs().sum() > 0


def test_bayes_net_sampling_follows_parents() -> None:
    torch.manual_seed(3)
    policy = BayesNetPolicy(n_agents=3, obs_dim=2, n_actions=3)
    with torch.no_grad():
        policy.head_weight.normal_(0, 0.3)
        policy.config_weight.normal_(0, 0.5)
    obs = torch.randn(1, 3, 2).expand(4000, 3, 2)
    dag = fixed_dag("full", 4000, 3)
    actions, log_prob = policy.sample(obs, dag.adj, dag.order)
    lp, _ = policy.evaluate(obs, actions, dag.adj)
    torch.testing.assert_close(lp, log_prob)
    # Agent 1's action distribution changes with agent 0's action (edge 0→1) ...
    freq = [torch.bincount(actions[actions[:, 0] == a0, 1], minlength=3).float() for a0 in range(3)]
    freq = [f / f.sum() for f in freq if f.sum() > 100]
    assert max((f - freq[0]).abs().max() for f in freq) > 0.1
    # ... but not under the empty DAG.
    empty = fixed_dag("empty", 1, 3).adj
    x = torch.randn(1, 3, 2)
    l1 = policy.logits(x, torch.nn.functional.one_hot(torch.tensor([[0, 1, 2]]), 3).float(), empty)
    l2 = policy.logits(x, torch.nn.functional.one_hot(torch.tensor([[2, 0, 1]]), 3).float(), empty)
    torch.testing.assert_close(l1, l2)


@pytest.mark.parametrize("parent_input", ["joint", "trunk"])
def test_child_can_express_xor_of_two_parents(parent_input: str) -> None:
    """State × parents jointly: agent 2 can fit a^2 = a^0 XOR a^1 (an additive parent term cannot)."""
    torch.manual_seed(5)
    policy = BayesNetPolicy(n_agents=3, obs_dim=1, n_actions=2, hidden=16, parent_input=parent_input)
    opt = torch.optim.Adam(policy.parameters(), lr=0.02)
    parents = torch.tensor(list(itertools.product([0, 1], repeat=2)))
    actions = torch.cat([parents, (parents[:, :1] ^ parents[:, 1:])], dim=1)  # (4, 3)
    adj = fixed_dag("full", 4, 3).adj
    obs = torch.zeros(4, 3, 1)
    for _ in range(300):
        loss = -policy.evaluate(obs, actions, adj)[0][:, 2].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert policy.evaluate(obs, actions, adj)[0][:, 2].exp().min() > 0.9


def test_joint_action_probs_sum_to_one_and_graph_parsing() -> None:
    torch.manual_seed(4)
    for graph in ("empty", "full", "random(0.3)", "learned"):
        joint = BayesNetJointPolicy(n_agents=3, obs_dim=3, n_actions=2, context_dim=3, graph=graph)
        probs = joint.joint_action_probs(torch.rand(8, 3, 3), torch.rand(8, 3), n_dag_samples=4)
        assert probs.shape == (8, 8)
        torch.testing.assert_close(probs.sum(-1), torch.ones(8))
    assert parse_graph(None) == ("learned", 0.5)
    assert parse_graph("random(0.25)") == ("random", 0.25)
    with pytest.raises(ValueError, match="graph must be one of"):
        parse_graph("dense")
