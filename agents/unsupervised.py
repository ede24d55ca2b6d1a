"""Unsupervised training of ICGNN on the differentiable spectral-efficiency objective.

The setting of the IGCNet/WCGCN line and, as reconstructed, of ICGNN (papers/wireless_icgnn.md Sec. 3.4,
5.1): loss = −E[Σ_k SE_k] (or −E[min_k SE_k]) over networks drawn from the env's own generator, gradients
flowing through the env's action mapping (power budgets, CG precoder) and SE formulas. No labels and no
WMMSE during training. ``num_steps`` counts networks consumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.base import Learner, LearnerConfig
from agents.runtime.env_factory import EnvFactory
from envs.wireless.common import Networks, Scenario, objective
from envs.wireless.env import FEATURE_BOUND
from policies.icgnn import ICGNN, obs_to_graph


@dataclass
class UnsupervisedConfig(LearnerConfig):
    """Hyperparameters of :class:`UnsupervisedICGNN` (defaults: agents/conf/agent/icgnn.yaml)."""

    hidden: int = 64
    layers: int = 4
    lr: float = 1e-3
    batch_size: int = 64
    grad_clip: float = 1.0
    wmmse_iters: int = 100  # reference algorithm in evaluate()/finish()
    eval_chunk: int = 250
    final_eval_networks: int = 200


def graph_inputs(scenario: Scenario, net: Networks) -> tuple[torch.Tensor, ...]:
    """The GNN inputs of a batch, identical to what the env observation carries."""
    links = scenario.features(net).clamp(-FEATURE_BOUND, FEATURE_BOUND).float()
    return links, net.serving.float(), net.tx_mask.float(), net.user_mask.float()


def batch_rng(seed: int, *keys: int) -> np.random.Generator:
    """Deterministic generator per (seed, keys): resume-exact without saving RNG state."""
    return np.random.default_rng([seed, *keys])


class UnsupervisedICGNN(Learner):
    """ICGNN trained by gradient ascent on the SE of the env's networks; deterministic policy a = tanh(GNN)."""

    Config = UnsupervisedConfig
    #: extra output channels per action channel (1 = the action itself).
    head_factor = 1

    def __init__(self, cfg: Any, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        probe = env.make(seed=seed)
        self.scenario: Scenario = probe.unwrapped.scenario
        self.objective: str = probe.unwrapped.objective
        probe.close()
        if cfg.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {cfg.batch_size}")
        with torch.random.fork_rng():  # seeded init without touching the global RNG
            torch.manual_seed(int(batch_rng(seed, 0).integers(2**31)))
            self.model = ICGNN(
                self.scenario.num_features,
                self.head_factor * self.scenario.out_channels,
                cfg.hidden,
                cfg.layers,
            )
        self.optim = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.updates = 0

    # -- policy -------------------------------------------------------------------------------------
    def grid_action(self, graph: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Deterministic grid action in [-1, 1]."""
        return torch.tanh(self.model(*graph)[..., : self.scenario.out_channels])

    def sample_batch(self) -> Networks:
        return self.scenario.sample(batch_rng(self.seed, 1, self.updates), self.cfg.batch_size)

    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        while self.num_steps < step:
            net = self.sample_batch()
            grid = self.grid_action(graph_inputs(self.scenario, net)).double()
            user_se = self.scenario.user_se(net, self.scenario.allocate(net, grid))
            value = objective(user_se, net.user_mask, self.objective)
            loss = -value.mean()
            self.optim.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optim.step()
            self.updates += 1
            self.num_steps += net.batch_size
            yield {
                f"train/{self.objective}_se": float(value.detach().mean()),
                "losses/loss": float(loss.detach()),
                "charts/grad_norm": float(norm),
            }

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        with torch.no_grad():
            grid = self.grid_action(obs_to_graph(obs, self.scenario.num_features))
        return self.scenario.grid_to_action(grid)[0].numpy().astype(np.float32)

    # -- evaluation ---------------------------------------------------------------------------------
    def compare(self, net: Networks) -> dict[str, torch.Tensor]:
        """(B,) objective values of ICGNN, WMMSE and the classic baselines on ``net``."""
        with torch.no_grad():
            grid = self.grid_action(graph_inputs(self.scenario, net)).double()
            out = {"icgnn": self.scenario.user_se(net, self.scenario.allocate(net, grid))}
            out["wmmse"] = self.scenario.wmmse(net, self.cfg.wmmse_iters)
            out |= self.scenario.baselines(net)
        return {k: objective(v, net.user_mask, self.objective) for k, v in out.items()}

    def evaluate(self, episodes: int, seed: int) -> list[dict[str, Any]]:
        """Per network: ``return`` (ICGNN objective), ``wmmse``, ``pct_wmmse`` and each baseline's value."""
        rng, rows = batch_rng(seed, 2), []
        while len(rows) < episodes:
            net = self.scenario.sample(rng, min(self.cfg.eval_chunk, episodes - len(rows)))
            res = self.compare(net)
            for i in range(net.batch_size):
                row = {"return": float(res["icgnn"][i]), "length": 1}
                row |= {k: float(v[i]) for k, v in res.items() if k != "icgnn"}
                row["pct_wmmse"] = 100.0 * row["return"] / max(row["wmmse"], 1e-12)
                rows.append(row)
        return rows

    def finish(self) -> dict[str, Any]:
        rows = self.evaluate(self.cfg.final_eval_networks, seed=int(batch_rng(self.seed, 3).integers(2**31)))
        names = [k for k in rows[0] if k not in ("return", "length", "pct_wmmse")]
        mean = {k: float(np.mean([r[k] for r in rows])) for k in ["return", *names]}
        lines = [f"| method | {self.objective} SE (bit/s/Hz) | % of WMMSE |", "|---|---|---|"]
        for k in ["return", *names]:
            label = "ICGNN" if k == "return" else k
            lines.append(f"| {label} | {mean[k]:.3f} | {100 * mean[k] / mean['wmmse']:.1f} |")
        header = (
            f"ICGNN on {self.env_factory.id}, {len(rows)} test networks, {self.num_steps} training steps\n\n"
        )
        return {
            "mean": mean,
            "pct_wmmse": 100 * mean["return"] / mean["wmmse"],
            "markdown": header + "\n".join(lines),
        }

    # -- state --------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optim": self.optim.state_dict(),
            "num_steps": self.num_steps,
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.num_steps, self.updates = int(state["num_steps"]), int(state["updates"])
