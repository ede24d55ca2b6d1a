"""Stable-Baselines3 baselines (PPO, A2C, SAC, TD3) driven by pgsuite's run machinery.

SB3's own ``learn()`` is replaced by the same collect → train loop run segment by segment, so these agents
get pgsuite's CLI, run directory, logging, evaluation protocol and exact resume. Checkpoints hold the
policy, every optimizer, SB3's counters, ``VecNormalize`` statistics (resuming without them silently
changes the policy's inputs) and, for off-policy algorithms, the replay buffer as NumPy arrays — never SB3's
pickled ``.zip``, which could run
code when loaded. The replay buffer is saved only up to its filled size, compressed, and only in
``checkpoints/last`` (step checkpoints keep weights and optimizers; issue 20), and metrics are yielded every
``run.log_every`` env steps rather than every step.

At each checkpoint boundary the training envs are reset with seeds derived from the segment index
(:meth:`SB3Learner.on_segment_end`); the episode in progress is cut there with a bootstrapped value, which is
what makes a resumed run identical to an uninterrupted one without pickling environment state.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger as SB3Logger
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

from agents.core.base import Learner, LearnerConfig
from agents.core.config import ConfigError
from agents.core.env_factory import EnvFactory
from agents.core.seeding import derive_seed
from agents.core.validate import check_choice, check_kwargs

ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C, "sac": SAC, "td3": TD3}
# Action spaces each algorithm supports (SB3 docs, "RL Algorithms" table).
_ACTION_SPACES: dict[str, tuple[type[gym.Space], ...]] = {
    "ppo": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "a2c": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "sac": (gym.spaces.Box,),
    "td3": (gym.spaces.Box,),
}
# Constructor arguments pgsuite sets itself.
_MANAGED = {"policy", "env", "seed", "device", "verbose", "_init_setup_model", "tensorboard_log"}


def check_hyperparams(algo: str, hyperparams: dict[str, Any]) -> None:
    """Unknown keys of ``agent.hyperparams`` (checked against the SB3 algorithm's signature) → ConfigError."""
    params = set(inspect.signature(ALGOS[algo].__init__).parameters) - {"self", "kwargs"}
    managed = sorted(set(hyperparams) & _MANAGED)
    if managed:
        raise ConfigError(
            f"agent.hyperparams.{managed[0]} is set by pgsuite; remove it (use {managed[0]}=...)"
        )
    check_kwargs(ALGOS[algo].__name__, hyperparams, params - _MANAGED, "agent.hyperparams.")


@dataclass
class SB3Config(LearnerConfig):
    """Config of an SB3 agent (``conf/agent/sb3-*.yaml``).

    Attributes:
        algo: ``ppo``, ``a2c``, ``sac`` or ``td3``.
        policy: SB3 policy name; ``auto`` picks ``MultiInputPolicy`` for Dict observations, else ``MlpPolicy``
            (``CnnPolicy`` for uint8 images).
        hyperparams: keyword arguments of the SB3 algorithm (``learning_rate``, ``n_steps``...).
        normalize: wrap the training envs in ``VecNormalize`` (statistics are checkpointed).
        normalize_kwargs: ``VecNormalize`` arguments (``norm_obs``, ``norm_reward``, ``clip_obs``...).
        action_noise_std: std of Gaussian action noise (TD3/SAC), 0 for none.
    """

    algo: str = "ppo"
    policy: str = "auto"
    hyperparams: dict[str, Any] = field(default_factory=dict)
    normalize: bool = False
    normalize_kwargs: dict[str, Any] = field(default_factory=dict)
    action_noise_std: float = 0.0


class _EpisodeStats(BaseCallback):
    """Collects finished training episodes (return, length, success) between two yields."""

    def __init__(self) -> None:
        super().__init__()
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.successes: list[float] = []

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done and "episode" in info:
                self.returns.append(float(info["episode"]["r"]))
                self.lengths.append(int(info["episode"]["l"]))
                if "is_success" in info:
                    self.successes.append(float(info["is_success"]))
        return True

    def pop(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.returns:
            out["train/episode_return"] = float(np.mean(self.returns))
            out["train/episode_length"] = float(np.mean(self.lengths))
            out["train/episodes"] = float(len(self.returns))
        if self.successes:
            out["train/success_rate"] = float(np.mean(self.successes))
        self.returns, self.lengths, self.successes = [], [], []
        return out


class SB3Learner(Learner):
    """An SB3 algorithm as a pgsuite :class:`~agents.core.base.Learner` (see module docstring)."""

    Config = SB3Config
    observation_spaces = ("vector", "image", "dict", "box")

    @classmethod
    def accepted_spaces(cls, cfg: Any) -> dict[str, tuple[str, ...]]:
        """SAC and TD3 act in continuous (``box``) action spaces only; PPO and A2C in any SB3 supports."""
        off_policy = (cfg or {}).get("algo") in ("sac", "td3")
        actions = ("box",) if off_policy else ("box", "discrete", "multi-discrete", "multi-binary")
        return {"env": ("gym",), "observation": cls.observation_spaces, "action": actions}

    def __init__(self, cfg: SB3Config, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        check_choice("agent.algo", cfg.algo, ALGOS)
        check_hyperparams(cfg.algo, cfg.hyperparams)
        if env.cfg.kind != "gym":
            raise ConfigError(
                f"SB3 agents train single-agent gymnasium envs; {env.id} is a {env.cfg.kind} env: "
                f"use the env's default agent"
            )
        probe = env.make()
        action_space = probe.action_space
        probe.close()
        if not isinstance(action_space, _ACTION_SPACES[cfg.algo]):
            raise ConfigError(
                f"agent.algo={cfg.algo} needs a {' or '.join(t.__name__ for t in _ACTION_SPACES[cfg.algo])} "
                f"action space; {env.id} has {action_space}: use agent=sb3-ppo or agent=sb3-a2c"
            )
        thunks = [_monitored(t) for t in env.make_thunks(seed)]
        venv = (
            SubprocVecEnv(thunks, start_method="spawn")
            if env.cfg.vectorization == "async"
            else DummyVecEnv(thunks)
        )
        if cfg.normalize:
            venv = VecNormalize(venv, **cfg.normalize_kwargs)
        self.venv = venv
        algo_cls = ALGOS[cfg.algo]
        kwargs = dict(cfg.hyperparams)
        if cfg.action_noise_std > 0:
            if cfg.algo not in ("sac", "td3"):
                raise ValueError("agent.action_noise_std applies to sac and td3 only")
            n = int(np.prod(venv.action_space.shape))
            kwargs["action_noise"] = NormalActionNoise(np.zeros(n), cfg.action_noise_std * np.ones(n))
        self.model: BaseAlgorithm = algo_cls(
            _policy_name(cfg.policy, venv.observation_space),
            venv,
            seed=seed,
            device=device,
            verbose=0,
            **kwargs,
        )
        self.model.set_logger(SB3Logger(folder=None, output_formats=[]))
        self._stats = _EpisodeStats()
        self._callback: BaseCallback | None = None

    @property
    def on_policy(self) -> bool:
        return isinstance(self.model, OnPolicyAlgorithm)

    @property
    def warmup_steps(self) -> int:
        """Env steps of random collection before updates (``learning_starts``; 0 on-policy)."""
        return 0 if self.on_policy else int(self.model.learning_starts)

    @property
    def arrays_in_steps(self) -> bool:
        """Off-policy: the replay buffer goes into ``checkpoints/last`` only (the runtime reads this)."""
        return self.on_policy

    def _setup(self) -> None:
        if self._callback is None:
            total = max((self.total_steps or self.model.num_timesteps + 1) - self.model.num_timesteps, 1)
            _, self._callback = self.model._setup_learn(total, self._stats, reset_num_timesteps=False)
            self._callback.on_training_start(locals(), globals())

    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        self._setup()
        model, callback = self.model, self._callback
        log_every = int(getattr(self, "log_every", 1000))
        next_log = (model.num_timesteps // log_every + 1) * log_every
        pending: dict[str, float] = {}
        while model.num_timesteps < step:
            if isinstance(model, OnPolicyAlgorithm):
                model.collect_rollouts(
                    model.env, callback, model.rollout_buffer, n_rollout_steps=model.n_steps
                )
                model._update_current_progress_remaining(model.num_timesteps, model._total_timesteps)
                model.train()
            else:
                rollout = model.collect_rollouts(
                    model.env,
                    train_freq=model.train_freq,
                    action_noise=model.action_noise,
                    callback=callback,
                    learning_starts=model.learning_starts,
                    replay_buffer=model.replay_buffer,
                    log_interval=None,
                )
                if model.num_timesteps > 0 and model.num_timesteps > model.learning_starts:
                    gradient_steps = (
                        model.gradient_steps if model.gradient_steps >= 0 else rollout.episode_timesteps
                    )
                    if gradient_steps > 0:
                        model.train(batch_size=model.batch_size, gradient_steps=gradient_steps)
            self.num_steps = model.num_timesteps
            pending.update(self._pop_sb3_metrics())
            if self.num_steps >= next_log or self.num_steps >= step:
                next_log = (self.num_steps // log_every + 1) * log_every
                yield {**self._stats.pop(), **pending}
                pending = {}

    def _pop_sb3_metrics(self) -> dict[str, float]:
        logger = self.model.logger
        out = {}
        for key, value in logger.name_to_value.items():
            name = key.split("/", 1)[-1]
            if isinstance(value, (int, float, np.floating, np.integer)):
                out[f"losses/{name}" if key.startswith("train/") else f"charts/{name}"] = float(value)
        logger.name_to_value.clear()
        logger.name_to_count.clear()
        logger.name_to_excluded.clear()
        return out

    def on_segment_end(self, segment: int) -> None:
        if self._callback is None:
            self.model._last_obs = np.zeros(0)  # placeholder: keep _setup_learn from resetting the envs
            self._setup()
        self.venv.seed(derive_seed(self.seed, "segment", segment))
        self.model._last_obs = self.venv.reset()
        self.model._last_episode_starts = np.ones((self.venv.num_envs,), dtype=bool)
        if isinstance(self.venv, VecNormalize):
            self.model._last_original_obs = self.venv.get_original_obs()

    def act(self, obs: Any, deterministic: bool = True) -> Any:
        if isinstance(self.venv, VecNormalize):
            obs = self.venv.normalize_obs(obs)
        action, _ = self.model.predict(obs, deterministic=deterministic)
        return action

    # -- state --------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        model = self.model
        modules, variables = model._get_torch_save_params()
        state: dict[str, Any] = {
            "modules": {name: _getattr(model, name).state_dict() for name in modules},
            "variables": {name: _getattr(model, name).detach().clone() for name in variables},
            "num_timesteps": model.num_timesteps,
            "n_updates": int(getattr(model, "_n_updates", 0)),
            "episode_num": int(model._episode_num),
        }
        if isinstance(self.venv, VecNormalize):
            state["vecnormalize"] = _rms_state(self.venv)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        model = self.model
        for name, sd in state["modules"].items():
            _getattr(model, name).load_state_dict(sd)
        for name, value in state["variables"].items():
            with torch.no_grad():
                _getattr(model, name).copy_(value)
        model.num_timesteps = self.num_steps = int(state["num_timesteps"])
        model._n_updates = int(state["n_updates"])
        model._episode_num = int(state["episode_num"])
        if "vecnormalize" in state:
            if not isinstance(self.venv, VecNormalize):
                raise ValueError("checkpoint has VecNormalize statistics but agent.normalize is false")
            _load_rms_state(self.venv, state["vecnormalize"])

    def arrays(self) -> dict[str, np.ndarray]:
        """The replay buffer's filled slots (``pos``/``full`` and one array per field)."""
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is None:
            return {}
        filled = buffer.buffer_size if buffer.full else buffer.pos
        out: dict[str, np.ndarray] = {"pos": np.array(buffer.pos), "full": np.array(buffer.full)}
        for key in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
            value = getattr(buffer, key, None)
            if isinstance(value, dict):
                out.update({f"{key}/{k}": v[:filled] for k, v in value.items()})
            elif value is not None:
                out[key] = value[:filled]
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is None or not arrays:
            return
        buffer.pos, buffer.full = int(arrays["pos"]), bool(arrays["full"])
        for name, value in arrays.items():
            if name in ("pos", "full"):
                continue
            if "/" in name:
                key, sub = name.split("/", 1)
                getattr(buffer, key)[sub][: len(value)] = value
            else:
                getattr(buffer, name)[: len(value)] = value

    def close(self) -> None:
        self.venv.close()


def _monitored(thunk: Any) -> Any:
    def make() -> gym.Env:
        return Monitor(thunk())

    return make


def _policy_name(policy: str, space: gym.Space) -> str:
    if policy != "auto":
        return policy
    if isinstance(space, gym.spaces.Dict):
        return "MultiInputPolicy"
    if isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3:
        return "CnnPolicy"
    return "MlpPolicy"


def _getattr(obj: Any, dotted: str) -> Any:
    return reduce(getattr, dotted.split("."), obj)


def _rms_state(venv: VecNormalize) -> dict[str, Any]:
    def one(rms: Any) -> dict[str, Any]:
        return {"mean": torch.as_tensor(rms.mean), "var": torch.as_tensor(rms.var), "count": float(rms.count)}

    obs = (
        {k: one(v) for k, v in venv.obs_rms.items()} if isinstance(venv.obs_rms, dict) else one(venv.obs_rms)
    )
    return {"obs_rms": obs, "ret_rms": one(venv.ret_rms), "returns": torch.as_tensor(venv.returns)}


def _load_rms_state(venv: VecNormalize, state: dict[str, Any]) -> None:
    def load(rms: Any, s: dict[str, Any]) -> None:
        rms.mean, rms.var, rms.count = s["mean"].numpy().copy(), s["var"].numpy().copy(), s["count"]

    if isinstance(venv.obs_rms, dict):
        for k, v in venv.obs_rms.items():
            load(v, state["obs_rms"][k])
    else:
        load(venv.obs_rms, state["obs_rms"])
    load(venv.ret_rms, state["ret_rms"])
    venv.returns = state["returns"].numpy().copy()
