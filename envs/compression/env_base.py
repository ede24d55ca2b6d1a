"""What the removal and shrink envs share: config, core, parent, observation and the one-step episode."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from envs.compression.arch import Spec, layer_sequence, normalized_descriptors, spec_from_json
from envs.compression.core import CompressionConfig, get_core
from envs.compression.network import count_params


class N2NEnvBase(gym.Env):
    """One-step N2N episode over a parent network: observe its layer descriptors, act once for every layer,
    receive the reward of the resulting student (papers/n2n.md Sec. 14.1, the "one-step" design).

    Subclasses set ``action_space`` and implement :meth:`student_spec`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        teacher: str = "resnet34",
        parent: Spec | str | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if render_mode is not None:
            raise ValueError(f"N2N envs have no render modes, got render_mode={render_mode!r}")
        self.render_mode = None
        self.cfg = CompressionConfig.from_kwargs(teacher=teacher, **kwargs)
        self.core = get_core(self.cfg)
        if parent is None:
            self.parent = self.core.teacher_spec
        else:
            self.parent = (
                spec_from_json(parent) if isinstance(parent, str) else json.loads(json.dumps(parent))
            )
            if list(self.parent["input_shape"]) != list(self.core.teacher_spec["input_shape"]):
                raise ValueError(
                    "parent's input_shape differs from the teacher's: derive it from this teacher"
                )
        self.layers = layer_sequence(self.parent)
        if not self.layers:
            raise ValueError("the parent network has no layers")
        self.parent_params = count_params(self.parent)
        #: (L, 7) normalized descriptors; the observation is this matrix flattened row by row (SB3 and the
        #: checkers want 1-D vectors; ``obs.reshape(L, 7)`` recovers it).
        self.descriptors = normalized_descriptors(self.parent, self.core.scale)
        self.obs = self.descriptors.reshape(-1)
        self.observation_space = gym.spaces.Box(0.0, 1.0, self.obs.shape, np.float32)
        #: Policy iteration, for the annealed constraint penalty; set with ``reset(options={"iteration": e})``.
        self.iteration = 0
        #: Evaluation pool used by :meth:`step` (None: train in this process).
        self.pool: Any = None

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def student_spec(self, action: np.ndarray) -> Spec:
        raise NotImplementedError

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options and "iteration" in options:
            self.iteration = int(options["iteration"])
        return self.obs.copy(), {}

    def _check_action(self, action: Any) -> np.ndarray:
        arr = np.asarray(action)
        if arr.shape != self.action_space.shape or not self.action_space.contains(
            arr.astype(self.action_space.dtype)
        ):
            raise ValueError(
                f"invalid action for {type(self).__name__}: expected an element of {self.action_space} "
                f"(shape {self.action_space.shape}), got shape {arr.shape}"
            )
        return arr.astype(self.action_space.dtype)

    def evaluate_actions(
        self, actions: list[np.ndarray], pool: Any = None
    ) -> list[tuple[float, dict[str, Any]]]:
        """Rewards and infos of several actions at once (their students trained in parallel by ``pool``)."""
        specs = [self.student_spec(self._check_action(a)) for a in actions]
        pool = pool if pool is not None else self.pool
        return self.core.evaluate(specs, self.parent_params, self.iteration, pool, constraints=self.cfg)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, info = self.evaluate_actions([action])[0]
        return self.obs.copy(), float(reward), True, False, info
