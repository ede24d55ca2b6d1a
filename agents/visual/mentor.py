"""MENTOR (Huang et al. 2025, arXiv 2410.14972): DrQ-v2 + DrM + a mixture-of-experts actor + task-oriented
perturbation.

Built on :class:`agents.visual.drqv2.DrQV2` (pixels, state or pixels+state). On top of DrQ-v2 (provenance:
suninghuang19/mentor @ f4fa81f ``agents/mentor*.py``, XuGW-Kevin/DrM ``agents/drm*.py``):

* **MoE actor** (``backbone: moe``): :class:`policies.moe.MoEActor`; the auxiliary balance + entropy loss is
  added to the actor loss times ``aux_loss_coef`` (applied, unlike the official code). ``backbone: mlp`` is
  the
  w/o-MoE ablation (the plain DrQ-v2 actor). ``moe_dispatch: sparse`` runs only the top-k experts per input
  (same output as the released dense compute, issue 16).
* **Dormant ratio** β of the actor, measured on every actor-update batch (:class:`DormantMeter`).
* **Exploration std** (``std_rule``): ``dormant`` (released MENTOR) σ = s·sigmoid(T(β − β*)), s = 0.8 (DMC) or
  1.0 (Meta-World, Adroit); ``awake`` (DrM) max(σ_dormant, schedule(t − t_awake)); ``schedule`` (DrQ-v2).
* **Exploitation target** (DrM): V(s) by expectile regression on min Q̄; critic target
  r + γⁿ[λV(s') + (1−λ)min Q̄(s', a')], λ = 0.5 constant on Meta-World, λ*/(1 + e^{50(β−0.2)}) elsewhere.
* **Perturbation** every ``perturb_interval`` updates: θ ← αθ + (1−α)φ, α = clip(1 − 2β, 0.2, α_max), φ from
  the top-10-return Gaussian (``task``), a fresh init (``random``, DrM), or nothing (``none``); Adam reset.
* **Meta-World n-step / γ**: the intended annealing n = ⌊3 + 7e^{−t/1e6}⌋, γ = 0.997 − 0.02e^{−t/5e5} −
  0.007e^{−t/1.6e6} (t in frames) is applied to the replay before every update; the official code never calls
  it (so it ran n = 10, γ = 0.97 throughout).
* **Meta-World critic**: Dropout(0.01)+LayerNorm after each hidden Linear (``build_critic``).
* **Adroit**: frame stack 1 and the 24-d hand proprioception fused by a state MLP (``proprio_encoder``).

Per-family and per-task values are not guessed from the env id: they come from the env yamls'
``agent_presets.mentor`` (``scripts/gen_robotics_configs.py``; table in docs/mentor.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.core.env_factory import EnvFactory
from agents.visual.drqv2 import DrQV2, DrQV2Config
from agents.visual.perturb import (
    DormantMeter,
    TopKBuffer,
    interpolate_,
    perturb_factor,
    random_target,
    reset_optimizer,
    task_target,
)
from policies.moe import MoE, MoEActor
from policies.vision import Actor, Critic, ValueNet, schedule, weight_init


@dataclass
class MentorConfig(DrQV2Config):
    """MENTOR hyperparameters. Defaults are the official DMC agent (``cfgs/agent/mentor.yaml``); the
    Meta-World and Adroit values (``mentor_mw.yaml``, ``mentor_adroit.yaml``) and the per-task DMC ones come
    from the env yamls' ``agent_presets.mentor`` (docs/mentor.md, "Settings per family")."""

    _target_: str = "agents.visual.mentor.Mentor"
    name: str = "mentor"
    backbone: str = "moe"  # moe | mlp
    num_experts: int = 16
    top_k: int = 4
    moe_hidden_dim: int = 256
    moe_gate_dim: int = 256
    moe_dropout: float = 0.1
    moe_dispatch: str = "sparse"  # sparse (selected experts only) | dense (all experts, as released)
    aux_loss_coef: float = 0.002  # official aux_loss_scale (computed but unused there)
    actor_grad_clip: float | None = 0.001  # official clip_grad_norm_(actor, 0.001); None = off
    dormant_threshold: float = 0.025
    target_dormant_ratio: float = 0.2
    dormant_temp: float = 10.0
    std_rule: str = "dormant"  # dormant | awake | schedule
    std_scale: float = 0.8  # σ = std_scale·sigmoid(T(β − β*)); 1.0 on Meta-World / Adroit
    exploit: bool = True  # DrM expectile-V target
    expectile: float = 0.9  # Adroit 0.7
    target_lambda: float = 0.6  # Meta-World 0.5
    lambda_rule: str = "dormant"  # dormant (DMC / Adroit) | constant (Meta-World)
    lambda_temp: float = 50.0
    perturb: str = "task"  # task | random | none
    perturb_interval: int = 10_000  # agent updates; 50,000 on Meta-World / Adroit
    perturb_rate: float = 2.0
    min_perturb_factor: float = 0.2
    max_perturb_factor: float = 1.0  # α_max: per task on DMC, 0.95 Meta-World, 0.9 Adroit
    tp_set_size: int = 10
    perturb_encoder: bool = False  # include the conv encoder (official: a no-op on convs)
    nstep_anneal: bool = False  # true on Meta-World (the intended, never-applied official annealing)
    critic_dropout: float = 0.0  # Dropout+LayerNorm in the critic's hidden layers (0.01 Meta-World)


class Mentor(DrQV2):
    """MENTOR learner (see module docstring); same CLI, envs and replay as DrQ-v2."""

    Config = MentorConfig

    def __init__(self, cfg: MentorConfig, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        choices = {
            "backbone": ("moe", "mlp"),
            "perturb": ("task", "random", "none"),
            "std_rule": ("dormant", "awake", "schedule"),
            "lambda_rule": ("dormant", "constant"),
            "moe_dispatch": ("sparse", "dense"),
        }
        for field, allowed in choices.items():
            if getattr(cfg, field) not in allowed:
                raise ValueError(f"agent.{field}={getattr(cfg, field)!r}: use one of {', '.join(allowed)}")
        super().__init__(cfg, env, seed, device)
        self.value = ValueNet(self.encoder.repr_dim, cfg.feature_dim, cfg.hidden_dim, self.fused_state_dim)
        self.value.to(device)
        self.value_opt = torch.optim.Adam(self.value.parameters(), lr=cfg.lr)
        self.topk = TopKBuffer(cfg.tp_set_size)
        self.dormant_ratio = 1.0  # DrM's initial value: σ ≈ scale until the first measurement
        self.awake_step = -1  # DrM "awake": first step after exploration with β < β*
        self.num_perturbations = 0
        self.last_alpha = 1.0
        self._anneal_replay()

    # -- networks and schedules -----------------------------------------------------------------------
    def build_critic(self, repr_dim: int) -> nn.Module:
        cfg = self.cfg
        return Critic(
            repr_dim,
            self.action_dim,
            cfg.feature_dim,
            cfg.hidden_dim,
            cfg.critic_dropout,
            self.fused_state_dim,
        )

    def build_actor(self, repr_dim: int) -> nn.Module:
        cfg = self.cfg
        if cfg.backbone == "mlp":
            return Actor(
                repr_dim, self.action_dim, cfg.feature_dim, cfg.hidden_dim, state_dim=self.fused_state_dim
            )
        moe = MoE(
            cfg.hidden_dim,
            cfg.num_experts,
            cfg.top_k,
            cfg.moe_hidden_dim,
            cfg.moe_gate_dim,
            cfg.moe_dropout,
            cfg.moe_dispatch,
        )
        return MoEActor(repr_dim, self.action_dim, cfg.feature_dim, cfg.hidden_dim, moe, self.fused_state_dim)

    def stddev(self) -> float:
        """σ from the dormant ratio (DrM / MENTOR), or the DrQ-v2 schedule (``std_rule``)."""
        cfg = self.cfg
        if cfg.std_rule == "schedule":
            return schedule(cfg.stddev_schedule, self.num_steps)
        dormant_std = cfg.std_scale / (
            1.0 + math.exp(-cfg.dormant_temp * (self.dormant_ratio - cfg.target_dormant_ratio))
        )
        if cfg.std_rule == "awake" and self.awake_step >= 0:
            return max(dormant_std, schedule(cfg.stddev_schedule, self.num_steps - self.awake_step))
        return dormant_std

    def exploit_lambda(self) -> float:
        """λ of the exploitation target: constant (Meta-World) or λ*/(1 + e^{T_λ(β − β*)}) (DrM)."""
        lam = self.cfg.target_lambda
        if self.cfg.lambda_rule == "constant":
            return lam
        x = self.cfg.lambda_temp * (self.dormant_ratio - self.cfg.target_dormant_ratio)
        return lam / (1.0 + math.exp(min(x, 50.0)))

    def _anneal_replay(self) -> None:
        """Meta-World: the intended n-step / γ annealing (t = frames), applied to the replay's sampler."""
        if not self.cfg.nstep_anneal:
            return
        t = self.num_steps * self.action_repeat
        self.replay.nstep = int(3 + 7 * math.exp(-t / 1e6))
        self.replay.discount = 0.997 - 0.02 * math.exp(-t / 5e5) - 0.007 * math.exp(-t / 1.6e6)

    # -- acting: dropout off (the official loop acts under ``eval_mode``) ---------------------------------
    def _policy(self, obs: Any, deterministic: bool) -> Any:
        self.actor.eval()
        try:
            return super()._policy(obs, deterministic)
        finally:
            self.actor.train()

    # -- updates --------------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        self._anneal_replay()
        metrics = super().update()
        if self.cfg.perturb != "none" and self.num_updates % self.cfg.perturb_interval == 0:
            metrics.update(self.perturb())
        metrics["charts/nstep"] = float(self.replay.nstep)
        metrics["charts/discount"] = float(self.replay.discount)
        metrics["charts/num_perturbations"] = float(self.num_perturbations)
        return metrics

    def compute_target(
        self, reward: torch.Tensor, discount: torch.Tensor, next_h: torch.Tensor
    ) -> torch.Tensor:
        """y = r + γⁿ[λV(s') + (1 − λ)min Q̄(s', a')] (DrM exploitation target); plain DrQ-v2 if not
        ``exploit``."""
        if not self.cfg.exploit:
            return super().compute_target(reward, discount, next_h)
        with torch.no_grad():
            next_action = self.actor(next_h, self.stddev()).sample(clip=self.cfg.stddev_clip)
            target_v = torch.min(*self.critic_target(next_h, next_action))
            lam = self.exploit_lambda()
            return reward + discount * (lam * self.value(next_h) + (1.0 - lam) * target_v)

    def update_critic(self, h, action, reward, discount, next_h) -> dict[str, float]:
        metrics = super().update_critic(h, action, reward, discount, next_h)
        if self.cfg.exploit:  # expectile regression of V on min Q̄(s, a) (DrM value_predictor, IQL-style)
            h = h.detach()
            with torch.no_grad():
                q = torch.min(*self.critic_target(h, action))
            err = self.value(h) - q
            weight = torch.where(err > 0, 1.0 - self.cfg.expectile, self.cfg.expectile)
            value_loss = (weight * err.pow(2)).mean()
            self.value_opt.zero_grad(set_to_none=True)
            value_loss.backward()
            self.value_opt.step()
            metrics.update(
                {"losses/value_loss": value_loss.item(), "charts/exploit_lambda": self.exploit_lambda()}
            )
        return metrics

    def update_actor(self, h: torch.Tensor) -> dict[str, float]:
        """DDPG actor loss + aux_loss_coef·MoE aux loss; measures the dormant ratio on this batch."""
        cfg = self.cfg
        with DormantMeter(self.actor, cfg.dormant_threshold) as meter:
            dist = self.actor(h, self.stddev())
        action = dist.sample(clip=cfg.stddev_clip)
        actor_loss = -torch.min(*self.critic(h, action)).mean()
        loss = actor_loss
        metrics: dict[str, float] = {}
        if isinstance(self.actor, MoEActor):
            loss = loss + cfg.aux_loss_coef * self.actor.aux_loss
            metrics["losses/aux_loss"] = self.actor.aux_loss.item()
            usage = self.actor.hidden.last_usage
            metrics.update({f"charts/expert_{i}_usage": float(u) for i, u in enumerate(usage)})
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.actor_grad_clip is not None:
            nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.actor_grad_clip)
        self.actor_opt.step()
        self.dormant_ratio = meter.ratio
        if cfg.std_rule == "awake" and self.awake_step < 0 and self.num_steps >= cfg.num_expl_steps:
            if self.dormant_ratio < cfg.target_dormant_ratio:
                self.awake_step = self.num_steps
        return {**metrics, "losses/actor_loss": actor_loss.item(), "charts/dormant_ratio": self.dormant_ratio}

    # -- perturbation ---------------------------------------------------------------------------------
    def _perturb_nets(self) -> dict[str, nn.Module]:
        nets = {"actor": self.actor, "critic": self.critic, "critic_target": self.critic_target}
        if self.cfg.exploit:
            nets["value"] = self.value
        if self.cfg.perturb_encoder and self.encoder.conv is not None:
            nets["encoder"] = self.encoder
        return nets

    def perturb(self) -> dict[str, float]:
        """θ ← αθ + (1 − α)φ for every Linear/Conv parameter, then reset Adam (MENTOR Sec. TP; DrM)."""
        cfg = self.cfg
        alpha = perturb_factor(
            self.dormant_ratio, cfg.perturb_rate, cfg.min_perturb_factor, cfg.max_perturb_factor
        )
        use_task = self.cfg.perturb == "task" and len(self.topk) > 0
        for name, net in self._perturb_nets().items():
            target = task_target(self.topk.stats(name)) if use_task else random_target(net, weight_init)
            interpolate_(net, target, alpha)
        for opt in (self.actor_opt, self.critic_opt, self.value_opt, self.encoder_opt):
            if opt is not None:
                reset_optimizer(opt)
        self.num_perturbations += 1
        self.last_alpha = alpha
        return {"charts/perturb_alpha": alpha, "charts/perturb_task_target": float(use_task)}

    def _episode_metrics(self, e: int, info: dict[str, Any]) -> dict[str, float]:
        episode_return = float(self.episode_return[e])
        if self.cfg.perturb == "task":  # S_top keeps the best training episodes' weights (``tp_set.add``)
            self.topk.add(episode_return, self._perturb_nets())
        out = super()._episode_metrics(e, info)
        if len(self.topk):
            out["train/top_k_min_return"] = self.topk.returns[-1]
        return out

    # -- state ----------------------------------------------------------------------------------------
    def _modules(self) -> dict[str, Any]:
        return {**super()._modules(), "value": self.value, "value_opt": self.value_opt}

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "top_k": self.topk.state_dict(),
            "dormant_ratio": self.dormant_ratio,
            "awake_step": self.awake_step,
            "num_perturbations": self.num_perturbations,
            "last_alpha": self.last_alpha,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.topk.load_state_dict(state["top_k"])
        self.dormant_ratio = float(state["dormant_ratio"])
        self.awake_step = int(state["awake_step"])
        self.num_perturbations = int(state["num_perturbations"])
        self.last_alpha = float(state["last_alpha"])
        self._anneal_replay()

    def finish(self) -> dict[str, Any]:
        out = {
            **super().finish(),
            "num_perturbations": self.num_perturbations,
            "dormant_ratio": self.dormant_ratio,
            "top_k_returns": self.topk.returns,
        }
        if isinstance(self.actor, MoEActor):
            out["expert_usage"] = [float(u) for u in self.actor.hidden.last_usage]
        return out
