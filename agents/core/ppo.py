"""THE one PPO core of pgsuite (Schulman et al. 2017), in the MAPPO flavour (Yu et al. 2022).

Pieces, each usable alone: :func:`compute_gae` (GAE(λ) with ``terminated`` and ``truncated`` kept apart),
:func:`clipped_surrogate` (per-factor ratios broadcast against one advantage), :func:`value_loss` (clipped,
Huber), :class:`ValueNorm` (MAPPO's running value normalisation) and :class:`PPO`, a :class:`Learner`
skeleton that runs collect → targets → minibatch epochs. A concrete learner implements
:meth:`PPO.collect_rollout`, :meth:`PPO.evaluate_minibatch` and the parameter groups; BN-MAPPO
(:mod:`agents.marl.bn_mappo`) is one. Defaults follow MAPPO (Yu et al., NeurIPS 2022 Datasets and
Benchmarks; github.com/marlbenchmark/on-policy) as the BN-MAPPO code uses them
(github.com/dchen48/BNPG @ b7cf8b2).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.core.base import Learner, LearnerConfig
from agents.core.env_factory import EnvFactory


@dataclass
class PPOConfig(LearnerConfig):
    """Hyperparameters of the PPO core (MAPPO defaults, as in github.com/dchen48/BNPG @ b7cf8b2)."""

    lr: float = 7e-4
    critic_lr: float = 7e-4
    adam_eps: float = 1e-5
    n_steps: int = 25  # rollout length per environment
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    ppo_epochs: int = 5
    num_minibatches: int = 1
    ent_coef: float = 0.01
    vf_coef: float = 1.0
    huber_delta: float = 10.0
    clip_vloss: bool = True
    max_grad_norm: float = 10.0
    value_norm: bool = True
    norm_adv: bool = True


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    episode_end: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(λ) over a (T, N) rollout; returns (advantages, returns), both (T, N).

    ``next_values[t]`` is V(s_{t+1}) of the state actually reached (the final state on truncation), so
    δ_t = r_t + γ(1 − terminated_t)V(s_{t+1}) − V(s_t) bootstraps through truncation but not termination,
    and the λ-recursion stops at every episode end (terminated or truncated).
    """
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * (1.0 - terminated[t]) * next_values[t] - values[t]
        last = delta + gamma * gae_lambda * (1.0 - episode_end[t]) * last
        advantages[t] = last
    return advantages, advantages + values


def clipped_surrogate(
    log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, clip_coef: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """−E[min(r·Â, clip(r, 1±ε)·Â)] with r = exp(log π − log π_old).

    ``log_prob`` may carry a trailing factor axis (B, k): each factor (agent) gets its own ratio against the
    shared advantage (B,), the per-agent-factor surrogate of BN-MAPPO (Chen & Zhang, ICML 2023, Sec. 4).
    """
    adv = advantages.view(-1, *([1] * (log_prob.dim() - 1)))
    log_ratio = log_prob - old_log_prob
    ratio = log_ratio.exp()
    loss = -torch.min(ratio * adv, ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef) * adv).mean()
    with torch.no_grad():
        stats = {
            "approx_kl": ((ratio - 1.0) - log_ratio).mean(),  # k3 estimator (Schulman 2020)
            "clipfrac": ((ratio - 1.0).abs() > clip_coef).float().mean(),
        }
    return loss, stats


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    clip_coef: float,
    huber_delta: float | None,
    clip: bool = True,
) -> torch.Tensor:
    """MAPPO value loss: Huber(δ) (or squared when ``huber_delta`` is None), max of clipped/unclipped."""

    def err(pred: torch.Tensor) -> torch.Tensor:
        if huber_delta is None:
            return 0.5 * (returns - pred) ** 2
        return nn.functional.huber_loss(pred, returns, delta=huber_delta, reduction="none")

    unclipped = err(values)
    if not clip:
        return unclipped.mean()
    clipped = old_values + (values - old_values).clamp(-clip_coef, clip_coef)
    return torch.max(unclipped, err(clipped)).mean()


class ValueNorm(nn.Module):
    """Running mean/variance of value targets with debiased EMA, β = 0.99999 (MAPPO ``ValueNorm``)."""

    def __init__(self, beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.beta, self.epsilon = beta, epsilon
        self.register_buffer("running_mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros((), dtype=torch.float64))
        self.register_buffer("debiasing_term", torch.zeros((), dtype=torch.float64))

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        debias = self.debiasing_term.clamp_min(self.epsilon)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean**2).clamp_min(1e-2)
        return mean, var

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.detach().double()
        self.running_mean.mul_(self.beta).add_(x.mean() * (1.0 - self.beta))
        self.running_mean_sq.mul_(self.beta).add_((x**2).mean() * (1.0 - self.beta))
        self.debiasing_term.mul_(self.beta).add_(1.0 - self.beta)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return ((x.double() - mean) / var.sqrt()).to(x.dtype)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return (x.double() * var.sqrt() + mean).to(x.dtype)


class PPO(Learner):
    """On-policy skeleton: ``train_until`` alternates :meth:`collect_rollout` and :meth:`update`.

    Subclasses build their networks, then call :meth:`setup_optimizers`, and implement:

    * :meth:`collect_rollout` → (batch, metrics): a flat batch (leading dim B) holding at least
      ``old_log_prob`` (B, k), ``old_values`` (B,) (normalised space when ``value_norm``), ``advantages``
      and ``returns`` (B,) from :meth:`targets`, plus whatever :meth:`evaluate_minibatch` needs;
    * :meth:`evaluate_minibatch` → dict with ``log_prob`` (B, k), ``entropy`` (B, k), ``values`` (B,) and
      optionally ``aux_loss`` (scalar added to the loss) and ``aux_metrics`` (dict of floats).
    """

    Config = PPOConfig

    def __init__(self, cfg: PPOConfig, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        self.value_normalizer = ValueNorm().to(device) if cfg.value_norm else None
        self.num_updates = 0

    # -- to implement ---------------------------------------------------------------------------------
    @abstractmethod
    def actor_parameters(self) -> Iterable[nn.Parameter]: ...

    @abstractmethod
    def critic_parameters(self) -> Iterable[nn.Parameter]: ...

    @abstractmethod
    def collect_rollout(self) -> tuple[dict[str, torch.Tensor], dict[str, float]]: ...

    @abstractmethod
    def evaluate_minibatch(self, mb: dict[str, torch.Tensor]) -> dict[str, Any]: ...

    # -- core -----------------------------------------------------------------------------------------
    def setup_optimizers(self) -> None:
        """Separate Adam optimisers for actor and critic (MAPPO), built after the networks exist."""
        self.actor_params = list(self.actor_parameters())
        self.critic_params = list(self.critic_parameters())
        self.actor_optimizer = torch.optim.Adam(self.actor_params, lr=self.cfg.lr, eps=self.cfg.adam_eps)
        self.critic_optimizer = torch.optim.Adam(
            self.critic_params, lr=self.cfg.critic_lr, eps=self.cfg.adam_eps
        )

    def denormalize(self, values: torch.Tensor) -> torch.Tensor:
        return self.value_normalizer.denormalize(values) if self.value_normalizer is not None else values

    def targets(
        self,
        rewards: torch.Tensor,
        values: torch.Tensor,
        next_values: torch.Tensor,
        terminated: torch.Tensor,
        episode_end: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """GAE advantages and returns in reward units from critic outputs in (possibly) normalised units."""
        return compute_gae(
            rewards,
            self.denormalize(values),
            self.denormalize(next_values),
            terminated,
            episode_end,
            self.cfg.gamma,
            self.cfg.gae_lambda,
        )

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """``ppo_epochs`` passes over ``num_minibatches`` shuffled minibatches; returns mean metrics."""
        cfg = self.cfg
        batch = dict(batch)
        if cfg.norm_adv:
            adv = batch["advantages"]
            batch["advantages"] = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-5)
        if self.value_normalizer is not None:
            self.value_normalizer.update(batch["returns"])
            batch["returns"] = self.value_normalizer.normalize(batch["returns"])
        size = batch["returns"].shape[0]
        mb_size = max(size // cfg.num_minibatches, 1)
        sums: dict[str, float] = {}
        count = 0
        for _ in range(cfg.ppo_epochs):
            perm = torch.randperm(size, device=batch["returns"].device)
            for start in range(0, size - mb_size + 1, mb_size):
                mb = {k: v[perm[start : start + mb_size]] for k, v in batch.items()}
                for k, v in self._step(mb).items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
        self.num_updates += 1
        return {k: v / max(count, 1) for k, v in sums.items()}

    def _step(self, mb: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg = self.cfg
        out = self.evaluate_minibatch(mb)
        pg_loss, stats = clipped_surrogate(
            out["log_prob"], mb["old_log_prob"], mb["advantages"], cfg.clip_coef
        )
        v_loss = value_loss(
            out["values"], mb["old_values"], mb["returns"], cfg.clip_coef, cfg.huber_delta, cfg.clip_vloss
        )
        entropy = out["entropy"].mean()
        aux = out.get("aux_loss", torch.zeros((), device=entropy.device))
        loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss + aux
        self.actor_optimizer.zero_grad(set_to_none=True)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        actor_norm = nn.utils.clip_grad_norm_(self.actor_params, cfg.max_grad_norm)
        critic_norm = nn.utils.clip_grad_norm_(self.critic_params, cfg.max_grad_norm)
        self.actor_optimizer.step()
        self.critic_optimizer.step()
        metrics = {
            "losses/policy_loss": float(pg_loss.detach()),
            "losses/value_loss": float(v_loss.detach()),
            "losses/entropy": float(entropy.detach()),
            "losses/approx_kl": float(stats["approx_kl"]),
            "losses/clipfrac": float(stats["clipfrac"]),
            "losses/actor_grad_norm": float(actor_norm),
            "losses/critic_grad_norm": float(critic_norm),
        }
        metrics.update({k: float(v) for k, v in out.get("aux_metrics", {}).items()})
        return metrics

    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        while self.num_steps < step:
            batch, rollout_metrics = self.collect_rollout()
            metrics = self.update(batch)
            metrics.update(rollout_metrics)
            yield metrics

    # -- state ----------------------------------------------------------------------------------------
    def ppo_state_dict(self) -> dict[str, Any]:
        state = {
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "num_steps": self.num_steps,
            "num_updates": self.num_updates,
        }
        if self.value_normalizer is not None:
            state["value_norm"] = self.value_normalizer.state_dict()
        return state

    def load_ppo_state_dict(self, state: dict[str, Any]) -> None:
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.num_steps = int(state["num_steps"])
        self.num_updates = int(state["num_updates"])
        if self.value_normalizer is not None:
            self.value_normalizer.load_state_dict(state["value_norm"])
