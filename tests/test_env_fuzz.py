"""Every registered env id is fed NaN, inf, out-of-range and wrongly shaped actions (issue 20).

Each step either raises a ``ValueError`` with a one-line message, or — for continuous ``Box`` actions that
are finite but out of range, which envs document as clipped — returns finite observations and rewards.
NaN never reaches an observation or a reward. Gymnasium's classic-control envs that the suite trains on
(``CartPole-v1``, ``Pendulum-v1``) are fuzzed through the suite's env factory.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs
from agents.core.env_factory import EnvConfig, EnvFactory
from tests.test_n2n_env import TINY as N2N_TINY

ROBOTICS = ("MetaWorld", "DMC", "Adroit")
SLOW = {"DMC-dog-stand-v0", "DMC-dog-walk-v0", "DMC-dog-trot-v0", "DMC-dog-run-v0"}
CLASSIC = ["CartPole-v1", "Pendulum-v1"]


def _kwargs(env_id: str, tmp_path) -> dict[str, Any]:
    name = env_id.split("/")[-1]
    if name.startswith(("N2NRemoval", "N2NShrink")):
        return {**N2N_TINY, "cache_dir": str(tmp_path)}
    if name.startswith(ROBOTICS):
        return {"obs": "state"}
    return {}


def bad_actions(space: gym.Space) -> dict[str, tuple[Any, bool]]:
    """name → (action, may_clip): whether a finite-output step is acceptable instead of a ValueError."""
    if isinstance(space, gym.spaces.Box):
        shape = space.shape
        high = np.where(np.isfinite(space.high), space.high, 1.0)
        low = np.where(np.isfinite(space.low), space.low, -1.0)
        return {
            "nan": (np.full(shape, np.nan, dtype=space.dtype), False),
            "inf": (np.full(shape, np.inf, dtype=space.dtype), True),
            "too_high": ((high + 10 * (np.abs(high) + 1)).astype(space.dtype), True),
            "too_low": ((low - 10 * (np.abs(low) + 1)).astype(space.dtype), True),
            "wrong_shape": (np.zeros((*shape, 2), dtype=space.dtype), False),
        }
    if isinstance(space, gym.spaces.Discrete):
        return {
            "nan": (np.nan, False),
            "inf": (np.inf, False),
            "too_high": (int(space.start + space.n), False),
            "too_low": (int(space.start - 1), False),
            "fraction": (space.start + 0.5, False),
            "wrong_shape": (np.zeros(3, dtype=np.int64), False),
        }
    if isinstance(space, gym.spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec)
        return {
            "nan": (np.full(nvec.shape, np.nan), False),
            "too_high": (nvec.copy(), False),
            "too_low": (np.full(nvec.shape, -1), False),
            "fraction": (np.full(nvec.shape, 0.5), False),
            "wrong_shape": (np.zeros((*nvec.shape, 2), dtype=np.int64), False),
        }
    if isinstance(space, gym.spaces.MultiBinary):
        shape = np.asarray(space.n).reshape(-1)
        return {
            "nan": (np.full(tuple(shape), np.nan), False),
            "two": (np.full(tuple(shape), 2), False),
            "fraction": (np.full(tuple(shape), 0.5), False),
            "wrong_shape": (np.zeros((*tuple(shape), 2), dtype=np.int8), False),
        }
    raise AssertionError(f"no fuzz cases for {space}")


def _finite(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    arr = np.asarray(value)
    return not np.issubdtype(arr.dtype, np.number) or bool(np.isfinite(arr).all())


def _check(step: Any, action: Any, may_clip: bool, what: str) -> None:
    try:
        out = step(action)
    except ValueError as err:
        assert str(err).strip() and "\n" not in str(err).strip(), f"{what}: multi-line error {err!r}"
        return
    assert may_clip, f"{what}: accepted without a ValueError"
    obs, reward = out[0], out[1]
    assert _finite(obs) and _finite(reward), f"{what}: non-finite output"


def _marks(env_id: str) -> list[pytest.MarkDecorator]:
    name = env_id.split("/")[-1]
    marks = [pytest.mark.mujoco] if name.startswith(ROBOTICS) else []
    return marks + ([pytest.mark.slow] if name in SLOW else [])


GYM_IDS = [pytest.param(i, marks=_marks(i)) for i in envs.registered_gym_ids()]


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_gym_env_rejects_bad_actions(env_id, tmp_path):
    env = gym.make(env_id, **_kwargs(env_id, tmp_path))
    try:
        for name, (action, may_clip) in bad_actions(env.action_space).items():
            env.reset(seed=0)
            _check(env.step, action, may_clip, f"{env_id} {name}")
    finally:
        env.close()


@pytest.mark.parametrize("env_id", CLASSIC)
def test_classic_control_through_the_factory(env_id):
    env = EnvFactory(EnvConfig(id=env_id)).make(seed=0)
    try:
        for name, (action, may_clip) in bad_actions(env.action_space).items():
            env.reset(seed=0)
            _check(env.step, action, may_clip, f"{env_id} {name}")
    finally:
        env.close()


@pytest.mark.parametrize("env_id", envs.registered_parallel_ids())
def test_parallel_env_rejects_bad_actions(env_id):
    import pettingzoo

    env = pettingzoo.make("parallel", env_id)
    try:
        agent = env.possible_agents[0]
        for name, (action, may_clip) in bad_actions(env.action_space(agent)).items():
            env.reset(seed=0)
            good = {a: env.action_space(a).sample() for a in env.agents}

            def step(act: Any, good: dict = good) -> Any:
                return env.step({**good, agent: act})

            _check(step, action, may_clip, f"{env_id} {name}")
    finally:
        env.close()
