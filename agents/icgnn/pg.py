"""ICGNN trained by policy gradient: the same GNN as a stochastic policy, rewards from the env's SE.

REINFORCE (Williams 1992) through the project's one implementation (:mod:`agents.core.reinforce`): the GNN
gives
a Beta (default) or Gaussian distribution per link and action channel; the reward is the env's objective
for the sampled action (no gradient through the SE, unlike :mod:`agents.icgnn.unsupervised`). Each update
draws
``batch_size`` networks from the env's generator and ``samples_per_network`` actions on each. Advantages
are R − b with b the mean reward of the other samples of the same network (``baseline: per_network``) or the
:class:`~agents.core.reinforce.RunningMeanBaseline` (``baseline: running_mean``). ``num_steps`` counts env
steps
(network × action pairs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import distributions as D

from agents.core.env_factory import EnvFactory
from agents.core.reinforce import RunningMeanBaseline, reinforce_loss
from agents.icgnn.unsupervised import UnsupervisedConfig, UnsupervisedICGNN, graph_inputs
from envs.wireless.common import objective


@dataclass
class PolicyGradientConfig(UnsupervisedConfig):
    """Hyperparameters of :class:`PolicyGradientICGNN`; the rest are :class:`UnsupervisedConfig`'s."""

    # Networks per update; each is sampled samples_per_network times (32 x 8 = 256 actions per update).
    batch_size: int = 32
    distribution: str = "beta"  # beta | gaussian
    samples_per_network: int = 8
    baseline: str = "per_network"  # per_network | running_mean
    baseline_decay: float | None = None
    normalize_advantages: bool = True
    init_log_std: float = -1.0  # gaussian only


class PolicyGradientICGNN(UnsupervisedICGNN):
    """Stochastic ICGNN policy trained with REINFORCE on the env's reward."""

    Config = PolicyGradientConfig
    head_factor = 2

    def __init__(self, cfg: PolicyGradientConfig, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        if cfg.distribution not in ("beta", "gaussian"):
            raise ValueError(f"distribution must be 'beta' or 'gaussian', got {cfg.distribution!r}")
        if cfg.baseline not in ("per_network", "running_mean"):
            raise ValueError(f"baseline must be 'per_network' or 'running_mean', got {cfg.baseline!r}")
        if cfg.baseline == "per_network" and cfg.samples_per_network < 2:
            raise ValueError("baseline=per_network needs samples_per_network >= 2 (or use running_mean)")
        super().__init__(cfg, env, seed, device)
        self.log_std = torch.nn.Parameter(torch.full((self.scenario.out_channels,), float(cfg.init_log_std)))
        if cfg.distribution == "gaussian":
            self.optim.add_param_group({"params": [self.log_std]})
        self.baseline = RunningMeanBaseline(cfg.baseline_decay)

    def distribution(self, graph: tuple[torch.Tensor, ...]) -> D.Distribution:
        """Per-link distribution over x ∈ (0, 1) (Beta) or a ∈ ℝ (Gaussian, clipped to [-1, 1] by the env)."""
        out = self.model(*graph)
        c = self.scenario.out_channels
        if self.cfg.distribution == "beta":
            conc = 1.0 + torch.nn.functional.softplus(out)
            return D.Beta(conc[..., :c], conc[..., c:])
        return D.Normal(torch.tanh(out[..., :c]), self.log_std.exp().expand_as(out[..., :c]))

    def to_action(self, sample: torch.Tensor) -> torch.Tensor:
        return 2.0 * sample - 1.0 if self.cfg.distribution == "beta" else sample.clamp(-1.0, 1.0)

    def grid_action(self, graph: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Deterministic action: the distribution's mean."""
        return self.to_action(self.distribution(graph).mean)

    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        m = self.cfg.samples_per_network
        while self.num_steps < step:
            net = self.sample_batch()
            graph = graph_inputs(self.scenario, net)
            dist = self.distribution(graph)
            sample = (
                dist.sample((m,)).clamp(1e-6, 1 - 1e-6)
                if self.cfg.distribution == "beta"
                else dist.sample((m,))
            )
            # only serving links' action entries reach the env: the log-probability sums over those
            relevant = net.serving[None, ..., None].float()
            log_prob = (dist.log_prob(sample) * relevant).sum((2, 3, 4))  # (m, B)
            with torch.no_grad():
                rewards = torch.stack(
                    [
                        objective(
                            self.scenario.user_se(
                                net, self.scenario.allocate(net, self.to_action(s).double())
                            ),
                            net.user_mask,
                            self.objective,
                        )
                        for s in sample
                    ]
                ).float()
            baseline_value = self.baseline.value
            if self.cfg.baseline == "per_network":
                adv = rewards - (rewards.sum(0, keepdim=True) - rewards) / (m - 1)  # leave-one-out mean
            else:
                adv = rewards - baseline_value
            self.baseline.update(rewards)
            if self.cfg.normalize_advantages:
                adv = adv / (adv.std() + 1e-8)
            loss = reinforce_loss(log_prob.flatten(), adv.flatten())
            self.optim.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optim.step()
            self.updates += 1
            self.num_steps += net.batch_size * m
            yield {
                f"train/{self.objective}_se": float(rewards.mean()),
                "losses/policy_loss": float(loss.detach()),
                "charts/baseline": float(baseline_value),
                "charts/grad_norm": float(norm),
            }

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "log_std": self.log_std.detach().clone(),
            "baseline": self.baseline.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_std.copy_(state["log_std"])
        self.baseline.load_state_dict(state["baseline"])
