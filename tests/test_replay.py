"""Frame-once replay: frame stacks rebuilt exactly, n-step returns vs brute force, truncation bootstraps."""

from __future__ import annotations

import numpy as np
import pytest

from agents.core.replay import ReplayBuffer

GAMMA, NSTEP, STACK = 0.9, 3, 3


def _frame(t: int) -> np.ndarray:
    return np.full((3, 4, 4), t % 256, np.uint8)


def _simulate(buffer: ReplayBuffer, lengths: list[int], terminal: list[bool], seed: int = 0):
    """One stream; episodes of given lengths; returns the list of transitions with ground truth."""
    rng = np.random.default_rng(seed)
    t, transitions = 0, []
    for length, term in zip(lengths, terminal, strict=True):
        frames = [_frame(t)]
        buffer.start(np.stack([np.concatenate([frames[0]] * STACK)]))
        episode = []
        for k in range(length):
            t += 1
            frames.append(_frame(t))
            action = rng.uniform(-1, 1, (1, 2)).astype(np.float32)
            reward = np.array([rng.normal()], np.float32)
            end = k == length - 1
            stack = np.concatenate([frames[max(j, 0)] for j in range(len(frames) - STACK, len(frames))])
            terminated, truncated = np.array([end and term]), np.array([end and not term])
            next_obs = stack[None] if not end else np.zeros_like(stack)[None]  # a reset obs would go here
            buffer.add(
                action, reward, terminated, truncated, next_obs, final_obs=stack[None] if end else None
            )
            episode.append((action[0], float(reward[0]), bool(terminated[0])))
        transitions.append((episode, frames))
        t += 1
    return transitions


def _expected(episode, frames, k: int):
    reward, m = 0.0, 0
    for j in range(NSTEP):
        if k + j >= len(episode):
            break
        reward += GAMMA**j * episode[k + j][1]
        m = j + 1
        if episode[k + j][2]:
            return reward, 0.0, k + m
    return reward, GAMMA**m, k + m


def _stack(frames, i: int) -> np.ndarray:
    return np.concatenate([frames[max(j, 0)] for j in range(i - STACK + 1, i + 1)])


def test_each_frame_is_stored_once() -> None:
    buffer = ReplayBuffer(100, 2, 2, frame_shape=(3, 84, 84), frame_stack=3)
    assert buffer.frames.shape == (2, 50, 3, 84, 84)  # one frame per slot, not 9 channels


@pytest.mark.parametrize("terminal", [[True, False, True], [False, False, False]])
def test_samples_match_brute_force_nstep(terminal: list[bool]) -> None:
    lengths = [5, 2, 7]
    buffer = ReplayBuffer(1000, 1, 2, frame_shape=(3, 4, 4), frame_stack=STACK, nstep=NSTEP, discount=GAMMA)
    episodes = _simulate(buffer, lengths, terminal)
    batch = buffer.sample(512)
    # Identify each sampled transition by its first frame value (frame t encodes the global time t).
    index = {}
    for episode, frames in episodes:
        for k in range(len(episode)):
            index[int(frames[k][0, 0, 0])] = (episode, frames, k)
    seen = set()
    for b in range(512):
        episode, frames, k = index[int(batch["obs"]["pixels"][b, -1, 0, 0])]
        seen.add((id(episode), k))
        np.testing.assert_array_equal(batch["obs"]["pixels"][b], _stack(frames, k))
        np.testing.assert_array_equal(batch["action"][b], episode[k][0])
        reward, discount, next_k = _expected(episode, frames, k)
        assert batch["reward"][b] == pytest.approx(reward, rel=1e-5)
        assert batch["discount"][b] == pytest.approx(discount, rel=1e-6)
        np.testing.assert_array_equal(batch["next_obs"]["pixels"][b], _stack(frames, next_k))
    assert len(seen) == sum(lengths)  # every transition is reachable, final observations are never sampled


def test_truncation_bootstraps_and_termination_does_not() -> None:
    buffer = ReplayBuffer(100, 1, 2, frame_shape=(3, 4, 4), frame_stack=STACK, nstep=1, discount=GAMMA)
    _simulate(buffer, [1], [False])
    assert buffer.sample(4)["discount"] == pytest.approx([GAMMA] * 4)  # truncated: γ·Q(final obs)
    buffer = ReplayBuffer(100, 1, 2, frame_shape=(3, 4, 4), frame_stack=STACK, nstep=1, discount=GAMMA)
    _simulate(buffer, [1], [True])
    assert buffer.sample(4)["discount"] == pytest.approx([0.0] * 4)


def test_ring_wraps_and_state_vectors() -> None:
    buffer = ReplayBuffer(20, 2, 1, state_dim=3, nstep=2, discount=GAMMA, seed=1)
    buffer.start(np.zeros((2, 3), np.float32))
    for t in range(1, 40):
        obs = np.full((2, 3), t, np.float32)
        buffer.add(np.zeros((2, 1)), np.ones(2), np.zeros(2, bool), np.zeros(2, bool), obs)
    batch = buffer.sample(64)
    assert batch["obs"]["state"].min() >= 30  # only the 10 newest slots per stream survive
    obs, gap = batch["obs"]["state"][:, 0], batch["next_obs"]["state"][:, 0] - batch["obs"]["state"][:, 0]
    # 2-step returns, except from the newest transition whose future is not known yet (1 step, bootstrapped)
    np.testing.assert_allclose(gap, np.where(obs == 38, 1, 2))
    np.testing.assert_allclose(batch["reward"], np.where(obs == 38, 1, 1 + GAMMA), rtol=1e-6)
    np.testing.assert_allclose(batch["discount"], np.where(obs == 38, GAMMA, GAMMA**2), rtol=1e-6)


def test_arrays_and_state_round_trip() -> None:
    buffer = ReplayBuffer(
        200, 1, 2, frame_shape=(3, 4, 4), frame_stack=STACK, nstep=NSTEP, discount=GAMMA, seed=3
    )
    _simulate(buffer, [6, 4], [False, True])
    clone = ReplayBuffer(
        200, 1, 2, frame_shape=(3, 4, 4), frame_stack=STACK, nstep=NSTEP, discount=GAMMA, seed=99
    )
    clone.load_arrays(buffer.arrays())
    clone.load_state_dict(buffer.state_dict())
    a, b = buffer.sample(32), clone.sample(32)
    np.testing.assert_array_equal(a["obs"]["pixels"], b["obs"]["pixels"])
    np.testing.assert_array_equal(a["reward"], b["reward"])


def test_add_before_start_is_an_error() -> None:
    buffer = ReplayBuffer(100, 1, 1, state_dim=2)
    with pytest.raises(RuntimeError, match="start"):
        buffer.add(np.zeros((1, 1)), np.zeros(1), np.zeros(1, bool), np.zeros(1, bool), np.zeros((1, 2)))
