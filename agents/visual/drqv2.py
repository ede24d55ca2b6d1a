"""DrQ-v2 (Yarats et al. 2021, "Mastering Visual Continuous Control"): pixels or state, vector envs.

DDPG actor with a scheduled exploration std, twin critics with n-step returns and target networks, a conv
encoder trained by the critic loss only, random-shift augmentation (pad 4) of obs and next_obs. Provenance:
facebookresearch/drqv2 @ c0c650b ``drqv2.py`` (``DrQV2Agent.update_critic`` / ``update_actor``) and
``train.py`` (seed frames, exploration steps, update every 2 steps). With ``obs=state`` the encoder is the
identity and no augmentation is applied (the state-based variant). With ``pixels+state`` the conv features
and the state vector are concatenated.

Differences from the official code, all deliberate: the environments are a ``gymnasium`` vector env
(``env.num_envs`` streams; ``update_every_steps`` counts env steps over all streams); truncated episodes
are bootstrapped (the official buffer drops the last n−1 steps of each episode); the replay is in memory
(:mod:`agents.core.replay`). MENTOR (:mod:`agents.visual.mentor`) subclasses :class:`DrQV2` and overrides
:meth:`DrQV2.build_actor` and :meth:`DrQV2.update_actor` / :meth:`DrQV2.compute_target`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.core.base import Learner, LearnerConfig
from agents.core.env_factory import EnvFactory
from agents.core.replay import ReplayBuffer
from agents.core.seeding import derive_seed, generator_state, set_generator_state
from policies.vision import Actor, Critic, Encoder, RandomShiftsAug, schedule


@dataclass
class DrQV2Config(LearnerConfig):
    """DrQ-v2 hyperparameters (defaults: the paper's / ``cfgs/config.yaml``; steps are env steps after
    action repeat)."""

    _target_: str = "agents.visual.drqv2.DrQV2"
    name: str = "drqv2"
    lr: float = 1e-4
    feature_dim: int = 50
    hidden_dim: int = 1024
    critic_target_tau: float = 0.01
    update_every_steps: int = 2
    num_seed_steps: int = 2000  # 4000 frames at action repeat 2: no updates before
    num_expl_steps: int = 2000  # uniform random actions before
    # used by std_rule=schedule|awake
    stddev_schedule: str = "linear(1.0,0.1,500000)"
    stddev_clip: float = 0.3
    # Meta-World preset: annealed 10 -> 3 instead (nstep_anneal)
    nstep: int = 3
    # Meta-World preset: annealed 0.97 -> 0.997 instead
    discount: float = 0.99
    batch_size: int = 256
    replay_capacity: int = 1_000_000
    augmentation_pad: int = 4
    channels_last: bool = True  # faster convs on CPU (docs/robotics.md, benchmarks.drqv2_speed)
    log_every: int = 1000  # env steps between train/ metric dicts
    # pixels+state: the state through its own MLP added to the trunk features (MENTOR Adroit)
    proprio_encoder: bool = (
        False  # pixels+state: state through its own MLP added to the trunk (MENTOR Adroit)
    )


class DrQV2(Learner):
    """DrQ-v2 on ``env.num_envs`` environments (pixels, state or pixels+state observations)."""

    Config = DrQV2Config
    observation_spaces = ("image", "vector", "dict")
    action_spaces = ("box",)

    def __init__(self, cfg: DrQV2Config, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        self.envs = self._make_vector_env(derive_seed(seed, "train"))
        obs_space, act_space = self.envs.single_observation_space, self.envs.single_action_space
        if (
            not isinstance(act_space, gym.spaces.Box)
            or np.any(act_space.low != -1)
            or np.any(act_space.high != 1)
        ):
            raise ValueError(
                f"DrQ-v2 needs Box actions in [-1, 1], got {act_space}; rescale the env's actions"
            )
        self.obs_space, self.action_dim = obs_space, int(act_space.shape[0])
        self.num_envs = self.envs.num_envs
        self.pixels = isinstance(obs_space, gym.spaces.Dict) or len(obs_space.shape) == 3
        try:  # frames = env steps × action repeat (our robotics envs expose it; others repeat nothing)
            self.action_repeat = int(self.envs.get_attr("action_repeat")[0])
        except AttributeError:
            self.action_repeat = 1

        self.encoder = Encoder(obs_space).to(device)
        self.actor = self.build_actor(self.encoder.repr_dim).to(device)
        self.critic = self.build_critic(self.encoder.repr_dim).to(device)
        self.critic_target = copy.deepcopy(self.critic)
        self.critic_target.requires_grad_(False)
        if cfg.channels_last and self.encoder.conv is not None:
            self.encoder.to(memory_format=torch.channels_last)
        self.encoder_opt = torch.optim.Adam(self.encoder.parameters(), lr=cfg.lr) if self.pixels else None
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr)
        self.aug = RandomShiftsAug(cfg.augmentation_pad)

        pixel_space = obs_space["pixels"] if isinstance(obs_space, gym.spaces.Dict) else obs_space
        state_space = obs_space["state"] if isinstance(obs_space, gym.spaces.Dict) else obs_space
        self.replay = ReplayBuffer(
            cfg.replay_capacity,
            self.num_envs,
            self.action_dim,
            frame_shape=(3, *pixel_space.shape[1:]) if self.pixels else None,
            frame_stack=pixel_space.shape[0] // 3 if self.pixels else 1,
            state_dim=int(state_space.shape[0]) if self.encoder.state_dim else None,
            nstep=cfg.nstep,
            discount=cfg.discount,
            seed=derive_seed(seed, "replay"),
        )
        self.rng = np.random.default_rng(derive_seed(seed, "explore"))
        self.num_updates = 0
        self._update_credit = 0.0
        self._reset_envs(derive_seed(seed, "train", "reset"))

    # -- pluggable parts (MENTOR overrides these) ---------------------------------------------------------
    def build_actor(self, repr_dim: int) -> nn.Module:
        """The actor network; MENTOR returns an actor with a mixture-of-experts middle layer."""
        return Actor(
            repr_dim,
            self.action_dim,
            self.cfg.feature_dim,
            self.cfg.hidden_dim,
            state_dim=self.fused_state_dim,
        )

    def build_critic(self, repr_dim: int) -> nn.Module:
        """The twin-Q critic; MENTOR adds Dropout + LayerNorm on Meta-World."""
        return Critic(
            repr_dim,
            self.action_dim,
            self.cfg.feature_dim,
            self.cfg.hidden_dim,
            state_dim=self.fused_state_dim,
        )

    @property
    def fused_state_dim(self) -> int:
        """State entries the trunks fuse through their own MLP (``proprio_encoder`` with pixels+state),
        else 0."""
        both = self.encoder.conv is not None and self.encoder.state_dim > 0
        return self.encoder.state_dim if self.cfg.proprio_encoder and both else 0

    def stddev(self) -> float:
        """Exploration std at the current step (DrQ-v2 ``stddev_schedule``)."""
        return schedule(self.cfg.stddev_schedule, self.num_steps)

    # -- environments -------------------------------------------------------------------------------------
    def _make_vector_env(self, seed: int) -> gym.vector.VectorEnv:
        thunks = self.env_factory.make_thunks(seed)
        mode = gym.vector.AutoresetMode.SAME_STEP  # final obs arrives with the done step
        if self.env_factory.cfg.vectorization == "async":  # fork hangs with MuJoCo rendering: spawn
            return gym.vector.AsyncVectorEnv(thunks, context="spawn", autoreset_mode=mode)
        return gym.vector.SyncVectorEnv(thunks, autoreset_mode=mode)

    def _reset_envs(self, seed: int) -> None:
        self.obs, _ = self.envs.reset(seed=seed)
        self.replay.start(self.obs)
        self.episode_return = np.zeros(self.num_envs)
        self.episode_length = np.zeros(self.num_envs, np.int64)

    def on_segment_end(self, segment: int) -> None:
        """Vector-env state is not checkpointed: restart episodes identically after a save or a resume."""
        self._reset_envs(derive_seed(self.seed, "segment", segment))

    # -- acting -------------------------------------------------------------------------------------------
    def _to_torch(self, obs: Any) -> dict[str, torch.Tensor]:
        """Batched numpy observations → dict of float tensors on the device."""
        if not isinstance(obs, dict):
            obs = {"pixels": obs} if self.pixels else {"state": obs}
        out = {k: torch.as_tensor(np.asarray(v), device=self.device).float() for k, v in obs.items()}
        if "pixels" in out and self.cfg.channels_last:
            out["pixels"] = out["pixels"].contiguous(memory_format=torch.channels_last)
        return out

    @torch.no_grad()
    def _policy(self, obs: Any, deterministic: bool) -> np.ndarray:
        dist = self.actor(self.encoder(self._to_torch(obs)), self.stddev())
        action = dist.mean if deterministic else dist.sample(clip=None)
        return action.cpu().numpy()

    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Action for one observation (mean action when ``deterministic``)."""
        batched = (
            {k: np.asarray(v)[None] for k, v in obs.items()}
            if isinstance(obs, dict)
            else np.asarray(obs)[None]
        )
        return self._policy(batched, deterministic)[0]

    # -- training -----------------------------------------------------------------------------------------
    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        """Collect with ``num_envs`` envs and update every ``update_every_steps`` env steps after the seed
        phase."""
        cfg = self.cfg
        start, start_steps, start_updates = time.perf_counter(), self.num_steps, self.num_updates
        next_log = (self.num_steps // cfg.log_every + 1) * cfg.log_every
        metrics: dict[str, float] = {}
        while self.num_steps < step:
            if self.num_steps < cfg.num_expl_steps:
                action = self.rng.uniform(-1.0, 1.0, (self.num_envs, self.action_dim)).astype(np.float32)
            else:
                action = self._policy(self.obs, deterministic=False)
            next_obs, reward, terminated, truncated, info = self.envs.step(action)
            final_obs = self._final_obs(next_obs, info, terminated | truncated)
            self.replay.add(action, reward, terminated, truncated, next_obs, final_obs)
            self.obs = next_obs
            self.num_steps += self.num_envs
            self.episode_return += reward
            self.episode_length += 1
            for e in np.flatnonzero(terminated | truncated):
                yield self._episode_metrics(e, info)
            if self.num_steps >= cfg.num_seed_steps:
                self._update_credit += self.num_envs / cfg.update_every_steps
                while self._update_credit >= 1.0:
                    self._update_credit -= 1.0
                    metrics = self.update()
            if self.num_steps >= next_log or self.num_steps >= step:
                next_log = (self.num_steps // cfg.log_every + 1) * cfg.log_every
                elapsed = max(time.perf_counter() - start, 1e-9)
                yield {
                    **metrics,
                    "charts/stddev": self.stddev(),
                    "charts/env_steps_per_s": (self.num_steps - start_steps) / elapsed,
                    "charts/frames_per_s": (self.num_steps - start_steps) * self.action_repeat / elapsed,
                    "charts/updates_per_s": (self.num_updates - start_updates) / elapsed,
                    "charts/updates": float(self.num_updates),
                    "charts/replay_size": float(len(self.replay)),
                }

    def _final_obs(self, next_obs: Any, info: dict[str, Any], done: np.ndarray) -> Any:
        """True last observations of ended episodes, batched like ``next_obs`` (SAME_STEP autoreset)."""
        if not done.any():
            return None
        finals = info["final_obs"]
        if isinstance(next_obs, dict):
            out = {k: np.array(v, copy=True) for k, v in next_obs.items()}
            for e in np.flatnonzero(done):
                for k in out:
                    out[k][e] = finals[e][k]
            return out
        out = np.array(next_obs, copy=True)
        for e in np.flatnonzero(done):
            out[e] = finals[e]
        return out

    def _episode_metrics(self, e: int, info: dict[str, Any]) -> dict[str, float]:
        out = {
            "train/episode_return": float(self.episode_return[e]),
            "train/episode_length": float(self.episode_length[e]),
        }
        final_info = info.get("final_info", {})
        if "is_success" in final_info and final_info.get("_is_success", np.ones(self.num_envs, bool))[e]:
            out["train/success"] = float(final_info["is_success"][e])
        self.episode_return[e], self.episode_length[e] = 0.0, 0
        return out

    def update(self) -> dict[str, float]:
        """One DrQ-v2 update from a replay batch: critic (+ encoder), actor, target networks."""
        batch = self.replay.sample(self.cfg.batch_size)
        obs, next_obs = self._to_torch(batch["obs"]), self._to_torch(batch["next_obs"])
        action = torch.as_tensor(batch["action"], device=self.device)
        reward = torch.as_tensor(batch["reward"], device=self.device).unsqueeze(-1)
        discount = torch.as_tensor(batch["discount"], device=self.device).unsqueeze(-1)
        if self.pixels:  # independent random shifts of obs and next_obs (DrQ-v2 Sec. 3.1)
            obs["pixels"], next_obs["pixels"] = self.aug(obs["pixels"]), self.aug(next_obs["pixels"])
        h = self.encoder(obs)
        with torch.no_grad():
            next_h = self.encoder(next_obs)
        metrics = self.update_critic(h, action, reward, discount, next_h)
        metrics.update(self.update_actor(h.detach()))
        self.soft_update_target()
        self.num_updates += 1
        return metrics

    def compute_target(
        self, reward: torch.Tensor, discount: torch.Tensor, next_h: torch.Tensor
    ) -> torch.Tensor:
        """y = r^(n) + γ^n · min_i Q̄_i(s', a'),  a' ~ clip(π(s') + clip(ε)) (DrQ-v2 Eq. 3-4)."""
        with torch.no_grad():
            next_action = self.actor(next_h, self.stddev()).sample(clip=self.cfg.stddev_clip)
            target_q1, target_q2 = self.critic_target(next_h, next_action)
            return reward + discount * torch.min(target_q1, target_q2)

    def update_critic(
        self,
        h: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        discount: torch.Tensor,
        next_h: torch.Tensor,
    ) -> dict[str, float]:
        target_q = self.compute_target(reward, discount, next_h)
        q1, q2 = self.critic(h, action)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        if self.encoder_opt is not None:
            self.encoder_opt.zero_grad(set_to_none=True)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        if self.encoder_opt is not None:
            self.encoder_opt.step()
        return {
            "losses/critic_loss": critic_loss.item(),
            "losses/critic_q1": q1.mean().item(),
            "losses/critic_target_q": target_q.mean().item(),
        }

    def update_actor(self, h: torch.Tensor) -> dict[str, float]:
        """DDPG actor loss −min_i Q_i(s, a), a ~ clip(π(s) + clip(ε)) on detached features (DrQ-v2 Eq. 5)."""
        dist = self.actor(h, self.stddev())
        action = dist.sample(clip=self.cfg.stddev_clip)
        q1, q2 = self.critic(h, action)
        actor_loss = -torch.min(q1, q2).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_opt.step()
        return {"losses/actor_loss": actor_loss.item()}

    @torch.no_grad()
    def soft_update_target(self) -> None:
        """θ̄ ← τθ + (1 − τ)θ̄ (τ = ``critic_target_tau``)."""
        for param, target in zip(self.critic.parameters(), self.critic_target.parameters(), strict=True):
            target.lerp_(param, self.cfg.critic_target_tau)

    # -- state --------------------------------------------------------------------------------------------
    def _modules(self) -> dict[str, Any]:
        mods = {
            "encoder": self.encoder,
            "actor": self.actor,
            "critic": self.critic,
            "critic_target": self.critic_target,
            "actor_opt": self.actor_opt,
            "critic_opt": self.critic_opt,
        }
        if self.encoder_opt is not None:
            mods["encoder_opt"] = self.encoder_opt
        return mods

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizers, counters, RNGs and replay counters (the replay data is in :meth:`arrays`)."""
        return {
            **{name: m.state_dict() for name, m in self._modules().items()},
            "num_steps": self.num_steps,
            "num_updates": self.num_updates,
            "update_credit": self._update_credit,
            "rng": generator_state(self.rng),
            "replay": self.replay.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, module in self._modules().items():
            module.load_state_dict(state[name])
        self.num_steps, self.num_updates = int(state["num_steps"]), int(state["num_updates"])
        self._update_credit = float(state["update_credit"])
        set_generator_state(self.rng, state["rng"])
        self.replay.load_state_dict(state["replay"])

    def arrays(self) -> dict[str, np.ndarray]:
        return self.replay.arrays()

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.replay.load_arrays(arrays)

    def finish(self) -> dict[str, Any]:
        return {"num_updates": self.num_updates, "replay_transitions": len(self.replay)}

    def close(self) -> None:
        self.envs.close()
