"""DrQ-v2 mechanics: vector-env collection, update schedule, metrics, pixels, and exact save → resume."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.visual.drqv2 import DrQV2, DrQV2Config

pytestmark = pytest.mark.mujoco

TINY = dict(
    num_seed_steps=20,
    num_expl_steps=20,
    batch_size=8,
    replay_capacity=1000,
    feature_dim=16,
    hidden_dim=32,
    log_every=20,
)


def _learner(obs: str = "state", num_envs: int = 2, seed: int = 0, **overrides) -> DrQV2:
    kwargs = {"obs": obs, "horizon": 30, "fast_render": True}
    factory = EnvFactory(
        EnvConfig(name="t", id="pgsuite/DMC-cartpole-balance-v0", kwargs=kwargs, num_envs=num_envs)
    )
    return DrQV2(DrQV2Config(**{**TINY, **overrides}), factory, seed=seed)


def test_state_variant_collects_from_vector_env_and_updates() -> None:
    torch.manual_seed(0)
    learner = _learner("state")
    metrics = list(learner.train_until(60))
    assert learner.num_steps == 60 and learner.num_envs == 2
    assert learner.encoder.conv is None  # state-based: no conv encoder, no augmentation
    # after 20 seed steps, 2 env steps per vector step and one update per 2 env steps
    assert learner.num_updates == (60 - 20) // 2 + 1
    last = [m for m in metrics if "charts/frames_per_s" in m][-1]
    assert last["charts/frames_per_s"] == pytest.approx(2 * last["charts/env_steps_per_s"])  # action repeat 2
    assert last["charts/updates_per_s"] > 0 and np.isfinite(last["losses/critic_loss"])
    episodes = [m for m in metrics if "train/episode_return" in m]
    assert len(episodes) == 2 * 2 and all(
        m["train/episode_length"] == 15 for m in episodes
    )  # 2 envs × 2 episodes of 30 sim steps / 2
    action = learner.act(np.zeros(5, np.float32))
    assert action.shape == (1,) and -1 <= action[0] <= 1
    learner.close()


def test_pixel_variant_augments_and_trains() -> None:
    torch.manual_seed(0)
    learner = _learner("pixels", num_envs=1, num_seed_steps=6, num_expl_steps=6, batch_size=4)
    list(learner.train_until(10))
    assert learner.num_updates == 2 and learner.encoder.conv is not None
    assert learner.replay.frames.shape[2:] == (3, 84, 84)  # frames stored once, stacks rebuilt
    obs = learner.envs.single_observation_space.sample()
    assert learner.act(obs).shape == (1,)
    learner.close()


def test_target_uses_discount_from_replay() -> None:
    """Terminal transitions (discount 0) do not bootstrap; truncated ones (γ^n) do."""
    learner = _learner("state", num_envs=1)
    h = torch.randn(4, learner.encoder.repr_dim)
    reward = torch.ones(4, 1)
    torch.manual_seed(1)
    terminal = learner.compute_target(reward, torch.zeros(4, 1), h)
    torch.manual_seed(1)
    bootstrapped = learner.compute_target(reward, torch.full((4, 1), 0.99**3), h)
    torch.testing.assert_close(terminal, reward)
    assert not torch.allclose(bootstrapped, reward)
    learner.close()


def _round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)  # what the runtime does


@pytest.mark.parametrize("obs", ["state", "pixels"])
def test_save_resume_gives_identical_updates(obs: str) -> None:
    steps = (40, 60) if obs == "state" else (12, 16)
    extra = {} if obs == "state" else {"num_seed_steps": 6, "num_expl_steps": 6, "batch_size": 4}
    torch.manual_seed(0)
    original = _learner(obs, **extra)
    list(original.train_until(steps[0]))
    state, arrays = _round_trip(original.state_dict()), {k: v.copy() for k, v in original.arrays().items()}
    resumed = _learner(obs, **extra)
    resumed.load_state_dict(state)
    resumed.load_arrays(arrays)
    runs = []
    for learner in (original, resumed):
        learner.on_segment_end(0)  # the runtime calls this after a checkpoint and after a resume
        torch.manual_seed(123)  # the runtime restores the global RNGs
        metrics = [m for m in learner.train_until(steps[1]) if "losses/critic_loss" in m]
        runs.append([{k: v for k, v in m.items() if "_per_s" not in k} for m in metrics])  # drop timings
    assert runs[0] == runs[1] and runs[0]
    for a, b in zip(
        original.state_dict()["critic"].values(), resumed.state_dict()["critic"].values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    original.close()
    resumed.close()


def test_rejects_unbounded_actions() -> None:
    factory = EnvFactory(EnvConfig(name="p", id="Pendulum-v1"))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        DrQV2(DrQV2Config(**TINY), factory, seed=0)
