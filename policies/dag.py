"""Differentiable, context-conditioned DAG sampling over agents (DP-DAG; Chen & Zhang, ICML 2023, Sec. 5).

DP-DAG (Charpentier, Kibler & Günnemann, ICLR 2022) samples a DAG in two steps, so every sample is acyclic
by construction:

1. an agent ordering: a permutation matrix P from Gumbel-Sinkhorn (log_alpha = logsigmoid(logits), Gumbel
   noise × ``noise_factor``, temperature τ, ``sinkhorn_iters`` log-space normalisations), made hard with
   Hungarian matching and a straight-through estimator P_hard − P_soft.detach() + P_soft;
2. edges consistent with it: hard Gumbel-Softmax over two classes per ordered pair ("present" = class 0),
   straight-through, and A = U ⊙ (Pᵀ M P) with M the strict upper-triangular ones matrix.

BNPG conditions both logit sets on a context (global state or concatenated observations) per sample. We
keep the edge net per-sample too (the coordination-game code averages its DeepSet over the *batch*, a quirk
we do not copy). Convention: ``P[i, a] = 1`` means agent ``a`` sits at position ``i`` of the order, so
``(Pᵀ M P)[a, b] = 1`` iff ``a`` comes before ``b``, ``adj[j, i] = 1`` means j is a parent of i, and
``order`` lists agents by position (a topological order of ``adj``).

:meth:`DAGGenerator.relax` recomputes the straight-through relaxation of a *stored* sample from its saved
Gumbel noise: its value is exactly the stored hard DAG and its gradient reaches the generator. BN-MAPPO uses
it to evaluate the PPO ratio on the rollout's DAG (the official code re-samples a second DAG instead).

``edge_prior`` sets the initial probability of every edge (BN-MAPPO starts at 0.99, issue 15; ``None``
keeps PyTorch's initialisation, ≈ ½ per edge, as the official code).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

GRAPH_MODES = ("empty", "full", "random", "learned")


@dataclass
class DAGSample:
    """A batch of B hard DAGs over n agents plus what is needed to re-relax them.

    Attributes:
        adj: (B, n, n) adjacency, ``adj[b, j, i] = 1`` iff j → i; straight-through (carries gradient) when it
            comes from :meth:`DAGGenerator.sample` / :meth:`DAGGenerator.relax` in stochastic mode.
        order: (B, n) long, agents listed by position (topological order).
        perm: (B, n, n) hard permutation matrix (``perm[b, i, a] = 1``: agent a at position i).
        edges: (B, n, n) hard edge indicators U before masking.
        perm_noise: (B, n, n) Gumbel noise used for the ordering (zeros for fixed graphs / deterministic).
        edge_noise: (B, n, n, 2) Gumbel noise used for the edges.
    """

    adj: torch.Tensor
    order: torch.Tensor
    perm: torch.Tensor
    edges: torch.Tensor
    perm_noise: torch.Tensor
    edge_noise: torch.Tensor

    def detached(self) -> DAGSample:
        return DAGSample(**{f.name: getattr(self, f.name).detach() for f in fields(self)})

    def index(self, idx: torch.Tensor | slice) -> DAGSample:
        return DAGSample(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def open_ratio(adj: torch.Tensor) -> torch.Tensor:
    """Fraction of the n(n−1)/2 possible edges present, averaged over the batch (BNPG SMAC `r_mappo.py`).

    Differentiable through straight-through adjacencies.
    """
    n = adj.shape[-1]
    if n < 2:
        return adj.new_zeros(())
    return adj.sum(dim=(-2, -1)).mean() / (n * (n - 1) / 2)


def strict_upper(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """M = triu(ones(n, n), 1): the full DAG 0 → 1 → … → n−1 with every forward edge."""
    return torch.triu(torch.ones(n, n, device=device), diagonal=1)


def gumbel(shape: tuple[int, ...], device: torch.device | str | None = None) -> torch.Tensor:
    """Standard Gumbel noise −log(−log U) from the global torch RNG (seeded by the runtime)."""
    u = torch.rand(shape, device=device)
    return -torch.log((-torch.log(u.clamp_min(1e-20))).clamp_min(1e-20))


def sinkhorn(log_alpha: torch.Tensor, n_iters: int) -> torch.Tensor:
    """Doubly-stochastic matrix exp(S^K(log_alpha)) by alternating log-space row/column normalisation."""
    for _ in range(n_iters):
        log_alpha = log_alpha - torch.logsumexp(log_alpha, dim=-1, keepdim=True)
        log_alpha = log_alpha - torch.logsumexp(log_alpha, dim=-2, keepdim=True)
    return log_alpha.exp()


def hungarian(soft_perm: torch.Tensor) -> torch.Tensor:
    """Hard permutation maximising Σ P_soft[i, σ(i)] per sample (``scipy.optimize.linear_sum_assignment``)."""
    batch = soft_perm.detach().cpu().numpy()
    hard = np.zeros_like(batch)
    for b, mat in enumerate(batch):
        rows, cols = linear_sum_assignment(-mat)
        hard[b, rows, cols] = 1.0
    return torch.as_tensor(hard, dtype=soft_perm.dtype, device=soft_perm.device)


def order_from_perm(perm: torch.Tensor) -> torch.Tensor:
    """Agents listed by position: ``order[b, i] = argmax_a perm[b, i, a]``."""
    return perm.argmax(dim=-1)


def fixed_dag(
    mode: str, batch: int, n: int, p: float = 0.5, device: torch.device | str | None = None
) -> DAGSample:
    """Non-learned graphs of the official ``DummyDAG`` (order 0 → … → n−1; official ``DummyDAG``, BNPG @
    b7cf8b2).

    ``empty``: no edges (independent policies, plain MAPPO); ``full``: every forward edge; ``random``:
    each forward edge present independently with probability ``p`` (fresh per sample).
    """
    mask = strict_upper(n, device).expand(batch, n, n)
    if mode == "empty":
        edges = torch.zeros(batch, n, n, device=device)
    elif mode == "full":
        edges = torch.ones(batch, n, n, device=device)
    elif mode == "random":
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"random graph edge probability must be in [0, 1], got {p}")
        edges = (torch.rand(batch, n, n, device=device) < p).float()
    else:
        raise ValueError(f"fixed graph mode must be 'empty', 'full' or 'random', got {mode!r}")
    perm = torch.eye(n, device=device).expand(batch, n, n).clone()
    return DAGSample(
        adj=edges * mask,
        order=torch.arange(n, device=device).expand(batch, n).clone(),
        perm=perm,
        edges=edges,
        perm_noise=torch.zeros(batch, n, n, device=device),
        edge_noise=torch.zeros(batch, n, n, 2, device=device),
    )


class DAGGenerator(nn.Module):
    """q_φ(G | context): context-conditioned DP-DAG sampler (Chen & Zhang, ICML 2023, Sec. 5; official
    ``probabilistic_dag.py``).

    Permutation net ``Linear(context, hidden)-ReLU-Linear(hidden, n²)`` (code ``Sinkhorn_Net``) and edge net
    ``Linear(context, hidden)-ReLU-Linear(hidden, 2n²)`` (code, Aloha/SMAC versions), both per sample.

    Args:
        context_dim: size of the context vector (global state or concatenated observations).
        n_agents: number of nodes.
        hidden: hidden width (64 in the paper).
        temperature: τ of Gumbel-Sinkhorn and Gumbel-Softmax (1.0).
        noise_factor: scale of the Gumbel noise on the ordering (1.0).
        sinkhorn_iters: log-space Sinkhorn iterations (20).
        edge_prior: initial probability that an edge is present (``None``: PyTorch's default init, ≈ ½).
    """

    def __init__(
        self,
        context_dim: int,
        n_agents: int,
        hidden: int = 64,
        temperature: float = 1.0,
        noise_factor: float = 1.0,
        sinkhorn_iters: int = 20,
        edge_prior: float | None = None,
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.n = n_agents
        self.temperature = temperature
        self.noise_factor = noise_factor
        self.sinkhorn_iters = sinkhorn_iters
        self.perm_net = nn.Sequential(
            nn.Linear(context_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_agents**2)
        )
        self.edge_net = nn.Sequential(
            nn.Linear(context_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * n_agents**2)
        )
        self.register_buffer("mask", strict_upper(n_agents))
        if edge_prior is not None:
            if not 0.0 < edge_prior < 1.0:
                raise ValueError(f"edge_prior must be in (0, 1), got {edge_prior}")
            last = self.edge_net[-1]
            with torch.no_grad():
                last.weight.mul_(0.01)
                bias = last.bias.view(n_agents, n_agents, 2)
                bias.zero_()
                bias[..., 0] = float(np.log(edge_prior / (1.0 - edge_prior)))

    def logits(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, n, n) log_alpha = logsigmoid(permutation logits) and (B, n, n, 2) edge logits."""
        b, n = context.shape[0], self.n
        log_alpha = nn.functional.logsigmoid(self.perm_net(context)).view(b, n, n)
        return log_alpha, self.edge_net(context).view(b, n, n, 2)

    def _soft(self, context: torch.Tensor, perm_noise: torch.Tensor, edge_noise: torch.Tensor):
        log_alpha, edge_logits = self.logits(context)
        soft_perm = sinkhorn(
            (log_alpha + self.noise_factor * perm_noise) / self.temperature, self.sinkhorn_iters
        )
        soft_edges = torch.softmax((edge_logits + edge_noise) / self.temperature, dim=-1)[..., 0]
        return soft_perm, soft_edges

    def _compose(self, perm: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        # A = U ⊙ (Pᵀ M P)  (code `ProbabilisticDAG.sample`; DP-DAG `dag_adj * (P_inv @ mask @ P)`).
        return edges * (perm.transpose(-1, -2) @ self.mask @ perm)

    def sample(self, context: torch.Tensor, deterministic: bool = False) -> DAGSample:
        """Sample one hard DAG per context row; ``deterministic`` drops all noise (code ``test=True``)."""
        b, n = context.shape[0], self.n
        if deterministic:
            perm_noise = context.new_zeros(b, n, n)
            edge_noise = context.new_zeros(b, n, n, 2)
        else:
            perm_noise = gumbel((b, n, n), context.device)
            edge_noise = gumbel((b, n, n, 2), context.device)
        soft_perm, soft_edges = self._soft(context, perm_noise, edge_noise)
        hard_perm = hungarian(soft_perm)
        hard_edges = (soft_edges >= 0.5).to(soft_edges.dtype)  # argmax of the two classes (ties → present)
        sample = DAGSample(
            adj=self._compose(hard_perm, hard_edges),
            order=order_from_perm(hard_perm),
            perm=hard_perm,
            edges=hard_edges,
            perm_noise=perm_noise,
            edge_noise=edge_noise,
        )
        return self.relax(context, sample)

    def relax(self, context: torch.Tensor, sample: DAGSample) -> DAGSample:
        """The stored hard DAG with a straight-through gradient path to the generator's parameters.

        Forward value: exactly ``sample``'s hard adjacency. Backward: through P_soft and U_soft recomputed
        from
        the current logits and the sample's stored noise.
        """
        soft_perm, soft_edges = self._soft(context, sample.perm_noise, sample.edge_noise)
        perm_st = sample.perm - soft_perm.detach() + soft_perm
        edges_st = sample.edges - soft_edges.detach() + soft_edges
        adj_st = self._compose(perm_st, edges_st)
        hard_adj = self._compose(sample.perm, sample.edges)
        adj = hard_adj + (adj_st - adj_st.detach())
        return DAGSample(adj, sample.order, sample.perm, sample.edges, sample.perm_noise, sample.edge_noise)


def is_acyclic(adj: np.ndarray | torch.Tensor) -> bool:
    """True iff the (n, n) 0/1 adjacency has no directed cycle (Kahn's algorithm)."""
    a = (np.asarray(adj.detach().cpu() if isinstance(adj, torch.Tensor) else adj) > 0.5).astype(np.int64)
    indeg = a.sum(0)
    ready = [i for i in range(len(a)) if indeg[i] == 0]
    seen = 0
    while ready:
        j = ready.pop()
        seen += 1
        for i in np.nonzero(a[j])[0]:
            indeg[i] -= 1
            if indeg[i] == 0:
                ready.append(int(i))
    return seen == len(a)
