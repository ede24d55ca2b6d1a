"""Every registered suite id passes gymnasium's and SB3's env checkers (PettingZoo: the parallel API test).

New families get this check for free: an id registered under ``pgsuite/`` is checked here with the cheap
kwargs of its family (``CHEAP_KWARGS``). Robotics ids (84) are checked with the same checkers in
tests/test_robotics_registry.py; this test asserts that file covers every one of them.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
from tests.test_n2n_env import TINY as N2N_TINY

#: Small settings per id prefix so a check takes seconds (teachers/classifiers train on construction).
CHEAP_KWARGS: dict[str, dict] = {"N2NRemoval": N2N_TINY, "N2NShrink": N2N_TINY}
ROBOTICS = ("MetaWorld", "DMC", "Adroit")
GYM_IDS = [i for i in envs.registered_gym_ids() if not i.split("/")[1].startswith(ROBOTICS)]


def _prefix(env_id: str) -> str:
    return env_id.split("/")[1].split("-")[0]


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_gym_checkers(env_id, tmp_path):
    kwargs = dict(CHEAP_KWARGS.get(_prefix(env_id), {}))
    if _prefix(env_id).startswith("N2N"):
        kwargs["cache_dir"] = str(tmp_path)
    env = gym.make(env_id, **kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)
    finally:
        env.close()


def test_robotics_ids_are_covered_by_their_checker_test():
    from tests.test_robotics_registry import ALL_IDS

    robotics = {i for i in envs.registered_gym_ids() if i.split("/")[1].startswith(ROBOTICS)}
    assert robotics <= set(ALL_IDS)


@pytest.mark.parametrize("env_id", envs.registered_parallel_ids())
def test_parallel_api(env_id):
    import pettingzoo
    from pettingzoo.test import parallel_api_test

    env = pettingzoo.make("parallel", env_id)
    parallel_api_test(env, num_cycles=100)
    env.close()


def test_ids_are_namespaced_and_versioned():
    for env_id in envs.registered_gym_ids() + envs.registered_parallel_ids():
        assert env_id.startswith("pgsuite/") and gym.envs.registration.parse_env_id(env_id)[2] is not None
