"""REINFORCE with a Gaussian policy (Williams 1992) as a pgsuite learner, on the public API only.

Each update uses ``episodes_per_update`` whole episodes: loss = -mean_t (G_t - b) log pi(a_t | s_t), with
reward-to-go returns G_t and the batch-mean return as baseline b.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.distributions import Normal

from agents import Learner, LearnerConfig, derive_seed


@dataclass
class ReinforceConfig(LearnerConfig):
    """Hyperparameters; the yaml (conf/agent/reinforce-gauss.yaml) overrides only what it names."""

    _target_: str = "pgs_reinforce.learner.GaussianReinforce"
    name: str = "reinforce-gauss"
    lr: float = 3e-3
    hidden: int = 32
    gamma: float = 0.99
    episodes_per_update: int = 2
    init_log_std: float = -0.5


class GaussianReinforce(Learner):
    """A diagonal-Gaussian MLP policy trained by REINFORCE on one gymnasium env."""

    Config = ReinforceConfig
    observation_spaces = ("vector",)
    action_spaces = ("box",)

    def __init__(self, cfg: ReinforceConfig, env: Any, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        self.env = env.make(seed=derive_seed(seed, "train"))
        obs_dim = int(np.prod(self.env.observation_space.shape))
        act_dim = int(np.prod(self.env.action_space.shape))
        self.low, self.high = self.env.action_space.low, self.env.action_space.high
        self.policy = nn.Sequential(nn.Linear(obs_dim, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, act_dim))
        self.log_std = nn.Parameter(torch.full((act_dim,), cfg.init_log_std))
        self.optimizer = torch.optim.Adam([*self.policy.parameters(), self.log_std], lr=cfg.lr)
        self._new_segment(0)

    def _new_segment(self, segment: int) -> None:
        """Drop partial episodes and re-seed the env: a resumed run restarts exactly here."""
        self.obs, _ = self.env.reset(seed=derive_seed(self.seed, "segment", segment))
        self.batch: list[tuple[list[torch.Tensor], list[float]]] = []
        self.log_probs: list[torch.Tensor] = []
        self.rewards: list[float] = []

    def _dist(self, obs: Any) -> Normal:
        mean = self.policy(torch.as_tensor(np.asarray(obs), dtype=torch.float32).reshape(-1))
        return Normal(mean, self.log_std.exp())

    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        while self.num_steps < step:
            dist = self._dist(self.obs)
            action = dist.sample()
            self.log_probs.append(dist.log_prob(action).sum())
            self.obs, reward, terminated, truncated, _ = self.env.step(
                np.clip(action.numpy(), self.low, self.high)
            )
            self.rewards.append(float(reward))
            self.num_steps += 1
            if terminated or truncated:
                yield {"train/episode_return": float(sum(self.rewards))}
                self.batch.append((self.log_probs, self.rewards))
                self.log_probs, self.rewards = [], []
                self.obs, _ = self.env.reset()
                if len(self.batch) >= self.cfg.episodes_per_update:
                    yield self._update()

    def _update(self) -> dict[str, float]:
        log_probs, returns = [], []
        for episode_log_probs, rewards in self.batch:
            running, to_go = 0.0, []
            for reward in reversed(rewards):
                running = reward + self.cfg.gamma * running
                to_go.append(running)
            returns += to_go[::-1]
            log_probs += episode_log_probs
        returns_t = torch.tensor(returns)
        advantages = returns_t - returns_t.mean()
        loss = -(advantages * torch.stack(log_probs)).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.batch = []
        return {
            "losses/policy_loss": float(loss.detach()),
            "train/log_std": float(self.log_std.detach().mean()),
        }

    def on_segment_end(self, segment: int) -> None:
        self._new_segment(segment + 1)

    def act(self, obs: Any, deterministic: bool = True) -> Any:
        with torch.no_grad():
            dist = self._dist(obs)
            action = dist.mean if deterministic else dist.sample()
        return np.clip(action.numpy(), self.low, self.high)

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "log_std": self.log_std.detach().clone(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        with torch.no_grad():
            self.log_std.copy_(state["log_std"])
        self.optimizer.load_state_dict(state["optimizer"])

    def close(self) -> None:
        self.env.close()
