"""The one REINFORCE of pgsuite (Williams, 1992), used by N2N, the noise mask and wireless policy gradient.

The estimator is  ∇J ≈ 1/m Σ_k (R_k − b) ∇ log π(a_k | s_k)  over m rollouts, with a baseline b that does
not depend on the action. Learners compute ``log_prob`` (summed over the factors of one action) and the
rewards; this module turns them into a loss and keeps the baseline.
"""

from __future__ import annotations

from typing import Any

import torch


class RunningMeanBaseline:
    """b_e = mean of the batch-mean rewards of updates 0..e−1 (N2N, Ashok et al. 2018, Sec. 3.3).

    The value used for update e is read *before* update e's rewards are added (official N2N code,
    github.com/anubhavashok/N2N @ 544f5dd, ``Controller.update_controller``).
    ``decay`` switches to an exponential moving average b ← decay·b + (1−decay)·mean(R) instead.
    """

    def __init__(self, decay: float | None = None) -> None:
        if decay is not None and not 0.0 <= decay < 1.0:
            raise ValueError(f"baseline decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.value = 0.0
        self.count = 0

    def update(self, rewards: torch.Tensor) -> float:
        """Add one update's rewards; returns the new baseline value."""
        batch_mean = float(rewards.detach().float().mean())
        if self.decay is None:
            self.value = (self.value * self.count + batch_mean) / (self.count + 1)
        elif self.count == 0:
            self.value = batch_mean
        else:
            self.value = self.decay * self.value + (1.0 - self.decay) * batch_mean
        self.count += 1
        return self.value

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value, self.count = float(state["value"]), int(state["count"])


def reinforce_loss(log_prob: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """Surrogate whose gradient is the REINFORCE estimator: −mean_k(A_k · log π(a_k)).

    Args:
        log_prob: (m,) log-probabilities of the sampled actions (each summed over its factors).
        advantages: (m,) R_k − b; detached here so no gradient flows through the rewards.
    """
    if log_prob.shape != advantages.shape:
        raise ValueError(f"log_prob {tuple(log_prob.shape)} and advantages {tuple(advantages.shape)} differ")
    return -(advantages.detach() * log_prob).mean()
