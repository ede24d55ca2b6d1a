"""Bayesian-network joint policy π(a|o) = ∏_i π^i(a^i | o^i, a^{Pa_i}) over a DAG of agents.

Chen & Zhang, "Context-Aware Bayesian Network Actor-Critic Methods for Cooperative MARL", ICML 2023
(arXiv 2306.01920), Sec. 3 (BN joint policy) and Sec. 5 (context-aware DAG); official code
github.com/dchen48/BNPG @ b7cf8b2, ``onpolicy/algorithms/utils/act.py``.

Each factor sees its own observation, an agent-id one-hot and the one-hot actions of its DAG parents,
masked by the adjacency column (code ``father_action * masks``). Actions are sampled in the DAG's
topological order, so every parent acts before its children.

**Where the parents enter** (issue 15). The official deep code concatenates the parents' one-hots to the
trunk features right before a linear head initialised with gain 0.01 (``parent_input="head"``, kept as an
ablation). There the parent term is additive and state-independent (it cannot express AND/XOR-type
dependence on two parents, which the tabular θ_i[s, a^{Pa_i}, a^i] can), and under Adam the parent-independent
part of the logits moves ~64× faster (64 trunk features vs one one-hot weight per parent action): measured
on climbing with the full DAG, π¹(·|a⁰) stayed the same for every a⁰ while the policy collapsed. The default
``parent_input="joint"`` (a) feeds the masked parent one-hots into the *trunk input* next to the
observation, so the conditional is a joint function of state × parents, and (b) gives every configuration c
of agent i's parents' actions its own head W_{i,c}[h, 1], added to the shared head: the deep analogue of the
tabular θ_i[s, c, ·], with as many parameters per configuration as the parent-free head, so under Adam the
parent-dependent part moves at the same rate as the rest. Zero init, so the initial policy ignores parents.
(a) alone (``"trunk"``) measured no better than the official input on climbing and coordination-3: the
shared layers carry what is learned for one parent configuration over to the others.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.distributions import Categorical

from policies.dag import GRAPH_MODES, DAGGenerator, DAGSample, fixed_dag

PARENT_INPUTS = ("joint", "trunk", "head")


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
        parent_input: ``"joint"`` (default: parents' one-hots are trunk inputs *and* every parent
        configuration
            has its own head copy), ``"trunk"`` (trunk inputs only) or ``"head"`` (the official code's
            additive
            head input; an ablation, see the module docstring).
        max_configs: cap on the number of per-configuration heads of ``"joint"``.
    """

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        n_actions: int,
        hidden: int = 64,
        parent_input: str = "joint",
        max_configs: int = 1024,
    ) -> None:
        super().__init__()
        if parent_input not in PARENT_INPUTS:
            raise ValueError(f"parent_input must be one of {PARENT_INPUTS}, got {parent_input!r}")
        self.n, self.n_actions, self.parent_input = n_agents, n_actions, parent_input
        parents_dim = n_agents * n_actions
        trunk_in = obs_dim + n_agents + (0 if parent_input == "head" else parents_dim)
        self.trunk = nn.Sequential(
            nn.Linear(trunk_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        in_head = hidden + (parents_dim if parent_input == "head" else 0)
        if parent_input == "joint":
            # One head per configuration of the parents' actions, W_{i,c} h + b_{i,c} added to the shared head
            # (the tabular θ_i[s, c, ·] of the paper, with h for s): every configuration has as many
            # parameters
            # as the parent-free head, so under Adam it moves at the same rate. Zero init. Slots per agent j:
            # 0 = not a parent, 1 + a^j = parent playing a^j; configurations beyond ``max_configs`` share
            # heads
            # (index modulo ``max_configs``; only large teams such as Aloha's 10 agents reach it).
            self.n_configs = min((n_actions + 1) ** n_agents, max_configs)
            self.config_weight = nn.Parameter(torch.zeros(n_agents, self.n_configs, hidden + 1, n_actions))
            self.register_buffer("slot_base", (n_actions + 1) ** torch.arange(n_agents))
        # Agent-specific heads as one batched weight (n, in, |A|); orthogonal init, gain 0.01 (MAPPO).
        weight = torch.empty(n_agents, in_head, n_actions)
        for i in range(n_agents):
            nn.init.orthogonal_(weight[i].T, gain=0.01)
        self.head_weight = nn.Parameter(weight)
        self.head_bias = nn.Parameter(torch.zeros(n_agents, n_actions))
        self.register_buffer("agent_ids", torch.eye(n_agents))

    def parent_inputs(self, onehot: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """(B, n, |A|) one-hot actions and (B, n, n) adjacency → (B, n, n·|A|): row i holds
        onehot(a^j)·adj[j, i]."""
        masked = adj.transpose(1, 2).unsqueeze(-1) * onehot.unsqueeze(1)  # (B, i, j, |A|)
        return masked.flatten(2)

    def logits(self, obs: torch.Tensor, onehot: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """(B, n, |A|) logits of every factor given obs (B, n, d) and the (partial) joint action
        ``onehot``."""
        ids = self.agent_ids.expand(obs.shape[0], -1, -1)
        parents = self.parent_inputs(onehot, adj)
        if self.parent_input == "head":
            x = torch.cat([self.trunk(torch.cat([obs, ids], dim=-1)), parents], dim=-1)
        else:
            x = self.trunk(torch.cat([obs, ids, parents], dim=-1))
        out = torch.einsum("bni,nia->bna", x, self.head_weight) + self.head_bias
        if self.parent_input == "joint":
            out = out + self._config_logits(x, onehot, adj)
        return out

    def _config_logits(self, x: torch.Tensor, onehot: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """(B, n, |A|): W_{i,c} [h, 1] of each agent's parent configuration c (straight-through in
        ``adj``)."""
        codes = 1.0 + (onehot * torch.arange(self.n_actions, device=onehot.device)).sum(-1)  # (B, j): 1 + a^j
        slots = adj.transpose(1, 2) * codes.unsqueeze(1)  # (B, i, j): 0 if j is not a parent of i
        config = (slots.detach().round().long() * self.slot_base).sum(-1) % self.n_configs  # (B, i)
        weight = self.config_weight[torch.arange(self.n, device=x.device), config]  # (B, n, hidden + 1, |A|)
        x1 = torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)
        return torch.einsum("bnk,bnka->bna", x1, weight)

    @torch.no_grad()
    def sample(
        self, obs: torch.Tensor, adj: torch.Tensor, order: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample a^i agent by agent in ``order`` (B, n); returns actions (B, n) and factor log-probs (B, n).

        At position k only agents placed before k have actions, and only they can be parents (``adj`` is
        consistent with ``order``), so the factor of ``order[:, k]`` is fully determined.
        """
        b = obs.shape[0]
        onehot = obs.new_zeros(b, self.n, self.n_actions)
        actions = torch.zeros(b, self.n, dtype=torch.long, device=obs.device)
        log_prob = obs.new_zeros(b, self.n)
        rows = torch.arange(b, device=obs.device)
        for k in range(self.n):
            agent = order[:, k]
            logits = self.logits(obs, onehot, adj)[rows, agent]  # (B, |A|)
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
        dist = Categorical(logits=self.logits(obs, onehot, adj))
        return dist.log_prob(actions), dist.entropy()

    @torch.no_grad()
    def conditional(self, obs: torch.Tensor, agent: int, parent_actions: dict[int, int]) -> torch.Tensor:
        """π^agent(· | obs, a^{Pa} = parent_actions) (|A|,) for one observation (n, d); parents = dict
        keys."""
        adj = obs.new_zeros(1, self.n, self.n)
        onehot = obs.new_zeros(1, self.n, self.n_actions)
        for j, a in parent_actions.items():
            adj[0, j, agent] = 1.0
            onehot[0, j, a] = 1.0
        return torch.softmax(self.logits(obs[None], onehot, adj)[0, agent], -1)


class BayesNetJointPolicy(nn.Module):
    """DAG source + :class:`BayesNetPolicy`: the full joint policy of BN-MAPPO.

    Args:
        n_agents, obs_dim, n_actions, hidden, parent_input: as in :class:`BayesNetPolicy`.
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
        parent_input: str = "joint",
    ) -> None:
        super().__init__()
        self.graph, self.graph_p = parse_graph(graph, graph_p)
        self.n = n_agents
        self.actor = BayesNetPolicy(n_agents, obs_dim, n_actions, hidden, parent_input)
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
