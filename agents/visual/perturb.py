"""MENTOR's task-oriented perturbation (TP) and DrM's dormant ratio.

Provenance: suninghuang19/mentor @ f4fa81f ``utils.py`` (``models_tuple``, ``cal_params_stats``,
``sample_params``, ``perturb``, ``cal_dormant_ratio``) and XuGW-Kevin/DrM ``utils.py`` (``perturb``). Written
as the intended algorithm (MENTOR Sec. 3.2, task-oriented perturbation), not as released: parameters are keyed
by *name*, so the MoE's
experts and gate are handled like any Linear layer (the official ``cal_params_stats`` crashes there, issue
#1), each parameter is interpolated exactly once, and Conv2d layers are included when the encoder is
perturbed (the official encoder "perturbation" only touches Linear layers and is a no-op).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


def perturbable_names(net: nn.Module) -> list[str]:
    """Names of the weights and biases of ``net``'s Linear and Conv2d layers (LayerNorm is left alone)."""
    names = []
    for mod_name, module in net.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            for p_name, _ in module.named_parameters(recurse=False):
                names.append(f"{mod_name}.{p_name}" if mod_name else p_name)
    return names


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of ``net``'s perturbable parameters."""
    params = dict(net.named_parameters())
    return {name: params[name].detach().clone() for name in perturbable_names(net)}


class TopKBuffer:
    """The S_top set: weights of the ``capacity`` highest-return training episodes (``models_tuple``).

    Fills up to ``capacity``; afterwards an episode replaces the lowest-return entry only if its return is
    strictly larger. Entries are kept sorted by return, best first (ties: older first).
    """

    def __init__(self, capacity: int = 10) -> None:
        if capacity < 1:
            raise ValueError(f"TopKBuffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.entries: list[dict[str, Any]] = []  # {"return": float, "weights": {net: {param: tensor}}}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def returns(self) -> list[float]:
        return [e["return"] for e in self.entries]

    def qualifies(self, episode_return: float) -> bool:
        """Would an episode with this return enter the set? (Check before paying for a snapshot.)"""
        return len(self.entries) < self.capacity or episode_return > self.entries[-1]["return"]

    def add(self, episode_return: float, nets: dict[str, nn.Module]) -> bool:
        """Insert a snapshot of ``nets`` if the return qualifies; returns whether it was inserted."""
        if not self.qualifies(episode_return):
            return False
        if len(self.entries) == self.capacity:
            self.entries.pop()
        entry = {"return": float(episode_return), "weights": {k: snapshot(n) for k, n in nets.items()}}
        index = next(
            (i for i, e in enumerate(self.entries) if e["return"] < episode_return), len(self.entries)
        )
        self.entries.insert(index, entry)
        return True

    def stats(self, net_name: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Element-wise mean and std (population, clamped ≥ 1e-7) per parameter (``cal_params_stats``)."""
        if not self.entries:
            raise RuntimeError("TopKBuffer.stats() on an empty buffer")
        out = {}
        for name in self.entries[0]["weights"][net_name]:
            stack = torch.stack([e["weights"][net_name][name] for e in self.entries])
            out[name] = (stack.mean(0), stack.std(0, unbiased=False).clamp_min(1e-7))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "entries": [copy.copy(e) for e in self.entries]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.capacity = int(state["capacity"])
        self.entries = [{"return": float(e["return"]), "weights": e["weights"]} for e in state["entries"]]


def task_target(stats: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """φ ~ N(μ_top, σ_top) element-wise (MENTOR ``sample_params``); draws from torch's global RNG."""
    return {name: mean + std * torch.randn_like(mean) for name, (mean, std) in stats.items()}


def random_target(net: nn.Module, init: Callable[[nn.Module], None]) -> dict[str, torch.Tensor]:
    """φ = a fresh initialisation of ``net`` (DrM): a deep copy re-initialised with ``init``."""
    # Plain tensor attributes (MoEActor.aux_loss, a non-leaf tensor of the last forward) cannot be deep-copied
    # and are not parameters: the copy gets None for them (found by the perturb=random benchmark run).
    memo = {id(v): None for m in net.modules() for v in vars(m).values() if isinstance(v, torch.Tensor)}
    fresh = copy.deepcopy(net, memo)
    fresh.apply(init)
    return snapshot(fresh)


@torch.no_grad()
def interpolate_(net: nn.Module, target: dict[str, torch.Tensor], alpha: float) -> None:
    """θ ← α·θ + (1 − α)·φ for every parameter named in ``target`` (once each)."""
    params = dict(net.named_parameters())
    for name, phi in target.items():
        params[name].mul_(alpha).add_(phi.to(params[name].device), alpha=1.0 - alpha)


def perturb_factor(dormant_ratio: float, rate: float, min_factor: float, max_factor: float) -> float:
    """α = clip(1 − rate·β, min, max) (DrM Eq. for the perturbation factor; rate 2, min 0.2)."""
    return min(max(1.0 - rate * dormant_ratio, min_factor), max_factor)


def reset_optimizer(opt: torch.optim.Optimizer) -> None:
    """Drop Adam's moments and step counts (the official ``perturb`` re-creates the optimizer state)."""
    opt.state.clear()


class DormantMeter:
    """Dormant ratio of a network's Linear layers from one forward pass (DrM ``cal_dormant_ratio``).

    A neuron is dormant when its batch-mean |pre-activation| is below ``threshold`` × its layer's mean; the
    ratio is dormant neurons / all neurons over every Linear layer (MoE experts and gate included). Under
    the MoE's sparse dispatch the experts are still measured on the whole batch (:mod:`policies.moe`).
    Use as a context manager around a forward pass, then read :attr:`ratio`.
    """

    def __init__(self, net: nn.Module, threshold: float = 0.025) -> None:
        self.net, self.threshold = net, threshold
        self.dormant, self.total, self.handles = 0, 0, []
        self.ratio = 0.0

    def _hook(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        act = output.detach().abs().reshape(-1, output.shape[-1]).mean(0)
        self.dormant += int((act < act.mean() * self.threshold).sum())
        self.total += act.numel()

    def __enter__(self) -> DormantMeter:
        self.dormant, self.total = 0, 0
        self.handles = [
            m.register_forward_hook(self._hook) for m in self.net.modules() if isinstance(m, nn.Linear)
        ]
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self.handles:
            handle.remove()
        self.ratio = self.dormant / max(self.total, 1)
