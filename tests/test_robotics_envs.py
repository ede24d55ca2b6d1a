"""Behaviour of the robotics envs: pixels and rendering, frame stack, action repeat, horizon, success,
errors."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers the ids

pytestmark = pytest.mark.mujoco


def test_headless_backend_is_egl_or_osmesa() -> None:
    from envs.robotics.rendering import setup_headless

    assert setup_headless() in ("egl", "osmesa")


@pytest.mark.parametrize(
    ("env_id", "obs"),
    [
        ("pgsuite/DMC-cartpole-balance-v0", "pixels"),
        ("pgsuite/MetaWorld-reach-v0", "pixels+state"),
        ("pgsuite/Adroit-pen-v0", "pixels"),
    ],
)
def test_pixel_envs_pass_checkers_with_rgb_array(env_id: str, obs: str) -> None:
    env = gym.make(env_id, obs=obs, render_mode="rgb_array", fast_render=True, horizon=10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gym_check_env(env.unwrapped, skip_close_check=True)
            sb3_check_env(env, warn=True)
        first, _ = env.reset(seed=0)
        pixels = first["pixels"] if obs == "pixels+state" else first
        assert pixels.shape == (9, 84, 84) and pixels.dtype == np.uint8
        assert pixels.std() > 0  # not a blank frame
        frame = env.render()
        assert frame.shape == (84, 84, 3) and frame.dtype == np.uint8
        np.testing.assert_array_equal(frame.transpose(2, 0, 1), pixels[-3:])  # render() = observation camera
    finally:
        env.close()


def test_frame_stack_repeats_first_frame_and_shifts() -> None:
    env = gym.make("pgsuite/DMC-cartpole-swingup-v0", fast_render=True, frame_stack=3, image_size=64)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (9, 64, 64)
    np.testing.assert_array_equal(obs[0:3], obs[3:6])
    np.testing.assert_array_equal(obs[3:6], obs[6:9])
    next_obs, *_ = env.step(np.ones(1, np.float32))
    np.testing.assert_array_equal(next_obs[0:6], obs[3:9])  # oldest frame dropped, newest appended
    assert not np.array_equal(next_obs[6:9], obs[6:9])
    env.close()


def test_action_repeat_sums_rewards() -> None:
    repeat2 = gym.make("pgsuite/DMC-cartpole-swingup-v0", obs="state", action_repeat=2)
    repeat1 = gym.make("pgsuite/DMC-cartpole-swingup-v0", obs="state", action_repeat=1)
    repeat2.reset(seed=3)
    repeat1.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        action = rng.uniform(-1, 1, 1).astype(np.float32)
        obs2, reward2, *_ = repeat2.step(action)
        _, reward_a, *_ = repeat1.step(action)
        obs1, reward_b, *_ = repeat1.step(action)
        assert reward2 == pytest.approx(reward_a + reward_b)
        np.testing.assert_allclose(obs2, obs1)


@pytest.mark.parametrize(("horizon", "repeat"), [(7, 2), (6, 3)])
def test_horizon_truncates_never_terminates(horizon: int, repeat: int) -> None:
    env = gym.make("pgsuite/DMC-cartpole-balance-v0", obs="state", horizon=horizon, action_repeat=repeat)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(math.ceil(horizon / repeat))]
    assert all(not terminated for terminated, _ in flags)
    assert [truncated for _, truncated in flags] == [False] * (len(flags) - 1) + [True]
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(env.action_space.sample())
    env.close()


def test_metaworld_success_is_any_step_and_sticky() -> None:
    """Drive reach's hand to the goal with a P-controller, then away: is_success stays True (any step)."""
    env = gym.make("pgsuite/MetaWorld-reach-v0", obs="state")
    obs, info = env.reset(seed=1)
    assert info["is_success"] is False
    reached = False
    for _ in range(env.unwrapped.max_episode_steps):
        hand, goal = obs[0:3], obs[36:39]
        direction = (goal - hand) if not reached else (hand - goal)
        action = np.append(np.clip(direction * 10.0, -1, 1), 0.0).astype(np.float32)
        obs, _, terminated, truncated, info = env.step(action)
        assert not terminated
        reached = reached or info["is_success"]
        if reached:
            assert info["is_success"] is True
        if truncated:
            break
    assert reached and info["is_success"] is True
    assert np.linalg.norm(obs[0:3] - obs[36:39]) > 0.05  # moved away again, still a success episode
    env.close()


def test_metaworld_seeding_and_randomised_goals() -> None:
    env = gym.make("pgsuite/MetaWorld-reach-v0", obs="state")
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[36:39], c[36:39])  # goal re-randomised (MENTOR: _freeze_rand_vec=False)
    env.close()


def test_metaworld_mentor_camera_pose() -> None:
    from envs.robotics.metaworld_env import MENTOR_CORNER2_POS

    env = gym.make("pgsuite/MetaWorld-reach-v0", camera="mentor")
    model = env.unwrapped._model
    cam = [model.camera(i).name for i in range(model.ncam)].index("corner2")
    np.testing.assert_allclose(model.cam_pos[cam], MENTOR_CORNER2_POS)
    env.close()


def test_adroit_success_rule_counts_goal_steps() -> None:
    door = gym.make("pgsuite/Adroit-door-v0", obs="state").unwrapped
    pen = gym.make("pgsuite/Adroit-pen-v0", obs="state").unwrapped
    assert (door._episode_success(25), door._episode_success(26)) == (False, True)  # DAPG: > 25 steps
    assert (pen._episode_success(20), pen._episode_success(21)) == (False, True)  # pen: > 20 steps
    _, info = door.reset(seed=0)
    _, _, _, _, info = door.step(np.zeros(door.action_space.shape, np.float32))
    assert info["is_success"] is False
    assert door.observation_space.shape == (39,)
    door.close()
    pen.close()


def test_adroit_pixels_state_is_24d_hand_proprio() -> None:
    env = gym.make("pgsuite/Adroit-hammer-v0", obs="pixels+state", fast_render=True)
    obs, _ = env.reset(seed=0)
    assert obs["state"].shape == (24,) and obs["pixels"].shape == (9, 84, 84)
    env.close()


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="obs must be one of"):
        gym.make("pgsuite/DMC-cartpole-balance-v0", obs="rgb")
    with pytest.raises(ValueError, match="camera"):
        gym.make("pgsuite/MetaWorld-reach-v0", camera="nope")
    env = gym.make("pgsuite/DMC-cartpole-balance-v0", obs="state")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.unwrapped.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.unwrapped.step(np.array([np.nan], np.float32))
    env.close()


def test_check_render_cli_reports_backend_and_fps() -> None:
    from conftest import run_module

    out = run_module("envs.check_render", "--frames", "5", timeout=120).stdout
    assert "MUJOCO_GL=" in out and "fast render 84x84" in out and "frames/s" in out
