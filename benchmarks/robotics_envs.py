"""Env steps/s through our robotics envs vs the raw simulators, state and pixels (overhead target ≤ 5 %).

Usage: ``python -m benchmarks.robotics_envs [--steps 300] [--rounds 7]``.

For each task, "raw" is the family's own env stepped ``action_repeat`` (2) times per env step — Meta-World's
``SawyerXYZEnv.step``, ``dm_control``'s ``Environment.step``, gymnasium-robotics' ``AdroitHand*.step`` —
plus, for pixels, one 84×84 render with ``mujoco.Renderer`` (fast settings, as ours). "ours" is
``gym.make("pgsuite/...", obs=..., fast_render=True)`` (action validation, repeat loop with summed rewards,
success tracking, frame stack 3). Raw and ours run in alternating rounds of ``--steps`` steps and the
fastest round of each is reported (contention only ever slows a round down, so the fastest is the least
disturbed); overhead = 1 − ours / raw.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

TASKS = [
    "pgsuite/MetaWorld-assembly-v0",
    "pgsuite/DMC-walker-walk-v0",
    "pgsuite/DMC-cheetah-run-v0",
    "pgsuite/Adroit-door-v0",
]


class RawStepper:
    """The unwrapped simulator of one of our envs, stepped ``repeat`` times (+ one render) per env step."""

    def __init__(self, ours, pixels: bool) -> None:
        from envs.robotics.rendering import FrameRenderer

        base = ours.unwrapped
        self.kind = type(base).__name__
        self.sim = base._env
        self.repeat = base.action_repeat
        self.model, self.data = base._model, base._data
        self.renderer = (
            FrameRenderer(self.model, 84, 84, base._camera_for_renderer(), fast=True) if pixels else None
        )
        if self.kind == "DMCEnv":
            self.low, self.scale = base._act_low, base._act_scale

    def reset(self) -> None:
        self.sim.reset()

    def step(self, action: np.ndarray) -> None:
        if self.kind == "DMCEnv":  # [-1, 1] → actuator range, as any DMC agent must
            action = self.low + (action + 1.0) * self.scale
        for _ in range(self.repeat):
            self.sim.step(action)
        if self.renderer is not None:
            self.renderer.render(self.data)


def _rate(step, reset, actions: np.ndarray, horizon: int) -> float:
    reset()
    start = time.perf_counter()
    for k, action in enumerate(actions):
        if k and k % horizon == 0:
            reset()
        step(action)
    return len(actions) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    args = parser.parse_args()

    import gymnasium as gym

    import envs  # noqa: F401
    from envs.robotics.rendering import setup_headless

    print(
        f"MUJOCO_GL={setup_headless()}; {args.rounds} alternating rounds of {args.steps} env steps (action "
        f"repeat 2)"
    )
    print(f"{'task':34s} {'obs':7s} {'raw steps/s':>12s} {'ours steps/s':>13s} {'overhead':>9s}")
    for task in args.tasks:
        for obs in ("state", "pixels"):
            env = gym.make(task, obs=obs, fast_render=True, horizon=10**6)
            raw = RawStepper(env, pixels=obs == "pixels")
            steps = args.steps if obs == "state" else max(args.steps // 10, 20)
            actions = (
                np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape)).astype(np.float32)
            )
            horizon = 200  # both reset every 200 env steps (Meta-World's own limit is 500 sim steps)
            raw_rates, our_rates = [], []
            for _ in range(args.rounds):
                raw_rates.append(_rate(raw.step, raw.reset, actions, horizon))
                our_rates.append(_rate(env.step, lambda e=env: e.reset(seed=0), actions, horizon))
            raw_r, our_r = max(raw_rates), max(our_rates)
            print(f"{task:34s} {obs:7s} {raw_r:12.1f} {our_r:13.1f} {1 - our_r / raw_r:9.1%}", flush=True)
            if raw.renderer is not None:
                raw.renderer.close()
            env.close()


if __name__ == "__main__":
    main()
