"""A NumPy replay buffer that stores each frame once and builds frame stacks and n-step returns at sampling.

DrQ-v2 (``replay_buffer.py``) stores whole episodes of stacked 9×84×84 observations on disk and samples
them through DataLoader workers; users hit its memory use (drqv2 PR #17, #32; DrM #3). Here each of the
``num_envs`` streams is a ring of *slots*; a slot holds the newest frame (pixels, ``3×H×W``) and/or the state
vector of one observation, plus the action taken from it, the reward, ``terminated``, and the slot's step
index within its episode. An episode occupies consecutive slots ``obs_0 … obs_T`` where the last slot
(the final observation) has no action. Frame stacks are rebuilt from the previous ``frame_stack − 1``
slots, repeating the episode's first frame (as the envs do at reset).

n-step targets (DrQ-v2 Sec. 3.1): ``R = Σ_{i<m} γ^i r_{t+i}``, ``discount = γ^m`` (``0`` if the episode
*terminated* within the ``m`` steps) and ``next_obs = obs_{t+m}``, where ``m = n`` or fewer when the episode
was truncated (time limit, or the newest data) first — a truncated episode is bootstrapped, not cut.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.core.seeding import generator_state, set_generator_state


class ReplayBuffer:
    """Frame-once replay for ``num_envs`` parallel streams.

    Args:
        capacity: total slots over all streams (``capacity // num_envs`` per stream).
        num_envs: number of parallel env streams.
        action_dim: action size.
        frame_shape: ``(3, H, W)`` of one frame, or ``None`` without pixels.
        frame_stack: frames per observation (pixels).
        state_dim: size of the state vector, or ``None`` without state.
        nstep, discount: n-step return settings.
        seed: seed of the sampling RNG (saved in :meth:`state_dict`).
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        action_dim: int,
        frame_shape: tuple[int, ...] | None = None,
        frame_stack: int = 1,
        state_dim: int | None = None,
        nstep: int = 1,
        discount: float = 0.99,
        seed: int = 0,
    ) -> None:
        if frame_shape is None and state_dim is None:
            raise ValueError("ReplayBuffer needs frame_shape (pixels) and/or state_dim (state)")
        per_env = capacity // num_envs
        if per_env < max(nstep, frame_stack) + 2:
            raise ValueError(f"replay capacity {capacity} is too small for {num_envs} envs; raise it")
        self.capacity, self.num_envs, self.per_env = capacity, num_envs, per_env
        self.frame_stack, self.nstep, self.discount = frame_stack, nstep, discount
        e, c = num_envs, per_env
        self.frames = np.zeros((e, c, *frame_shape), np.uint8) if frame_shape is not None else None
        self.states = np.zeros((e, c, state_dim), np.float32) if state_dim is not None else None
        self.actions = np.zeros((e, c, action_dim), np.float32)
        self.rewards = np.zeros((e, c), np.float32)
        self.terminated = np.zeros((e, c), bool)
        self.has_action = np.zeros((e, c), bool)
        self.episode_step = np.zeros((e, c), np.int64)
        self.head = np.zeros(e, np.int64)  # next slot to write
        self.size = np.zeros(e, np.int64)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Stored transitions (slots with an action)."""
        return int(self.has_action.sum())

    # -- writing ------------------------------------------------------------------------------------------
    def _split(self, obs: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        if isinstance(obs, dict):
            pixels, state = obs.get("pixels"), obs.get("state")
        elif self.frames is not None:
            pixels, state = obs, None
        else:
            pixels, state = None, obs
        if pixels is not None:
            pixels = np.asarray(pixels)[..., -self.frames.shape[2] :, :, :]  # newest frame only
        return pixels, state

    def _write(
        self, env: int, pixels: np.ndarray | None, state: np.ndarray | None, episode_step: int
    ) -> None:
        slot = self.head[env]
        if self.frames is not None:
            self.frames[env, slot] = pixels
        if self.states is not None:
            self.states[env, slot] = state
        self.has_action[env, slot] = False
        self.terminated[env, slot] = False
        self.rewards[env, slot] = 0.0
        self.episode_step[env, slot] = episode_step
        self.head[env] = (slot + 1) % self.per_env
        self.size[env] = min(self.size[env] + 1, self.per_env)

    def start(self, obs: Any, envs: np.ndarray | None = None) -> None:
        """First observations of new episodes (batched over streams ``envs``, default all)."""
        envs = np.arange(self.num_envs) if envs is None else envs
        pixels, state = self._split(obs)
        for k, e in enumerate(envs):
            self._write(int(e), None if pixels is None else pixels[k], None if state is None else state[k], 0)

    def add(
        self,
        action: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: Any,
        final_obs: Any = None,
    ) -> None:
        """One vector step: the action taken from each stream's last observation and what followed.

        ``next_obs`` is the vector env's returned observation (a new episode's first one where the episode
        ended, SAME_STEP autoreset); ``final_obs`` holds the true last observations of ended episodes
        (same layout as ``next_obs``; rows of other envs are ignored).
        """
        done = np.logical_or(terminated, truncated)
        next_pixels, next_state = self._split(next_obs)
        fin_pixels, fin_state = self._split(final_obs) if done.any() else (None, None)
        for e in range(self.num_envs):
            last = (self.head[e] - 1) % self.per_env
            if self.size[e] == 0 or self.has_action[e, last]:
                raise RuntimeError("ReplayBuffer.add() before start(): call start(obs) after each reset")
            self.actions[e, last] = action[e]
            self.rewards[e, last] = reward[e]
            self.terminated[e, last] = terminated[e]
            self.has_action[e, last] = True
            step = self.episode_step[e, last] + 1
            if done[e]:
                self._write(
                    e,
                    None if fin_pixels is None else fin_pixels[e],
                    None if fin_state is None else fin_state[e],
                    step,
                )
                step = 0
            self._write(
                e,
                None if next_pixels is None else next_pixels[e],
                None if next_state is None else next_state[e],
                step,
            )

    # -- sampling -----------------------------------------------------------------------------------------
    def _obs(self, env: np.ndarray, pos: np.ndarray) -> dict[str, np.ndarray]:
        """Observations at logical positions ``pos`` (0 = oldest stored slot) of streams ``env``."""
        start = (self.head[env] - self.size[env]) % self.per_env
        slot = (start + pos) % self.per_env
        out: dict[str, np.ndarray] = {}
        if self.frames is not None:
            back = self.episode_step[env, slot]
            stack = []
            for j in range(self.frame_stack - 1, -1, -1):  # oldest first
                stack.append(self.frames[env, (slot - np.minimum(j, back)) % self.per_env])
            out["pixels"] = np.concatenate(stack, axis=1)
        if self.states is not None:
            out["state"] = self.states[env, slot]
        return out

    def sample(self, batch_size: int) -> dict[str, Any]:
        """A batch: ``obs``, ``action``, ``reward`` (n-step), ``discount`` (γ^m·(1−terminated)),
        ``next_obs``."""
        low = np.where(self.size == self.per_env, self.frame_stack - 1, 0)  # full ring: need history
        counts = np.maximum(self.size - 1 - low, 0)  # positions with a following slot
        if counts.sum() == 0 or len(self) == 0:
            raise RuntimeError("ReplayBuffer.sample() on an empty buffer")
        env = self.rng.choice(self.num_envs, size=batch_size, p=counts / counts.sum())
        pos = low[env] + (self.rng.random(batch_size) * counts[env]).astype(np.int64)
        start = (self.head - self.size) % self.per_env
        for _ in range(100):  # resample final-observation slots (no action); ~1/T of them
            bad = ~self.has_action[env, (start[env] + pos) % self.per_env]
            if not bad.any():
                break
            env[bad] = self.rng.choice(self.num_envs, size=int(bad.sum()), p=counts / counts.sum())
            pos[bad] = low[env[bad]] + (self.rng.random(int(bad.sum())) * counts[env[bad]]).astype(np.int64)
        else:
            raise RuntimeError("ReplayBuffer.sample(): no transition found; is the buffer filled?")

        def slot(p: np.ndarray) -> np.ndarray:
            return (start[env] + np.minimum(p, self.size[env] - 1)) % self.per_env

        s = slot(pos)
        reward = self.rewards[env, s].astype(np.float64)
        term = self.terminated[env, s]
        discount = np.where(term, 0.0, self.discount)
        next_pos = pos + 1
        alive = ~term & self.has_action[env, slot(pos + 1)] & (pos + 2 <= self.size[env] - 1)
        for j in range(1, self.nstep):  # Eq. (n-step return), truncated early by episode ends
            q = slot(pos + j)
            reward = reward + np.where(alive, self.discount**j * self.rewards[env, q], 0.0)
            discount = np.where(
                alive, np.where(self.terminated[env, q], 0.0, self.discount ** (j + 1)), discount
            )
            next_pos = np.where(alive, pos + j + 1, next_pos)
            alive = alive & ~self.terminated[env, q] & self.has_action[env, slot(pos + j + 1)]
            alive = alive & (pos + j + 2 <= self.size[env] - 1)
        return {
            "obs": self._obs(env, pos),
            "action": self.actions[env, s],
            "reward": reward.astype(np.float32),
            "discount": discount.astype(np.float32),
            "next_obs": self._obs(env, next_pos),
        }

    # -- persistence --------------------------------------------------------------------------------------
    _ARRAYS = ("frames", "states", "actions", "rewards", "terminated", "has_action", "episode_step")

    def state_dict(self) -> dict[str, Any]:
        """Counters and the sampling RNG (plain ints and lists)."""
        return {"head": self.head.tolist(), "size": self.size.tolist(), "rng": generator_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.head = np.asarray(state["head"], np.int64)
        self.size = np.asarray(state["size"], np.int64)
        set_generator_state(self.rng, state["rng"])

    def arrays(self, prefix: str = "replay/") -> dict[str, np.ndarray]:
        """The stored slots (only the used part of each ring)."""
        used = int(self.size.max())
        return {
            prefix + name: getattr(self, name)[:, :used]
            for name in self._ARRAYS
            if getattr(self, name) is not None
        }

    def load_arrays(self, arrays: dict[str, np.ndarray], prefix: str = "replay/") -> None:
        for name in self._ARRAYS:
            target = getattr(self, name)
            if target is None or prefix + name not in arrays:
                continue
            source = arrays[prefix + name]
            if source.shape[0] != target.shape[0] or source.shape[2:] != target.shape[2:]:
                raise ValueError(
                    f"replay array {name}: saved shape {source.shape} does not fit {target.shape}"
                )
            target[:, : source.shape[1]] = source
