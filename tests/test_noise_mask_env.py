"""pgsuite/NoiseMask-v0 and its mask pipeline (official ``train_one_epoch.py``)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401 - registers pgsuite/ ids
from envs.noise_mask.env import NoiseMaskEnv
from envs.noise_mask.pipeline import (
    apply_mask,
    gaussian_blur,
    gaussian_kernel1d,
    scaled_blur,
    scaled_grid,
    upsample_mask,
)


@pytest.fixture(scope="module")
def small_env():
    return NoiseMaskEnv(image_size=16, grid=4, held_out_classes=[8, 9], batch_size=8)


def test_env_passes_gymnasium_and_sb3_checkers_without_warnings():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make("pgsuite/NoiseMask-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        sb3_check_env(env)
    assert env.observation_space.shape == (1, 36, 36) and env.observation_space.dtype == np.uint8
    assert env.action_space.shape == (10, 10)  # the paper's 64 cells at 224 px scaled to 36 px


def test_paper_defaults_at_224_px_and_scaling():
    assert scaled_blur(224) == (13, 6.0) and scaled_grid(224) == 64
    kernel, sigma = scaled_blur(36)
    assert kernel % 2 == 1 and kernel >= 3 and sigma == pytest.approx(6.0 * 36 / 224)
    taps = gaussian_kernel1d(13, 6.0)
    assert taps.sum().item() == pytest.approx(1.0) and torch.equal(taps, taps.flip(0))


def test_mask_pipeline_shapes_and_value_range():
    torch.manual_seed(0)
    images = torch.randn(5, 3, 32, 32)
    masks = torch.rand(5, 8, 8)
    pixel = upsample_mask(masks, (32, 32), 5, 1.5)
    assert pixel.shape == (5, 1, 32, 32)
    assert pixel.min() >= 0.0 and pixel.max() <= 1.0 + 1e-6  # a convex blend of cell values stays in [0, 1]
    assert pixel.min() >= masks.min() - 1e-6 and pixel.max() <= masks.max() + 1e-6
    masked = apply_mask(images, masks, 5, 1.5)
    assert masked.shape == images.shape
    torch.testing.assert_close(masked, images * pixel)  # broadcast over channels
    torch.testing.assert_close(
        apply_mask(images, torch.ones(5, 8, 8), 5, 1.5), images
    )  # all-ones keeps the image
    assert apply_mask(images, torch.zeros(5, 8, 8), 5, 1.5).abs().max() == 0  # all-zeros gives the mean (0)
    # nearest upsampling: without blur each 4x4 block carries its cell's value
    torch.testing.assert_close(
        upsample_mask(masks, (32, 32), 1, 1.0)[:, 0, :4, :4], masks[:, :1, :1].expand(5, 4, 4)
    )
    # blur smooths: a single bright cell spreads, total mass is kept away from borders
    spike = torch.zeros(1, 1, 32, 32)
    spike[0, 0, 16, 16] = 1.0
    blurred = gaussian_blur(spike, 7, 2.0)
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-5) and blurred.max() < 0.1


def test_env_step_reward_and_errors(small_env):
    env = small_env
    obs, info = env.reset(seed=3)
    assert obs.shape == (1, 16, 16) and obs.dtype == np.uint8 and 0 <= info["label"] < 8
    _, reward, terminated, truncated, info = env.step(np.ones((4, 4), np.float32))
    assert reward <= 0.0 and reward == pytest.approx(-info["ce"]) and terminated and not truncated
    assert isinstance(info["is_success"], bool)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((4, 4), np.float32))
    env.reset()
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(16, np.float32))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        env.step(np.full((4, 4), 2.0, np.float32))


def test_classifier_trains_inside_the_env_so_rewards_are_non_stationary(small_env):
    env = small_env
    before = [p.detach().clone() for p in env.trainer.model.parameters()]
    env.reset(seed=0)
    for _ in range(env.batch_size):
        env.reset()
        env.step(env.action_space.sample())
    assert any(not torch.equal(a, b) for a, b in zip(before, env.trainer.model.parameters(), strict=True))
    frozen = NoiseMaskEnv(image_size=16, grid=4, batch_size=2, train_classifier=False)
    weights = [p.detach().clone() for p in frozen.trainer.model.parameters()]
    for _ in range(4):
        frozen.reset(seed=1)
        frozen.step(np.zeros((4, 4), np.float32))
    assert all(torch.equal(a, b) for a, b in zip(weights, frozen.trainer.model.parameters(), strict=True))


def test_seeded_order_held_out_classes_and_render(small_env):
    env = small_env
    first = [env.reset(seed=7)[1]["label"]] + [env.reset()[1]["label"] for _ in range(5)]
    again = [env.reset(seed=7)[1]["label"]] + [env.reset()[1]["label"] for _ in range(5)]
    assert first == again
    assert env.seen_classes == list(range(8)) and env.unseen_classes == [8, 9]
    assert set(env.splits["unseen_test"][1].tolist()) == {0, 1} and env.splits["train"][1].max() == 7
    obs, labels, _ = env.next_batch(8)
    ce = env.train_classifier(obs, labels, torch.rand(8, 4, 4))
    assert ce.shape == (8,) and not ce.requires_grad
    frame = NoiseMaskEnv(image_size=16, grid=4, render_mode="rgb_array")
    frame.reset(seed=0)
    frame.step(frame.action_space.sample())
    image = frame.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    with pytest.raises(ValueError, match="held_out_classes"):
        NoiseMaskEnv(image_size=16, held_out_classes=[10])
    with pytest.raises(ValueError, match="resnet18"):
        NoiseMaskEnv(image_size=16, model="vgg")


def test_resnet18_option_runs():
    env = NoiseMaskEnv(image_size=16, grid=4, model="resnet18", batch_size=4)
    obs, labels, _ = env.next_batch(4)
    assert env.train_classifier(obs, labels, torch.rand(4, 4, 4)).shape == (4,)
    assert sum(p.numel() for p in env.trainer.model.parameters()) > 10_000_000  # the full ResNet-18
