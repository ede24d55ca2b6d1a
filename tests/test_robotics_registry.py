"""Every robotics id is registered lazily and passes gymnasium's and SB3's checkers (state obs, all ids).

Pixel observations and rendering are checked on a representative subset in test_robotics_envs.py.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers the ids
from envs.robotics.tasks import ADROIT_TASKS, DMC_TASKS, METAWORLD_TASKS, adroit_id, dmc_id, metaworld_id

pytestmark = pytest.mark.mujoco

#: Big models whose construction + checks take several seconds each: slow suite only.
SLOW_IDS = {dmc_id("dog", t) for t in ("stand", "walk", "trot", "run")}
ALL_IDS = (
    [metaworld_id(t) for t in METAWORLD_TASKS]
    + [dmc_id(d, t) for d, t in DMC_TASKS]
    + [adroit_id(t) for t in ADROIT_TASKS]
)


def test_task_lists_match_installed_packages() -> None:
    from dm_control import suite
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    assert sorted(f"{t}-v3" for t in METAWORLD_TASKS) == sorted(ALL_V3_ENVIRONMENTS)
    assert len(METAWORLD_TASKS) == 50
    assert set(DMC_TASKS) <= set(suite.ALL_TASKS)
    assert set(suite.BENCHMARKING) <= set(DMC_TASKS)
    assert set(ALL_IDS) <= set(gym.registry)


def test_registration_does_not_import_mujoco() -> None:
    code = (
        "import sys, envs; "
        "assert 'mujoco' not in sys.modules and 'dm_control' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize(
    "env_id", [pytest.param(i, marks=pytest.mark.slow) if i in SLOW_IDS else i for i in ALL_IDS]
)
def test_checkers_pass_state_obs(env_id: str) -> None:
    env = gym.make(env_id, obs="state")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any checker warning fails the test
            gym_check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)
            sb3_check_env(env, warn=True)
    finally:
        env.close()
