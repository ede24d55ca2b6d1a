"""Bayesian-network joint policy π(a|o) = ∏_i π^i(a^i | o^i, a^{Pa_i}) over a DAG of agents (papers/bn_marl.md, Sec. 3).

Each agent's factor sees its own observation (through a shared trunk with an agent-id one-hot) and the
one-hot actions of its DAG parents, masked by the adjacency column (code ``act.py``: ``father_action *
masks``); heads are agent-specific (code ``action_out_list[i]``). Actions are sampled in the DAG's
topological order, so every parent acts before its children. The DAG comes from a fixed graph
(``empty``/``full``/``random(p)``) or the learned, context-conditioned :class:`policies.dag.DAGGenerator`.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.distributions import Categorical

from policies.dag import GRAPH_MODES, DAGGenerator, DAGSample, fixed_dag


def parse_graph(graph: str | None, p: float = 0.5) -> tuple[str, float]:
    """``"empty" | "full" | "learned" | "random" | "random(0.3)" | None`` → (mode, edge probability)."""
    if graph is None:
        return "learned", p
    match = re.fullmatch(r"random\(([0-9.]+)\)", graph.strip())
    if match:
        return "random", float(match.group(1))
    if graph not in GRAPH_MODES:
        raise ValueError(f"graph must be one of {GRAPH_MODES} or 'random(p)', got {graph!r}")
    return graph, p


class BayesNetPolicy(nn.Module):
    """The per-agent factors π^i(a^i | o^i, onehot(a^{Pa_i})).

    Args:
        n_agents: number of agents n.
        obs_dim: per-agent observation size.
        n_actions: per-agent number of discrete actions |A|.
        hidden: trunk width (64).
    """

    def __init__(self, n_agents: int, obs_dim: int, n_actions: int, hidden: int = 64) -> None:
        super().__init__()
        self.n, self.n_actions = n_agents, n_actions
        self.trunk = nn.Sequential(
            nn.Linear(obs_dim + n_agents, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        in_head = hidden + n_agents * n_actions
        # Agent-specific heads as one batched weight (n, in, |A|); orthogonal init, gain 0.01 (MAPPO).
        weight = torch.empty(n_agents, in_head, n_actions)
        for i in range(n_agents):
            nn.init.orthogonal_(weight[i].T, gain=0.01)
        self.head_weight = nn.Parameter(weight)
        self.head_bias = nn.Parameter(torch.zeros(n_agents, n_actions))
        self.register_buffer("agent_ids", torch.eye(n_agents))

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, n, obs_dim) → (B, n, hidden) trunk features."""
        ids = self.agent_ids.expand(obs.shape[0], -1, -1)
        return self.trunk(torch.cat([obs, ids], dim=-1))

    def parent_inputs(self, onehot: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """(B, n, |A|) one-hot actions and (B, n, n) adjacency → (B, n, n·|A|): row i holds onehot(a^j)·adj[j, i]."""
        masked = adj.transpose(1, 2).unsqueeze(-1) * onehot.unsqueeze(1)  # (B, i, j, |A|)
        return masked.flatten(2)

    def logits(self, feats: torch.Tensor, onehot: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """(B, n, |A|) logits of every factor given the (possibly partial) joint action ``onehot``."""
        x = torch.cat([feats, self.parent_inputs(onehot, adj)], dim=-1)
        return torch.einsum("bni,nia->bna", x, self.head_weight) + self.head_bias

    @torch.no_grad()
    def sample(
        self, obs: torch.Tensor, adj: torch.Tensor, order: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample a^i agent by agent in ``order`` (B, n); returns actions (B, n) and factor log-probs (B, n).

        At position k only agents placed before k have actions, and only they can be parents (``adj`` is
        consistent with ``order``), so the factor of ``order[:, k]`` is fully determined.
        """
        b = obs.shape[0]
        feats = self.features(obs)
        onehot = obs.new_zeros(b, self.n, self.n_actions)
        actions = torch.zeros(b, self.n, dtype=torch.long, device=obs.device)
        log_prob = obs.new_zeros(b, self.n)
        rows = torch.arange(b, device=obs.device)
        for k in range(self.n):
            agent = order[:, k]
            logits = self.logits(feats, onehot, adj)[rows, agent]  # (B, |A|)
            dist = Categorical(logits=logits)
            a = logits.argmax(-1) if deterministic else dist.sample()
            actions[rows, agent] = a
            log_prob[rows, agent] = dist.log_prob(a)
            onehot[rows, agent] = nn.functional.one_hot(a, self.n_actions).to(onehot.dtype)
        return actions, log_prob

    def evaluate(
        self, obs: torch.Tensor, actions: torch.Tensor, adj: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Factor log-probs and entropies (B, n) of given joint ``actions`` (B, n) under DAG ``adj``.

        Gradients flow to the factors and, through a straight-through ``adj``, to the DAG generator; the
        parents' actions themselves are data (code: parent actions detached).
        """
        onehot = nn.functional.one_hot(actions, self.n_actions).to(obs.dtype)
        dist = Categorical(logits=self.logits(self.features(obs), onehot, adj))
        return dist.log_prob(actions), dist.entropy()


class BayesNetJointPolicy(nn.Module):
    """DAG source + :class:`BayesNetPolicy`: the full joint policy of BN-MAPPO.

    Args:
        n_agents, obs_dim, n_actions, hidden: as in :class:`BayesNetPolicy`.
        context_dim: size of the DAG generator's context (only for ``graph="learned"``).
        graph: ``empty``, ``full``, ``random`` / ``random(p)`` or ``learned`` (None → learned).
        graph_p: edge probability of ``random`` graphs.
        dag_kwargs: forwarded to :class:`DAGGenerator` (temperature, noise_factor, sinkhorn_iters, hidden).
    """

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        n_actions: int,
        context_dim: int,
        graph: str | None = "learned",
        graph_p: float = 0.5,
        hidden: int = 64,
        dag_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.graph, self.graph_p = parse_graph(graph, graph_p)
        self.n = n_agents
        self.actor = BayesNetPolicy(n_agents, obs_dim, n_actions, hidden)
        self.dag = (
            DAGGenerator(context_dim, n_agents, **(dag_kwargs or {})) if self.graph == "learned" else None
        )

    def sample_dag(self, context: torch.Tensor, deterministic: bool = False) -> DAGSample:
        """One DAG per context row (fixed graphs ignore the context; ``random`` stays random)."""
        if self.dag is not None:
            return self.dag.sample(context, deterministic)
        return fixed_dag(self.graph, context.shape[0], self.n, self.graph_p, context.device)

    def relax(self, context: torch.Tensor, dag: DAGSample) -> DAGSample:
        """The stored DAG, with a gradient path to the generator when the graph is learned."""
        return self.dag.relax(context, dag) if self.dag is not None else dag

    @torch.no_grad()
    def act(
        self,
        obs: torch.Tensor,
        context: torch.Tensor,
        deterministic: bool = False,
        decentralized: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, DAGSample]:
        """Sample a DAG, then the joint action in its topological order.

        ``decentralized`` drops every edge (each agent acts on its own observation only).
        """
        dag = self.sample_dag(context, deterministic).detached()
        if decentralized:
            dag = fixed_dag("empty", obs.shape[0], self.n, device=obs.device)
        actions, log_prob = self.actor.sample(obs, dag.adj, dag.order, deterministic)
        return actions, log_prob, dag

    def evaluate(
        self, obs: torch.Tensor, context: torch.Tensor, actions: torch.Tensor, dag: DAGSample
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Factor log-probs, entropies (B, n) and the straight-through adjacency of the stored DAG."""
        adj = self.relax(context, dag).adj
        log_prob, entropy = self.actor.evaluate(obs, actions, adj)
        return log_prob, entropy, adj

    @torch.no_grad()
    def joint_action_probs(
        self,
        obs: torch.Tensor,
        context: torch.Tensor,
        n_dag_samples: int = 32,
        decentralized: bool = False,
        sample_dags: bool = False,
    ) -> torch.Tensor:
        """π(a | s) for every joint action by enumeration: obs (S, n, d), context (S, c) → (S, |A|^n).

        Joint actions are indexed with agent 0 as the most significant digit. The learned DAG is taken in
        its deterministic mode (code ``get_baysian_probs``: ``test=True``) unless ``sample_dags``, which
        averages over ``n_dag_samples`` sampled DAGs (the mixture E_G[∏ π^i] actually executed in training);
        ``random`` graphs are always averaged; ``decentralized`` uses the empty DAG.
        """
        s, n, m = obs.shape[0], self.n, self.actor.n_actions
        joint = (
            torch.cartesian_prod(*[torch.arange(m)] * n).view(-1, n) if n > 1 else torch.arange(m).view(-1, 1)
        )
        a = joint.shape[0]
        obs_rep = obs.repeat_interleave(a, 0)
        act_rep = joint.repeat(s, 1).to(obs.device)
        stochastic = (sample_dags or self.graph == "random") and not decentralized
        draws = n_dag_samples if stochastic else 1
        probs = obs.new_zeros(s, a)
        for _ in range(draws):
            if decentralized:
                adj = fixed_dag("empty", s, n, device=obs.device).adj
            else:
                adj = self.sample_dag(context, deterministic=not stochastic).adj
            log_prob, _ = self.actor.evaluate(obs_rep, act_rep, adj.repeat_interleave(a, 0))
            probs += log_prob.sum(-1).exp().view(s, a)
        return probs / draws
