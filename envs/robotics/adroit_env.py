"""Adroit hand tasks (gymnasium-robotics ``AdroitHand*-v1``) as pixel / state envs, DAPG success counting."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.robotics.rendering import setup_headless

setup_headless()  # before mujoco is imported (MUJOCO_GL is read once)

from envs.robotics.base import VisualControlEnv  # noqa: E402
from envs.robotics.tasks import ADROIT_TASKS  # noqa: E402

#: 24-d hand-joint slice of qpos used as proprioception (MENTOR/VRL3 ``adroit.py``); relocate: the 24
#: finger joints after the 6 arm dofs.
PROPRIO_SLICES = {
    "door": slice(4, -2),
    "hammer": slice(2, -7),
    "pen": slice(None, -6),
    "relocate": slice(6, 30),
}
#: Default horizon in simulator steps (gymnasium-robotics registration; MENTOR: 200 / 200 / 100).
HORIZONS = {"door": 200, "hammer": 200, "pen": 100, "relocate": 200}
#: Episode success: goal achieved on more than this many simulator steps (DAPG / VRL3 / MENTOR).
SUCCESS_STEPS = {"door": 25, "hammer": 25, "pen": 20, "relocate": 25}
#: Default cameras: RRL's overhead ``top`` for door / hammer, ``vil_camera`` for pen (MENTOR Sec. 6.5).
DEFAULT_CAMERAS = {"door": "top", "hammer": "top", "pen": "vil_camera", "relocate": "top"}
#: The overhead ``top`` camera the v1 XMLs lack: RRL's ``pos=(0, 0, h)``, ``euler=(0, 0, 3.14)`` looking
#: straight down, realised as a free camera at the same pose (height h per task; relocate: ours).
TOP_CAMERA_HEIGHT = {"door": 1.5, "hammer": 1.1, "pen": 1.1, "relocate": 1.2}
#: MENTOR's reward rescaling (``adroit.py``): hammer ×1/100, door ×1/20, pen ×1/50.
MENTOR_REWARD_SCALE = {"door": 1 / 20, "hammer": 1 / 100, "pen": 1 / 50, "relocate": 1 / 20}
#: The DAPG hand-to-object term −0.1·‖palm − object‖ (Rajeswaran et al. 2018; mj_envs ``door_v0.py``,
#: ``hammer_v0.py``, ``relocate_v0.py``): (palm site attribute, object attribute, object kind).
#: gymnasium-robotics 1.4.2 v1 computes it as +0.1·‖…‖ (Farama-Foundation/Gymnasium-Robotics PR #220,
#: fixed upstream as v2 by PR #306); pen has no such term.
HAND_TERM = {
    "door": ("grasp_site_id", "handle_site_id", "site"),
    "hammer": ("S_grasp_site_id", "obj_body_id", "body"),
    "relocate": ("S_grasp_site_id", "obj_body_id", "body"),
}


class AdroitEnv(VisualControlEnv):
    """An Adroit 24-DoF hand task: door, hammer, pen or relocate (Rajeswaran et al. 2018, DAPG).

    ## Description
    gymnasium-robotics 1.4 ``AdroitHand<Task>-v1`` (the mujoco-bindings port of ``mj_envs``) with its dense
    reward, seen from an overhead ``top`` camera (door, hammer, relocate) or ``vil_camera`` (pen).

    ## Action Space
    ``Box(-1, 1, (|A|,), float32)`` (door 28, hammer 26, pen 24, relocate 30), mapped to actuator ranges.

    ## Observation Space
    ``obs="pixels"``: ``uint8 (3·frame_stack, S, S)``. ``obs="state"``: the v1 observation (door 39, hammer
    46,
    pen 45, relocate 39) as ``float32``. ``obs="pixels+state"``: pixels and the 24-d hand-joint positions
    (MENTOR's proprioception: door ``qpos[4:-2]``, hammer ``qpos[2:-7]``, pen ``qpos[:-6]``, relocate
    ``qpos[6:30]``).

    ## Rewards
    The DAPG dense reward times ``reward_scale`` (default 1; MENTOR uses door 1/20, hammer 1/100, pen 1/50:
    ``reward_scale="mentor"``), summed over the action repeat. gymnasium-robotics 1.4.2's v1 door, hammer
    and relocate reward the hand for moving *away* from the object (+0.1·‖palm − object‖ where DAPG has
    −0.1·‖…‖); we subtract 0.2·‖palm − object‖ to restore DAPG's term. When an upstream
    ``AdroitHand<Task>-v2``
    (gymnasium-robotics ≥ 1.4.3, fixed) is registered it is used instead, uncorrected.

    ## Starting State
    The task's randomised initial state (door/hammer/relocate object positions, pen goal orientation).

    ## Episode End
    Truncation after ``horizon`` simulator steps (door/hammer/relocate 200, pen 100). No termination.
    ``info["is_success"]``: the goal was achieved on more than 25 simulator steps of the episode so far
    (pen: more than 20), the DAPG convention — not v1's per-step ``info["success"]``.

    ## Arguments
    ``task``, ``reward_scale`` (float or ``"mentor"``), ``camera`` (``top``, ``vil_camera``, ``fixed``, pen's
    ``view_1``…``view_5``), and the :class:`~envs.robotics.base.VisualControlEnv` arguments.

    ## Version History
    * v0: initial version (gymnasium-robotics 1.4.2 v1 tasks, mujoco 3.3.0); issue 16: the hand-to-object
      sign of door / hammer / relocate corrected to DAPG's.
    """

    def __init__(self, task: str, reward_scale: float | str = 1.0, **kwargs: Any) -> None:
        if task not in ADROIT_TASKS:
            raise ValueError(f"unknown Adroit task {task!r}; choose one of {ADROIT_TASKS}")
        self.task = task
        if reward_scale == "mentor":
            reward_scale = MENTOR_REWARD_SCALE[task]
        self.reward_scale = float(reward_scale)
        self.default_camera = DEFAULT_CAMERAS[task]
        self.default_horizon = HORIZONS[task]
        super().__init__(**kwargs)
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self._env.dt)}

    def _sim_build(self) -> tuple[int, int, int]:
        import gymnasium as gym
        import gymnasium_robotics.envs.adroit_hand as adroit

        fixed_id = f"AdroitHand{self.task.capitalize()}-v2"  # upstream's fixed reward (PR #306)
        if fixed_id in gym.registry:
            self._env = gym.make(fixed_id).unwrapped
            self._hand_term_fix = None
        else:
            cls = {
                "door": adroit.AdroitHandDoorEnv,
                "hammer": adroit.AdroitHandHammerEnv,
                "pen": adroit.AdroitHandPenEnv,
                "relocate": adroit.AdroitHandRelocateEnv,
            }[self.task]
            self._env = cls()
            self._hand_term_fix = HAND_TERM.get(self.task)
        self._model, self._data = self._env.model, self._env.data
        names = [self._model.camera(i).name for i in range(self._model.ncam)]
        if self.camera != "top" and self.camera not in names:
            raise ValueError(f"camera {self.camera!r} not available; cameras: {['top', *names]}")
        state_dim = int(self._env.observation_space.shape[0])
        return state_dim, 24, int(self._env.action_space.shape[0])

    def _camera_for_renderer(self) -> Any:
        if self.camera != "top":
            return self.camera
        import mujoco

        camera = mujoco.MjvCamera()
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.lookat[:] = (0.0, 0.0, 0.0)
        camera.distance = TOP_CAMERA_HEIGHT[self.task]
        camera.elevation = -90.0  # looking straight down
        camera.azimuth = -90.0  # image "up" = world -y, i.e. RRL's euler z = 3.14
        return camera

    def _sim_reset(self, sim_seed: int) -> np.ndarray:
        state, _ = self._env.reset(seed=sim_seed)
        return state.astype(np.float32)

    def _sim_step(self, action: np.ndarray) -> tuple[float, bool, bool]:
        self._state, reward, terminated, _, info = self._env.step(action)
        reward = float(reward)
        if self._hand_term_fix is not None:  # v1's +0.1·d → DAPG's −0.1·d
            reward -= 0.2 * self.hand_to_object_distance()
        return reward * self.reward_scale, bool(terminated), bool(info["success"])

    def hand_to_object_distance(self) -> float:
        """‖palm − object‖ of DAPG's hand-to-object term (door: handle site; hammer, relocate: object
        body)."""
        palm_attr, obj_attr, kind = HAND_TERM[self.task]
        palm = self._data.site_xpos[getattr(self._env, palm_attr)]
        pos = self._data.site_xpos if kind == "site" else self._data.xpos
        return float(np.linalg.norm(palm - pos[getattr(self._env, obj_attr)]))

    def _sim_state(self) -> np.ndarray:
        return self._state.astype(np.float32)

    def _proprio(self, state: np.ndarray) -> np.ndarray:
        return self._data.qpos[PROPRIO_SLICES[self.task]]

    def _episode_success(self, successes: int) -> bool:
        return successes > SUCCESS_STEPS[self.task]

    def _sim_close(self) -> None:
        env = getattr(self, "_env", None)
        if env is not None:
            env.close()
            self._env = None
