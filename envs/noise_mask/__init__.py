"""Policy-gradient noise mask (Yavuz & Yang, 2024, arXiv 2406.14568) as a gymnasium contextual bandit.

Registers ``pgsuite/NoiseMask-v0``: the observation is an image, the action a grid of mask values, the reward
the negative cross-entropy of a classifier that trains inside the environment on the masked images
(:class:`envs.noise_mask.env.NoiseMaskEnv`). Registration records a string entry point only; torch, the
classifier and the data set are loaded when the env is made.
"""

from __future__ import annotations

from envs.registration import register_gym


def register() -> None:
    """Register ``pgsuite/NoiseMask-v0`` (one-step episodes: one image, one mask)."""
    register_gym("NoiseMask-v0", "envs.noise_mask.env:NoiseMaskEnv", max_episode_steps=1)
