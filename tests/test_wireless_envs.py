"""Wireless envs: gymnasium + SB3 checkers, seeding, bad input, SB3 PPO runs on them (issue 4)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers pgsuite/ ids

SMALL = {
    "pgsuite/WirelessIC-v0": {"num_users": [3, 6]},
    "pgsuite/WirelessCellFree-v0": {"num_aps": [4, 8], "num_users": [2, 5], "antennas": [1, 3]},
    "pgsuite/WirelessMIMO-v0": {"num_antennas": [3, 6], "num_users": [2, 4]},
}


@pytest.mark.parametrize("env_id", sorted(SMALL))
def test_checkers_pass_without_warnings(env_id):
    env = gym.make(env_id, **SMALL[env_id])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env)


@pytest.mark.parametrize("env_id", sorted(SMALL))
def test_episode_seeding_and_info(env_id):
    env = gym.make(env_id, **SMALL[env_id])
    obs_a, info = env.reset(seed=3)
    obs_b, _ = env.reset(seed=3)
    for key in obs_a:
        np.testing.assert_array_equal(obs_a[key], obs_b[key])
    assert env.observation_space.contains(obs_a)
    action = np.zeros(env.action_space.shape, np.float32)
    _, reward, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    assert reward == pytest.approx(info["sum_se"]) and info["sum_se"] > 0 and info["min_se"] <= info["sum_se"]
    assert int(obs_a["user_mask"].sum()) == info["num_users"]


def test_maxmin_objective_reward():
    env = gym.make("pgsuite/WirelessCellFree-v0", objective="maxmin", **SMALL["pgsuite/WirelessCellFree-v0"])
    env.reset(seed=0)
    _, reward, *_, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(info["min_se"])


def test_bad_inputs_raise_clear_errors():
    env = gym.make("pgsuite/WirelessIC-v0", num_users=4)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.full(4, np.nan, np.float32))
    env.unwrapped.step(np.zeros(4, np.float32))
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="num_users"):
        gym.make("pgsuite/WirelessIC-v0", num_users=[5, 2])
    with pytest.raises(ValueError, match="objective"):
        gym.make("pgsuite/WirelessMIMO-v0", objective="mean")


def test_sb3_ppo_trains_on_wireless_env():
    from stable_baselines3 import PPO

    env = gym.make("pgsuite/WirelessCellFree-v0", **SMALL["pgsuite/WirelessCellFree-v0"])
    model = PPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(128)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action.astype(np.float32))
