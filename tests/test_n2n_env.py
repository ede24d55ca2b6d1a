"""N2N envs on a tiny configuration: checkers, rewards, reward/teacher caches, the local worker pool."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers the ids
from benchmarks.n2n_settings import TINY
from envs.compression.core import CompressionConfig, CompressionCore, get_core
from envs.compression.pool import LocalPool, SerialPool, make_pool
from envs.compression.teachers import teacher_cache_path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return {**TINY, "cache_dir": str(tmp_path_factory.mktemp("teachers"))}


@pytest.mark.parametrize("env_id", ["pgsuite/N2NRemoval-ResNet18-v0", "pgsuite/N2NShrink-VGG11-v0"])
def test_env_checkers(env_id: str, tiny: dict) -> None:
    env = gym.make(env_id, **tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
        sb3_check_env(env)
    env.close()


def test_removal_step_reward_and_info(tiny: dict) -> None:
    env = gym.make("pgsuite/N2NRemoval-ResNet34-v0", **tiny)
    u = env.unwrapped
    obs, _ = env.reset(seed=0)
    assert obs.shape == (35 * 7,) and u.descriptors.shape == (35, 7)
    keep_all = np.ones(35, dtype=np.int8)
    _, reward, terminated, truncated, info = env.step(keep_all)
    assert terminated and not truncated
    assert reward == -1.0 and info["degenerate"] and "parent" in info["reason"]  # the teacher itself
    env.reset()
    drop = keep_all.copy()
    drop[u.free_mask] = 0
    _, reward, *_, info = env.step(drop)
    core = u.core
    c = 1 - info["params"] / core.teacher_params
    assert reward == pytest.approx(c * (2 - c) * info["val_acc"] / core.teacher_val_acc)
    assert info["compression"] == pytest.approx(core.teacher_params / info["params"])
    hits = core.cache_hits
    env.reset()
    _, reward2, *_ = env.step(drop)  # same architecture: cached, identical reward
    assert core.cache_hits == hits + 1 and reward2 == reward
    with pytest.raises(ValueError, match=r"must have shape \(35,\).*got shape \(3,\)"):
        env.step(np.ones(3, dtype=np.int8))


@pytest.mark.parametrize(
    ("bad", "index", "shown"),
    [(np.nan, 4, "nan"), (np.inf, 0, "inf"), (0.5, 7, "0.5"), (2, 3, "2"), (-1, 34, "-1")],
)
def test_removal_rejects_non_binary_actions(tiny: dict, bad: float, index: int, shown: str) -> None:
    """Issue 20: only exact 0/1; the error names the entry and its value, before any student is trained."""
    env = gym.make("pgsuite/N2NRemoval-ResNet34-v0", **tiny).unwrapped
    action = np.ones(35, dtype=np.float64)
    action[index] = bad
    trained = env.core.students_trained
    with pytest.raises(ValueError, match=rf"action\[{index}\] = {shown}.*exactly 0 \(remove\) or 1 \(keep\)"):
        env.step(action)
    assert env.core.students_trained == trained
    assert env._check_action(np.array([True] * 35)).dtype == env.action_space.dtype  # bools are 0/1
    assert env._check_action(np.ones(35, dtype=np.float32)).tolist() == [1] * 35  # exact floats pass


@pytest.mark.parametrize(("bad", "shown"), [(11, "11"), (-1, "-1"), (2.5, "2.5"), (np.nan, "nan")])
def test_shrink_rejects_out_of_range_actions(tiny: dict, bad: float, shown: str) -> None:
    env = gym.make("pgsuite/N2NShrink-VGG11-v0", **tiny).unwrapped
    action = np.full(env.action_space.shape, 10, dtype=np.float64)
    action[5] = bad
    with pytest.raises(ValueError, match=rf"action\[5\] = {shown}.*integer index in \[0, 10\]"):
        env.step(action)
    with pytest.raises(ValueError, match=rf"shape \({env.num_layers * 3},\).*got shape \(2, 3\)"):
        env.step(np.zeros((2, 3), dtype=np.int64))


def test_shrink_env_parent_and_degenerate(tiny: dict) -> None:
    env = gym.make("pgsuite/N2NShrink-VGG11-v0", **tiny).unwrapped
    assert env.action_space.shape == (env.num_layers * 3,)
    keep = np.full(env.action_space.shape, 10)  # ratio 1.0 everywhere: the parent itself
    assert env.step(keep)[1] == -1.0
    # kernel 1x1 everywhere, no padding, on an 8x8 input: valid; compare with the spec rule
    spec = env.student_spec(np.zeros(env.action_space.shape, dtype=np.int64))
    assert all(u["kernel"] == 1 and u["padding"] == 0 for u in spec["layers"] if u["type"] == "conv")


def test_constraint_penalty_in_env(tiny: dict) -> None:
    env = gym.make(
        "pgsuite/N2NRemoval-ResNet18-v0", **tiny, min_compression=1000.0, anneal_iterations=2
    ).unwrapped
    action = np.zeros(env.num_layers, dtype=np.int8)
    env.reset(options={"iteration": 0})
    r0, info = env.evaluate_actions([action])[0]
    assert info["constraint_violated"] and not info["is_success"] and r0 > 0
    env.reset(options={"iteration": 2})
    assert env.step(action)[1] == pytest.approx(-1.0)


def test_teacher_cache_hit(tiny: dict) -> None:
    cfg = CompressionConfig.from_kwargs(teacher="resnet18", **tiny)
    core = get_core(cfg)
    assert Path(core.teacher_info["path"]).is_file()
    again = CompressionCore(cfg)  # a fresh core loads the cached file instead of training
    assert again.teacher_info["source"] == "cache"
    assert again.teacher_val_acc == core.teacher_val_acc
    assert (
        teacher_cache_path(tiny["cache_dir"], {"arch": "resnet18", "width": 1, "data": "d", "seed": 1}).suffix
        == ".safetensors"
    )
    with pytest.raises(ValueError, match="unknown N2N env argument"):
        CompressionConfig.from_kwargs(teacher="resnet18", widht=1.0)


@pytest.mark.slow  # spawns a process that imports torch and rebuilds the core
def test_local_pool_matches_serial(tiny: dict) -> None:
    cfg = CompressionConfig.from_kwargs(teacher="resnet18", **tiny)
    env = gym.make("pgsuite/N2NRemoval-ResNet18-v0", **tiny).unwrapped
    rng = np.random.default_rng(1)
    specs = [env.student_spec((rng.random(env.num_layers) < 0.5).astype(np.int8)) for _ in range(2)]
    serial = SerialPool(cfg).train(specs)
    assert isinstance(make_pool(cfg, "local", 1), SerialPool)
    pool = LocalPool(cfg, workers=1)  # one spawned process: same code path as more workers
    try:
        parallel = pool.train(specs)
    finally:
        pool.close()
    assert [r["val_acc"] for r in parallel] == [r["val_acc"] for r in serial]


def test_teacher_cache_does_not_move_the_global_rng(tmp_path: Path) -> None:
    """A cached teacher leaves torch's RNG where training it would (same seed, same search; issue 18)."""
    from envs.classifier import FitConfig
    from envs.compression.arch import teacher_spec
    from envs.compression.teachers import load_or_train_teacher

    spec = teacher_spec("vgg11", 0.125, (1, 8, 8), 10)
    images, labels = torch.rand(32, 1, 8, 8), torch.randint(0, 10, (32,))
    fields = {"arch": "vgg11", "width": 0.125, "data": "test", "seed": 0}
    draws = []
    for expected_source in ("trained", "cache"):
        torch.manual_seed(0)
        _, info = load_or_train_teacher(spec, fields, images, labels, FitConfig(epochs=1, lr=1e-3), tmp_path)
        assert info["source"] == expected_source
        draws.append(torch.rand(3))
    assert torch.equal(draws[0], draws[1])
