"""DeepMind Control suite tasks (dm_control, on the ``mujoco`` bindings) as pixel / state envs."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from envs.robotics.rendering import setup_headless

setup_headless()  # before mujoco / dm_control are imported (MUJOCO_GL is read once)

from envs.robotics.base import VisualControlEnv  # noqa: E402
from envs.robotics.tasks import DMC_TASKS  # noqa: E402


class DMCEnv(VisualControlEnv):
    """A DeepMind Control suite task (Tassa et al. 2018), loaded with ``dm_control.suite.load``.

    ## Description
    ``domain``/``task`` from the suite (e.g. ``walker``/``walk``); wrappers follow DrQ-v2's ``dmc.py``
    (action repeat with summed reward, actions rescaled to [-1, 1], 84 px camera 0 — 2 for quadruped —,
    frame stack 3 repeating the first frame at reset).

    ## Action Space
    ``Box(-1, 1, (|A|,), float32)``, rescaled linearly to the task's actuator bounds.

    ## Observation Space
    ``obs="pixels"``: ``uint8 (3·frame_stack, S, S)``. ``obs="state"``: the task's observation dict flattened
    in
    its key order, ``float32``. ``obs="pixels+state"``: pixels and that same state vector.

    ## Rewards
    The task's reward in [0, 1] per control step, summed over the action repeat (so ≤ 1000 per episode).

    ## Starting State
    The task's own randomised initialisation, drawn from a ``RandomState`` seeded by the env's RNG.

    ## Episode End
    Truncation after ``horizon`` control steps (default 1000, the suite's 20 s / 1000 steps; 500 env steps at
    action repeat 2). ``terminated`` is set only if the task ends with discount 0 (no suite task does).
    No ``info["is_success"]``: the suite has no success notion.

    ## Arguments
    ``domain``, ``task``, and the :class:`~envs.robotics.base.VisualControlEnv` arguments (``camera`` is a
    camera id or name; default 0, 2 for quadruped).

    ## Version History
    * v0: initial version (dm_control 1.0.28, mujoco 3.3.0).
    """

    default_horizon = 1000
    has_success = False

    def __init__(self, domain: str, task: str, **kwargs: Any) -> None:
        if (domain, task) not in DMC_TASKS:
            names = [f"{d}-{t}" for d, t in DMC_TASKS]
            raise ValueError(f"unknown DMC task {domain}-{task}; registered tasks: {names}")
        self.domain, self.task = domain, task
        self.default_camera = 2 if domain == "quadruped" else 0  # DrQ-v2 dmc.py
        super().__init__(**kwargs)
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self._env.control_timestep())}

    def _sim_build(self) -> tuple[int, int, int]:
        from dm_control import suite

        # No time limit inside dm_control: the horizon is ours, so truncation stays a truncation.
        self._env = suite.load(self.domain, self.task, task_kwargs={"random": 0})
        self._env._step_limit = float("inf")
        physics = self._env.physics
        self._model, self._data = physics.model.ptr, physics.data.ptr
        spec = self._env.action_spec()
        self._act_low = spec.minimum.astype(np.float64)
        self._act_scale = (spec.maximum - spec.minimum).astype(np.float64) / 2.0
        with warnings.catch_warnings():  # dm_control's quadruped calls np.in1d (deprecated in numpy 2)
            warnings.filterwarnings("ignore", message=".*in1d.*", category=DeprecationWarning)
            state_dim = sum(int(np.prod(s.shape)) for s in self._env.observation_spec().values())
        return state_dim, state_dim, int(spec.shape[0])

    def _state(self, observation: dict[str, Any]) -> np.ndarray:
        return np.concatenate([np.asarray(v, dtype=np.float32).ravel() for v in observation.values()])

    def _sim_reset(self, sim_seed: int) -> np.ndarray:
        self._env.task._random = np.random.RandomState(sim_seed)  # as shimmy's DmControlCompatibility
        with warnings.catch_warnings():  # dm_control's quadruped calls np.in1d (deprecated in numpy 2)
            warnings.filterwarnings("ignore", message=".*in1d.*", category=DeprecationWarning)
            return self._state(self._env.reset().observation)

    def _sim_action(self, action: np.ndarray) -> np.ndarray:
        return self._act_low + (action.astype(np.float64) + 1.0) * self._act_scale

    def _sim_step(self, action: np.ndarray) -> tuple[float, bool, bool]:
        self._timestep = timestep = self._env.step(action)
        terminated = bool(timestep.last() and timestep.discount == 0.0)
        return float(timestep.reward or 0.0), terminated, False

    def _sim_state(self) -> np.ndarray:
        return self._state(self._timestep.observation)

    def _sim_close(self) -> None:
        env = getattr(self, "_env", None)
        if env is not None:
            env.close()
            self._env = None
