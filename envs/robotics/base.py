"""The shared visual-control env: observation modes, frame stack, action repeat, horizon and success.

Each family (Meta-World, DMC, Adroit) subclasses :class:`VisualControlEnv` and implements a handful of
simulator hooks. Everything a learner sees is built here, inside one ``gym.Env`` (no wrapper chain), so
``env.unwrapped`` is the whole environment that the checkers and the learners use, and the only per-step
cost over the raw simulator is one small Python call per action repeat.

Conventions (docs/robotics.md):

* ``obs="pixels"`` (default): ``uint8`` array ``(3 * frame_stack, image_size, image_size)``, channels first,
  oldest frame first (DrQ-v2 ``FrameStackWrapper``); at reset the first frame is repeated.
  ``obs="state"``: ``float32`` vector of the simulator state. ``obs="pixels+state"``: ``Dict(pixels, state)``
  where ``state`` is the family's proprioception (documented per family).
* ``action_repeat``: the action is applied ``action_repeat`` times; rewards are **summed** (DrQ-v2
  ``ActionRepeatWrapper``; MENTOR ``metaworld_env.py``).
* ``horizon`` counts *simulator* (control) steps, so the episode length in env steps is
  ``ceil(horizon / action_repeat)``. Reaching it gives ``truncated=True``; ``terminated`` is only ever set by
  a true terminal state of the task (none of the shipped tasks has one; the flag is kept apart anyway).
* ``info["is_success"]`` (bool, families with a success notion) is *episode-level so far*: its value at the
  final step is the episode's success under the family's rule, which is what SB3's ``success_rate`` reads.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

OBS_MODES = ("pixels", "state", "pixels+state")
#: State observations are unbounded; the float32 range keeps the checkers' "infinite bound" warning away.
_BIG = float(np.finfo(np.float32).max)


class VisualControlEnv(gym.Env):
    """Base class; subclasses set ``_model``/``_data`` and implement the ``_sim_*`` hooks.

    Args:
        obs: ``pixels`` (default when ``None``), ``state`` or ``pixels+state``.
        image_size: side of the square observation image.
        camera: camera name (family-specific default when ``None``).
        frame_stack: number of stacked frames in pixel observations.
        action_repeat: times each action is applied; rewards are summed.
        horizon: episode length in simulator steps (family default when ``None``).
        fast_render: turn off shadows and multisampling (~5× faster on CPU; changes the images).
        render_mode: ``None`` or ``"rgb_array"`` (``render()`` returns the observation camera's view).
        render_size: side of ``render()`` frames (videos); defaults to ``image_size``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    #: Family defaults, overridden by subclasses.
    default_camera: str | int = -1
    default_horizon: int = 1000
    #: Whether the family defines success (adds ``info["is_success"]``).
    has_success: bool = True

    def __init__(
        self,
        obs: str | None = None,
        image_size: int = 84,
        camera: str | int | None = None,
        frame_stack: int = 3,
        action_repeat: int = 2,
        horizon: int | None = None,
        fast_render: bool = False,
        render_mode: str | None = None,
        render_size: int | None = None,
    ) -> None:
        obs = "pixels" if obs is None else obs
        if obs not in OBS_MODES:
            raise ValueError(f"obs must be one of {OBS_MODES} (or null for pixels), got {obs!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        for name, value in (
            ("image_size", image_size),
            ("frame_stack", frame_stack),
            ("action_repeat", action_repeat),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.obs_mode = obs
        self.image_size = int(image_size)
        self.camera = self.default_camera if camera is None else camera
        self.frame_stack = int(frame_stack)
        self.action_repeat = int(action_repeat)
        self.horizon = int(self.default_horizon if horizon is None else horizon)
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1 simulator step, got {horizon!r}")
        self.max_episode_steps = math.ceil(self.horizon / self.action_repeat)
        self.fast_render = bool(fast_render)
        self.render_mode = render_mode
        self.render_size = int(render_size or image_size)
        self._uses_pixels = obs in ("pixels", "pixels+state")
        self._obs_renderer: Any = None
        self._video_renderer: Any = None
        self._frames: deque[np.ndarray] = deque(maxlen=self.frame_stack)
        self._elapsed = 0  # simulator steps in this episode
        self._needs_reset = True

        state_dim, proprio_dim, action_dim = self._sim_build()
        self.action_space = spaces.Box(-1.0, 1.0, shape=(action_dim,), dtype=np.float32)
        pixels = spaces.Box(0, 255, (3 * self.frame_stack, self.image_size, self.image_size), np.uint8)
        if obs == "pixels":
            self.observation_space = pixels
        elif obs == "state":
            self.observation_space = spaces.Box(-_BIG, _BIG, (state_dim,), np.float32)
        else:
            proprio = spaces.Box(-_BIG, _BIG, (proprio_dim,), np.float32)
            self.observation_space = spaces.Dict({"pixels": pixels, "state": proprio})

    # -- simulator hooks ---------------------------------------------------------------------------
    def _sim_build(self) -> tuple[int, int, int]:
        """Create the simulator; set ``self._model``/``self._data``; return (state, proprio, action) dims."""
        raise NotImplementedError

    def _sim_reset(self, sim_seed: int) -> np.ndarray:
        """Reset the simulator from ``sim_seed``; return the state vector."""
        raise NotImplementedError

    def _sim_action(self, action: np.ndarray) -> np.ndarray:
        """Map a validated action in [-1, 1] to the simulator's (once per env step, not per repeat)."""
        return action

    def _sim_step(self, action: np.ndarray) -> tuple[float, bool, bool]:
        """One simulator step with a ``_sim_action`` output: (reward, terminated, step_success)."""
        raise NotImplementedError

    def _sim_state(self) -> np.ndarray:
        """State vector after the last simulator step (built once per env step)."""
        raise NotImplementedError

    def _proprio(self, state: np.ndarray) -> np.ndarray:
        """Proprioceptive part of ``state`` used by ``obs="pixels+state"``."""
        return state

    def _camera_for_renderer(self) -> Any:
        """Camera argument for :class:`~envs.robotics.rendering.FrameRenderer` (name, id or MjvCamera)."""
        return self.camera

    def _flip_frames(self) -> bool:
        return False

    def _episode_success(self, successes: int) -> bool:
        """Episode-level rule from the number of successful simulator steps so far (default: any step)."""
        return successes > 0

    # -- rendering -----------------------------------------------------------------------------------
    def _renderer(self, size: int) -> Any:
        from envs.robotics.rendering import FrameRenderer

        return FrameRenderer(
            self._model,
            size,
            size,
            self._camera_for_renderer(),
            flip=self._flip_frames(),
            fast=self.fast_render,
        )

    def _pixels(self) -> np.ndarray:
        if self._obs_renderer is None:
            self._obs_renderer = self._renderer(self.image_size)
        return self._obs_renderer.render(self._data).transpose(2, 0, 1)

    def render(self) -> np.ndarray | None:
        """The current view of the observation camera, ``(render_size, render_size, 3)`` uint8."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; make the env with render_mode='rgb_array'")
            return None
        if self.render_size == self.image_size and self._uses_pixels and self._frames:
            return np.ascontiguousarray(self._frames[-1].transpose(1, 2, 0))
        if self._video_renderer is None:
            self._video_renderer = self._renderer(self.render_size)
        return self._video_renderer.render(self._data)

    # -- gymnasium API ---------------------------------------------------------------------------------
    def _observe(self, state: np.ndarray, reset: bool) -> Any:
        if not self._uses_pixels:
            return state.astype(np.float32, copy=False)
        frame = self._pixels()
        if reset:
            self._frames.extend([frame] * self.frame_stack)
        else:
            self._frames.append(frame)
        pixels = np.concatenate(self._frames, axis=0)
        if self.obs_mode == "pixels":
            return pixels
        return {"pixels": pixels, "state": self._proprio(state).astype(np.float32, copy=False)}

    def _info(self) -> dict[str, Any]:
        if not self.has_success:
            return {}
        return {"is_success": bool(self._episode_success(self._successes))}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Start an episode; ``seed`` seeds the env's RNG, from which each episode's simulator seed is
        drawn."""
        super().reset(seed=seed)
        sim_seed = int(self.np_random.integers(2**31 - 1))
        state = self._sim_reset(sim_seed)
        self._elapsed = 0
        self._successes = 0
        self._needs_reset = False
        return self._observe(state, reset=True), self._info()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """Apply ``action`` ``action_repeat`` times; reward is the sum; see the module docstring."""
        if self._needs_reset:
            raise RuntimeError("step() called before reset() or after the episode ended; call reset() first")
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        if not ((action >= -1.0) & (action <= 1.0)).all():  # the common case costs one comparison
            if not np.isfinite(action).all():  # issue 20: one line, never NaN observations or rewards
                bad = np.flatnonzero(~np.isfinite(action)).tolist()
                raise ValueError(f"action must be finite; non-finite entries at indices {bad}")
            action = np.clip(action, -1.0, 1.0)
        action = self._sim_action(action)
        reward, terminated = 0.0, False
        for _ in range(self.action_repeat):
            step_reward, terminated, step_success = self._sim_step(action)
            reward += float(step_reward)
            self._successes += int(step_success)
            self._elapsed += 1
            if terminated or self._elapsed >= self.horizon:
                break
        truncated = not terminated and self._elapsed >= self.horizon
        self._needs_reset = terminated or truncated
        return self._observe(self._sim_state(), reset=False), reward, terminated, truncated, self._info()

    def close(self) -> None:
        """Free renderers and the simulator."""
        for name in ("_obs_renderer", "_video_renderer"):
            renderer = getattr(self, name, None)
            if renderer is not None:
                renderer.close()
                setattr(self, name, None)
        self._sim_close()

    def _sim_close(self) -> None:
        pass
