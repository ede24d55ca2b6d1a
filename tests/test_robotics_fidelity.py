"""Fidelity of the robotics envs (issue 16): DAPG's Adroit reward recomputed from the simulator state, and
our envs against the raw simulators (same seed, same actions → same observations and rewards)."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import envs  # noqa: F401 - registers the ids

pytestmark = pytest.mark.mujoco


def _dapg_reward(task: str, model, data, pen_lengths: tuple[float, float]) -> float:
    """DAPG's dense reward (Rajeswaran et al. 2018; mj_envs ``{door,hammer,relocate,pen}_v0.py``), by hand.

    Ids are looked up by name here, independently of the env code under test.
    """

    def site(name: str) -> np.ndarray:
        return data.site_xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name)]

    def body(name: str) -> np.ndarray:
        return data.xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)]

    norm = np.linalg.norm
    if task == "door":
        hinge = data.qpos[
            model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, "door_hinge")]
        ]
        reward = -0.1 * norm(site("S_grasp") - site("S_handle"))
        reward += -0.1 * (hinge - 1.57) ** 2 - 1e-5 * np.sum(data.qvel**2)
        return reward + 2.0 * (hinge > 0.2) + 8.0 * (hinge > 1.0) + 10.0 * (hinge > 1.35)
    if task == "hammer":
        obj, tool, nail, goal = body("Object"), site("tool"), site("S_target"), site("nail_goal")
        reward = -0.1 * norm(site("S_grasp") - obj) - norm(tool - nail) - 10.0 * norm(nail - goal)
        reward -= 1e-2 * norm(data.qvel)
        reward += 2.0 * (obj[2] > 0.04 and tool[2] > 0.04)
        return reward + 25.0 * (norm(nail - goal) < 0.02) + 75.0 * (norm(nail - goal) < 0.01)
    if task == "relocate":
        obj, palm, target = body("Object"), site("S_grasp"), site("target")
        reward = -0.1 * norm(palm - obj)
        if obj[2] > 0.04:
            reward += 1.0 - 0.5 * norm(palm - target) - 0.5 * norm(obj - target)
        return reward + 10.0 * (norm(obj - target) < 0.1) + 20.0 * (norm(obj - target) < 0.05)
    # pen: no hand-to-object term
    obj = body("Object")
    dist = norm(obj - site("eps_ball"))
    similarity = np.dot(
        (site("object_top") - site("object_bottom")) / pen_lengths[0],
        (site("target_top") - site("target_bottom")) / pen_lengths[1],
    )
    reward = -dist + similarity + 10.0 * (dist < 0.075 and similarity > 0.9)
    return reward + 50.0 * (dist < 0.075 and similarity > 0.95) - 5.0 * (obj[2] < 0.075)


@pytest.mark.parametrize("task", ["door", "hammer", "relocate", "pen"])
def test_adroit_reward_is_dapgs_computed_from_sim_state(task: str) -> None:
    env = gym.make(f"pgsuite/Adroit-{task}-v0", obs="state", action_repeat=1, reward_scale=1.0).unwrapped
    env.reset(seed=3)
    sites = {env._model.site(i).name: env._data.site_xpos[i].copy() for i in range(env._model.nsite)}
    lengths = (1.0, 1.0)  # DAPG's pen_length / tar_length: the pens' lengths measured at reset
    if task == "pen":
        lengths = tuple(
            float(np.linalg.norm(sites[f"{p}_top"] - sites[f"{p}_bottom"])) for p in ("object", "target")
        )
    rng = np.random.default_rng(0)
    for _ in range(40):
        _, reward, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
        assert reward == pytest.approx(_dapg_reward(task, env._model, env._data, lengths), abs=1e-9)
    env.close()


@pytest.mark.parametrize("task", ["door", "pen"])
def test_adroit_matches_raw_v1_up_to_the_documented_sign_fix(task: str) -> None:
    """Same seed and actions in the raw gymnasium-robotics v1 env: identical states; rewards differ by
    exactly −0.2·‖palm − handle‖ on door (v1's +0.1 vs DAPG's −0.1) and not at all on pen."""
    import gymnasium_robotics.envs.adroit_hand as adroit

    ours = gym.make(f"pgsuite/Adroit-{task}-v0", obs="state", action_repeat=2, reward_scale=1.0).unwrapped
    if ours._hand_term_fix is None and task == "door":
        pytest.skip("an upstream fixed AdroitHand*-v2 is installed: no correction to compare")
    raw = {"door": adroit.AdroitHandDoorEnv, "pen": adroit.AdroitHandPenEnv}[task]()
    obs, _ = ours.reset(seed=7)
    raw_obs, _ = raw.reset(seed=int(np.random.default_rng(7).integers(2**31 - 1)))  # our per-episode seed
    np.testing.assert_array_equal(obs, raw_obs.astype(np.float32))
    rng = np.random.default_rng(1)
    for _ in range(30):
        action = rng.uniform(-1, 1, ours.action_space.shape).astype(np.float32)
        obs, reward, *_ = ours.step(action)
        raw_reward = 0.0
        for _ in range(2):
            raw_obs, r, *_ = raw.step(action)
            raw_reward += r
            if task == "door":
                palm = raw.data.site_xpos[raw.grasp_site_id]
                raw_reward -= 0.2 * np.linalg.norm(palm - raw.data.site_xpos[raw.handle_site_id])
        np.testing.assert_array_equal(obs, raw_obs.astype(np.float32))
        assert reward == pytest.approx(raw_reward, abs=1e-9)
    ours.close(), raw.close()


def test_metaworld_matches_raw_simulator() -> None:
    """Meta-World reach through our env vs the raw v3 env set up the same way: obs and summed reward equal."""
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    ours = gym.make("pgsuite/MetaWorld-reach-v0", obs="state").unwrapped
    raw = ALL_V3_ENVIRONMENTS["reach-v3"]()
    raw._partially_observable = False
    raw.__dict__.pop("sawyer_observation_space", None)
    raw._freeze_rand_vec, raw.seeded_rand_vec, raw._set_task_called = False, True, True
    raw.max_path_length = 501
    obs, _ = ours.reset(seed=4)
    raw.seed(int(np.random.default_rng(4).integers(2**31 - 1)))
    raw_obs, _ = raw.reset()
    np.testing.assert_array_equal(obs, raw_obs.astype(np.float32))
    rng = np.random.default_rng(2)
    for _ in range(25):
        action = rng.uniform(-1, 1, 4).astype(np.float32)
        obs, reward, *_ = ours.step(action)
        raw_reward = 0.0
        for _ in range(2):
            raw_obs, r, *_ = raw.step(action)
            raw_reward += r
        np.testing.assert_array_equal(obs, raw_obs.astype(np.float32))
        assert reward == pytest.approx(raw_reward, abs=0.0)
    ours.close(), raw.close()


def test_dmc_matches_raw_dm_control() -> None:
    from dm_control import suite

    ours = gym.make("pgsuite/DMC-walker-walk-v0", obs="state").unwrapped
    raw = suite.load("walker", "walk", task_kwargs={"random": np.random.RandomState(0)})
    obs, _ = ours.reset(seed=5)
    raw.task._random = np.random.RandomState(int(np.random.default_rng(5).integers(2**31 - 1)))
    timestep = raw.reset()
    np.testing.assert_array_equal(obs, ours._state(timestep.observation))
    spec = raw.action_spec()
    rng = np.random.default_rng(3)
    for _ in range(25):
        action = rng.uniform(-1, 1, spec.shape).astype(np.float32)
        scaled = spec.minimum + (action.astype(np.float64) + 1.0) * (spec.maximum - spec.minimum) / 2.0
        obs, reward, *_ = ours.step(action)
        raw_reward = 0.0
        for _ in range(2):
            timestep = raw.step(scaled)
            raw_reward += timestep.reward
        np.testing.assert_array_equal(obs, ours._state(timestep.observation))
        assert reward == pytest.approx(raw_reward, abs=0.0)
    ours.close()


@pytest.mark.parametrize("env_id", ["pgsuite/Adroit-door-v0", "pgsuite/MetaWorld-reach-v0"])
def test_bad_actions_raise_one_line_errors_or_clip(env_id: str) -> None:
    """Issue 20: NaN / inf / wrong shape → one-line ValueError; finite out-of-range → clipped (Box docs)."""
    env = gym.make(env_id, obs="state").unwrapped
    env.reset(seed=0)
    shape = env.action_space.shape
    for bad in (np.full(shape, np.nan), np.full(shape, np.inf), np.zeros(shape[0] + 1)):
        with pytest.raises(ValueError) as err:
            env.step(bad.astype(np.float32))
        assert "\n" not in str(err.value)
    _, reward, *_ = env.step(np.full(shape, 5.0, np.float32))
    assert np.isfinite(reward)
    env.close()
