"""Meta-World v3 tasks (metaworld 3.1.1) as pixel / state visual-control envs."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.robotics.rendering import setup_headless

setup_headless()  # before mujoco is imported (MUJOCO_GL is read once)

from envs.robotics.base import VisualControlEnv  # noqa: E402
from envs.robotics.tasks import METAWORLD_TASKS  # noqa: E402

#: MENTOR / DrM camera placement: ``corner2`` moved to this position on every reset
#: (MENTOR ``metaworld_env.py``: ``model.cam_pos[2][:] = [0.75, 0.075, 0.7]``).
MENTOR_CORNER2_POS = (0.75, 0.075, 0.7)


class MetaWorldEnv(VisualControlEnv):
    """A Meta-World v3 manipulation task with a Sawyer arm.

    ## Description
    One of the 50 Meta-World v3 tasks (``metaworld.env_dict.ALL_V3_ENVIRONMENTS``), goal observable, with
    object and goal positions re-randomised at every reset (MENTOR/DrM: ``_freeze_rand_vec=False``).

    ## Action Space
    ``Box(-1, 1, (4,), float32)``: end-effector displacement (x, y, z) and gripper effort.

    ## Observation Space
    ``obs="pixels"``: ``uint8 (3·frame_stack, S, S)`` from camera ``corner2`` (rotated right side up; the v3
    corner cameras render upside down). ``obs="state"``: the 39-d Meta-World observation as ``float32``
    (hand, gripper, object poses, previous frame, goal) — its published bounds (goal 0..0) are not used.
    ``obs="pixels+state"``: pixels and the 4-d proprioception (hand xyz, gripper opening).

    ## Rewards
    Meta-World's dense v2-style reward (``reward_function_version="v2"``), summed over the action repeat.
    With ``sparse=True`` the reward is ``1.0`` per simulator step in a success state (MENTOR's "(Sparse)"
    variants are not defined in its code; this is the natural choice, see docs/robotics.md).

    ## Starting State
    Hand at its home pose, object and goal sampled uniformly from the task's ranges from the env's RNG.

    ## Episode End
    No termination (Meta-World never terminates). Truncation after ``horizon`` simulator steps
    (default 500, i.e. 250 env steps at action repeat 2, MENTOR's setting).
    ``info["is_success"]``: any simulator step of the episode so far was a success state.

    ## Arguments
    ``task`` (e.g. ``"assembly"``), ``sparse`` (bool), ``camera`` (name; ``"mentor"`` = ``corner2`` at
    MENTOR's position), ``camera_pos`` (override of the camera position), and the
    :class:`~envs.robotics.base.VisualControlEnv` arguments.

    ## Version History
    * v0: initial version (metaworld 3.1.1, mujoco 3.3.0).
    """

    default_camera = "corner2"
    default_horizon = 500

    def __init__(
        self,
        task: str,
        sparse: bool = False,
        camera_pos: tuple[float, float, float] | list[float] | None = None,
        **kwargs: Any,
    ) -> None:
        if task not in METAWORLD_TASKS:
            import difflib

            close = difflib.get_close_matches(task, METAWORLD_TASKS, n=3)
            raise ValueError(
                f"unknown Meta-World task {task!r}; did you mean {close}? All: {METAWORLD_TASKS}"
            )
        self.task = task
        self.sparse = bool(sparse)
        if kwargs.get("camera") == "mentor":
            kwargs["camera"] = "corner2"
            camera_pos = MENTOR_CORNER2_POS if camera_pos is None else camera_pos
        self.camera_pos = None if camera_pos is None else np.asarray(camera_pos, dtype=np.float64)
        if self.camera_pos is not None and self.camera_pos.shape != (3,):
            raise ValueError(f"camera_pos must be 3 numbers (x, y, z), got {camera_pos!r}")
        super().__init__(**kwargs)
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self._env.dt)}

    def _sim_build(self) -> tuple[int, int, int]:
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS

        env = ALL_V3_ENVIRONMENTS[f"{self.task}-v3"]()
        # Goal-observable, randomised at every reset, seeded from the env's own RNG (what `set_task` would
        # otherwise freeze to one of 50 pre-sampled configurations).
        env._partially_observable = False
        # The observation bounds are cached with the goal hidden (bounds 0..0), and every step clips the
        # observation to them, which would zero the goal: recompute them (as `set_task` does).
        env.__dict__.pop("sawyer_observation_space", None)
        env._freeze_rand_vec = False
        env.seeded_rand_vec = True
        env._set_task_called = True
        env.max_path_length = self.horizon + 1  # we truncate ourselves; Meta-World raises past its limit
        self._env = env
        self._model, self._data = env.model, env.data
        if isinstance(self.camera, str):
            names = [env.model.camera(i).name for i in range(env.model.ncam)]
            if self.camera not in names:
                raise ValueError(
                    f"camera {self.camera!r} not in Meta-World's model; cameras: {[*names, 'mentor']}"
                )
        if self.camera_pos is not None:
            import mujoco

            cam_id = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_CAMERA, str(self.camera))
            env.model.cam_pos[cam_id] = self.camera_pos
        return 39, 4, 4

    def _flip_frames(self) -> bool:
        # Meta-World v3's corner cameras render upside down (metaworld 3.1.1 with mujoco 3.3's Renderer;
        # tested).
        return isinstance(self.camera, str) and self.camera.startswith("corner")

    def _sim_reset(self, sim_seed: int) -> np.ndarray:
        self._env.seed(sim_seed)
        state, _ = self._env.reset()
        return state.astype(np.float32)

    def _sim_step(self, action: np.ndarray) -> tuple[float, bool, bool]:
        self._state, reward, _, _, info = self._env.step(action)
        success = bool(info["success"])
        if self.sparse:
            reward = float(success)
        return float(reward), False, success

    def _sim_state(self) -> np.ndarray:
        return self._state.astype(np.float32)

    def _proprio(self, state: np.ndarray) -> np.ndarray:
        return state[:4]

    def _sim_close(self) -> None:
        env = getattr(self, "_env", None)
        if env is not None:
            env.close()
