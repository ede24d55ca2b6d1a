"""Unsupervised training of ICGNN on the differentiable spectral-efficiency objective.

The setting of the IGCNet/MPGNN line (Shen et al., JSAC 2021, arXiv 2007.07632, Sec. V; github.com/yshenaw/
GNN-Resource-Management @ 6a437fe) and, as reconstructed, of ICGNN (Sun et al., arXiv 2408.17252):
loss = −E[Σ_k SE_k] (or −E[min_k SE_k]) over networks drawn from the env's own generator, gradients
flowing through the env's action mapping (power budgets, CG precoder) and SE formulas. No labels and no
WMMSE during training. ``num_steps`` counts networks consumed. ``finish`` also tests at ``size_factors`` ×
the training sizes, as benchmarks/wireless.py does (``se_vs_size`` in summary.json, drawn by
:func:`agents.analysis.method_figures.plot_se_vs_size`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from agents.core.base import Learner, LearnerConfig
from agents.core.env_factory import EnvFactory
from agents.icgnn.pretrained import ARCH_KEYS, load_pretrained, model_for
from envs.wireless.common import Networks, Scenario, objective
from envs.wireless.env import FEATURE_BOUND
from policies.icgnn import obs_to_graph


@dataclass
class UnsupervisedConfig(LearnerConfig):
    """Hyperparameters of :class:`UnsupervisedICGNN` (the defaults; agents/conf/agent/icgnn.yaml overrides
    none)."""

    #: ``entity``: the factorised :class:`policies.icgnn.ICGNN` (issue 17); ``grid``: the link-grid model
    #: :class:`policies.icgnn_grid.LinkGridICGNN` of issue 4 (use hidden 64, layers 4 there).
    arch: str = "entity"
    hidden: int = 32
    layers: int = 3
    channels: int = 4  # entity arch: scalar link weights per link (C)
    message: int = 8  # entity arch: message width (M)
    aggregation: str = "mean"  # entity arch: mean | sum (policies.icgnn.ICGNN)
    size_feature: bool = True  # entity arch: log(1 + neighbourhood size) as an input of every update
    #: name of a shipped weight file (agents/icgnn/weights/<name>.safetensors) or a path to one; its
    #: architecture replaces arch/hidden/layers/channels/message. Training continues from it.
    pretrained: str | None = None
    lr: float = 1e-3
    batch_size: int = 64
    grad_clip: float = 1.0
    wmmse_iters: int = 100  # reference algorithm in evaluate()/finish()
    eval_chunk: int = 250
    final_eval_networks: int = 200
    #: SE vs network size in finish(): test networks per size beyond 1× (0 = skip), and the size factors.
    size_eval_networks: int = 200
    # x the training sizes (users, APs, BS antennas), as benchmarks/wireless.py
    size_factors: list[int] = field(default_factory=lambda: [1, 2, 4])


#: size kwargs of the wireless envs that scale with the network, with their letters in labels; per-AP
#: antennas, CG iterations and SNR stay fixed (the size-generalisation protocol of docs/wireless.md)
SIZE_KEYS = {"num_aps": "L", "num_antennas": "M", "num_users": "K"}


def scaled_kwargs(kwargs: dict[str, Any], factor: int) -> dict[str, Any]:
    """``kwargs`` with every size in :data:`SIZE_KEYS` (int or [min, max]) × ``factor``: the 1×/2×/4× test
    sizes of benchmarks/wireless.py and of :meth:`UnsupervisedICGNN.finish`."""
    if int(factor) != factor or factor < 1:
        raise ValueError(f"size factors must be integers >= 1, got {factor!r}")
    out = dict(kwargs)
    for key in SIZE_KEYS.keys() & kwargs.keys():
        value = kwargs[key]
        out[key] = int(factor * value) if isinstance(value, int | np.integer) else [factor * v for v in value]
    return out


def size_label(kwargs: dict[str, Any]) -> str:
    """``L=25 K=10`` (``K=8-16`` for a range) from the size entries of env/scenario kwargs."""
    parts = []
    for key, letter in SIZE_KEYS.items():
        if key in kwargs:
            v = kwargs[key]
            parts.append(f"{letter}={v}" if isinstance(v, int | np.integer) else f"{letter}={v[0]}-{v[1]}")
    return " ".join(parts)


def graph_inputs(scenario: Scenario, net: Networks) -> tuple[torch.Tensor, ...]:
    """The GNN inputs of a batch, identical to what the env observation carries."""
    links = scenario.features(net).clamp(-FEATURE_BOUND, FEATURE_BOUND).float()
    return links, net.serving.float(), net.tx_mask.float(), net.user_mask.float()


def batch_rng(seed: int, *keys: int) -> np.random.Generator:
    """Deterministic generator per (seed, keys): resume-exact without saving RNG state."""
    return np.random.default_rng([seed, *keys])


class UnsupervisedICGNN(Learner):
    """ICGNN trained by gradient ascent on the SE of the env's networks; deterministic policy a =
    tanh(GNN)."""

    Config = UnsupervisedConfig
    observation_spaces = ("dict",)
    action_spaces = ("box",)
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
        arch = {k: getattr(cfg, k) for k in ARCH_KEYS}
        weights = None
        if cfg.pretrained:
            weights, arch = load_pretrained(cfg.pretrained, self.scenario, self.head_factor)
        with torch.random.fork_rng():  # seeded init without touching the global RNG
            torch.manual_seed(int(batch_rng(seed, 0).integers(2**31)))
            self.model = model_for(self.scenario, self.head_factor, **arch)
        if weights is not None:
            self.model.load_state_dict(weights)
        self.arch = arch
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
    def compare(self, net: Networks, scenario: Scenario | None = None) -> dict[str, torch.Tensor]:
        """(B,) objective values of ICGNN, WMMSE and the classic baselines on ``net`` (of ``scenario``,
        default the training one)."""
        sc = scenario or self.scenario
        with torch.no_grad():
            grid = self.grid_action(graph_inputs(sc, net)).double()
            out = {"icgnn": sc.user_se(net, sc.allocate(net, grid))}
            out["wmmse"] = sc.wmmse(net, self.cfg.wmmse_iters)
            out |= sc.baselines(net)
        return {k: objective(v, net.user_mask, self.objective) for k, v in out.items()}

    def evaluate(self, episodes: int, seed: int, scenario: Scenario | None = None) -> list[dict[str, Any]]:
        """Per network: ``return`` (ICGNN objective), ``wmmse``, ``pct_wmmse`` and each baseline's value."""
        sc = scenario or self.scenario
        rng, rows = batch_rng(seed, 2), []
        while len(rows) < episodes:
            net = sc.sample(rng, min(self.cfg.eval_chunk, episodes - len(rows)))
            res = self.compare(net, sc)
            for i in range(net.batch_size):
                row = {"return": float(res["icgnn"][i]), "length": 1}
                row |= {k: float(v[i]) for k, v in res.items() if k != "icgnn"}
                row["pct_wmmse"] = 100.0 * row["return"] / max(row["wmmse"], 1e-12)
                rows.append(row)
        return rows

    def size_kwargs(self) -> dict[str, Any]:
        """The env kwargs at 1×, with the scenario's default for every size the env config leaves out."""
        params = inspect.signature(type(self.scenario)).parameters
        defaults = {k: params[k].default for k in SIZE_KEYS if k in params}
        return defaults | dict(self.env_factory.cfg.kwargs)

    def se_vs_size(self, at_1x: dict[str, float], networks_1x: int) -> list[dict[str, Any]]:
        """Mean objective per method at each of ``size_factors`` × the training sizes (sizes scaled by
        :func:`scaled_kwargs`, as in benchmarks/wireless.py); 1× is the final evaluation ``at_1x``.

        One record per (size, method): ``size`` (mean number of users, the figure's x), ``factor``,
        ``sizes`` (label), ``method``, ``se`` (mean objective), ``pct_wmmse``, ``networks``.
        """
        if self.cfg.size_eval_networks < 1:
            return []
        base, records = self.size_kwargs(), []
        for factor in self.cfg.size_factors:
            kwargs = scaled_kwargs(base, factor)
            if factor == 1:
                mean, n = at_1x, networks_1x
            else:
                env = EnvFactory(replace(self.env_factory.cfg, kwargs=kwargs)).make(seed=self.seed)
                seed = int(batch_rng(self.seed, 4, factor).integers(2**31))
                rows = self.evaluate(self.cfg.size_eval_networks, seed, env.unwrapped.scenario)
                env.close()
                mean, n = {k: float(np.mean([r[k] for r in rows])) for k in at_1x}, len(rows)
            users = np.mean(kwargs["num_users"]) if "num_users" in kwargs else float("nan")
            records += [
                {
                    "size": float(users),
                    "factor": factor,
                    "sizes": size_label(kwargs),
                    "method": _label(k),
                    "se": v,
                    "pct_wmmse": 100 * v / max(mean["wmmse"], 1e-12),
                    "networks": n,
                }
                for k, v in mean.items()
            ]
        return records

    def finish(self) -> dict[str, Any]:
        rows = self.evaluate(self.cfg.final_eval_networks, seed=int(batch_rng(self.seed, 3).integers(2**31)))
        names = [k for k in rows[0] if k not in ("return", "length", "pct_wmmse")]
        mean = {k: float(np.mean([r[k] for r in rows])) for k in ["return", *names]}
        lines = [f"| method | {self.objective} SE (bit/s/Hz) | % of WMMSE |", "|---|---|---|"]
        for k in ["return", *names]:
            lines.append(f"| {_cell(_label(k))} | {mean[k]:.3f} | {100 * mean[k] / mean['wmmse']:.1f} |")
        header = (
            f"ICGNN on {self.env_factory.id}, {len(rows)} test networks, {self.num_steps} training steps\n\n"
        )
        sizes = self.se_vs_size(mean, len(rows))
        return {
            "mean": mean,
            "pct_wmmse": 100 * mean["return"] / mean["wmmse"],
            "se_vs_size": sizes,
            "markdown": header + "\n".join(lines) + _size_table(sizes, self.objective),
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


def _label(key: str) -> str:
    return {"return": "ICGNN", "wmmse": "WMMSE"}.get(key, key)


def _cell(text: str) -> str:
    """A markdown table cell (baseline names such as ``ρmax/|D_l|`` hold pipes)."""
    return text.replace("|", "\\|")


def _size_table(records: list[dict[str, Any]], objective_name: str) -> str:
    """Markdown: one row per size, WMMSE's SE and every method as % of WMMSE (the benchmark's layout)."""
    if not records:
        return ""
    methods = list(dict.fromkeys(r["method"] for r in records))
    by_size: dict[int, dict[str, dict[str, Any]]] = {}
    for r in records:
        by_size.setdefault(r["factor"], {})[r["method"]] = r
    others = [m for m in methods if m != "WMMSE"]
    lines = [
        f"\n\n{objective_name} SE vs network size (% of WMMSE on the same networks):\n",
        "| size (networks) | WMMSE SE | " + " | ".join(f"{_cell(m)} %" for m in others) + " |",
        "|---" * (len(others) + 2) + "|",
    ]
    for factor, row in by_size.items():
        first = next(iter(row.values()))
        pct = " | ".join(f"{row[m]['pct_wmmse']:.1f}" for m in others)
        lines.append(
            f"| {factor}x {first['sizes']} ({first['networks']}) | {row['WMMSE']['se']:.3f} | {pct} |"
        )
    return "\n".join(lines)
