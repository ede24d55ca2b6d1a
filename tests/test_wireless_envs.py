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


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        ("pgsuite/WirelessIC-v0", {"snr_db": float("nan")}, "snr_db must be a finite number"),
        ("pgsuite/WirelessIC-v0", {"p_max": -1.0}, "p_max must be a finite number > 0"),
        ("pgsuite/WirelessIC-v0", {"num_users": 10.5}, "num_users must be an int"),
        ("pgsuite/WirelessIC-v0", {"num_users": True}, "num_users must be an int"),
        ("pgsuite/WirelessIC-v0", {"num_users": 100_000}, r"GiB per batch of 250 networks, above the bound"),
        ("pgsuite/WirelessMIMO-v0", {"snr_db": float("inf")}, "snr_db must be a finite number"),
        ("pgsuite/WirelessMIMO-v0", {"p_total": 0.0}, "p_total must be a finite number > 0"),
        ("pgsuite/WirelessMIMO-v0", {"cg_iters": 2.0}, "cg_iters must be an int"),
        ("pgsuite/WirelessMIMO-v0", {"num_antennas": [4, 100_000]}, "GiB"),
        ("pgsuite/WirelessCellFree-v0", {"rho_max": float("nan")}, "rho_max must be a finite number"),
        ("pgsuite/WirelessCellFree-v0", {"num_aps": [20, 10]}, "num_aps must be an int"),
        ("pgsuite/WirelessCellFree-v0", {"num_aps": 200_000, "num_users": 100}, "GiB"),
        ("pgsuite/WirelessCellFree-v0", {"shadow_db": -1.0}, "shadow_db must be >= 0"),
    ],
)
def test_constructor_validation_is_one_line(env_id, kwargs, match):
    """Issue 20: finite SNR, positive powers, integer sizes and a memory-derived size bound."""
    with pytest.raises(ValueError, match=match) as err:
        gym.make(env_id, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("env_id", sorted(SMALL))
def test_out_of_range_actions_are_clipped_and_bad_ones_raise(env_id):
    """Issue 20: the Box action is clipped to [-1, 1] (documented); NaN/inf/wrong shape raise one line."""
    env = gym.make(env_id, **SMALL[env_id]).unwrapped
    dim = env.action_space.shape[0]
    rewards = []
    for action in (np.full(dim, 7.5, np.float32), np.ones(dim, np.float32)):
        env.reset(seed=4)
        rewards.append(env.step(action)[1])
    assert np.isfinite(rewards[0]) and rewards[0] == pytest.approx(rewards[1])
    for bad, match in ((np.full(dim, np.inf), "NaN or inf"), (np.zeros(dim + 1), "shape")):
        env.reset(seed=4)
        with pytest.raises(ValueError, match=match) as err:
            env.step(bad)
        assert "\n" not in str(err.value)
