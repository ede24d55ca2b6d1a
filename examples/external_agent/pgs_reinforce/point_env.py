"""A toy continuous-control env: move a point on a line to the origin (reward = -|x| per step)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np


class PointReach(gym.Env):
    """Observation ``[x]`` in [-1, 1]; action a step in [-0.2, 0.2]; reward ``-|x|``; 50 steps."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-0.2, 0.2, (1,), np.float32)
        self.x = 0.0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-1.0, 1.0))
        return np.array([self.x], np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.x = float(np.clip(self.x + float(np.clip(action, -0.2, 0.2)[0]), -1.0, 1.0))
        return np.array([self.x], np.float32), -abs(self.x), False, False, {"is_success": abs(self.x) < 0.05}
