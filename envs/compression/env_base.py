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
    receive the reward of the resulting student. One step per episode because the paper's bidirectional
    policy (Ashok et al. 2018, Sec. 3.2) needs the whole layer sequence before it acts.

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
        #: Policy iteration, for the annealed constraint penalty;
        #: set with ``reset(options={"iteration": e})``.
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

    #: What one action entry may be, for error messages (subclasses name their action's meaning).
    action_rule = "an integer in range"

    def _check_action(self, action: Any) -> np.ndarray:
        """``action`` as the space's dtype; ValueError naming the first bad entry (issue 20): the shape must
        be the space's, and every entry an exact integer in [0, high] (no NaN, inf or fractions)."""
        arr = np.asarray(action)
        space = self.action_space
        if arr.shape != space.shape:
            raise ValueError(
                f"{type(self).__name__} action must have shape {space.shape} (one entry per "
                f"{'layer' if isinstance(space, gym.spaces.MultiBinary) else 'layer and field'} of the "
                f"parent), "
                f"got shape {arr.shape}"
            )
        if arr.dtype == bool:
            arr = arr.astype(np.int64)
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"{type(self).__name__} action must be numeric, got dtype {arr.dtype}")
        high = np.ones(space.shape) if isinstance(space, gym.spaces.MultiBinary) else space.nvec - 1
        values = arr.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values > high)
        if bad.any():
            i = int(np.flatnonzero(bad.reshape(-1))[0])
            raise ValueError(
                f"{type(self).__name__} action[{i}] = {arr.reshape(-1)[i].item()!r}: every entry must be "
                f"{self.action_rule}"
            )
        return arr.astype(space.dtype)

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
