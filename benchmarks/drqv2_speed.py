"""DrQ-v2 throughput (updates/s, CPU and GPU when present) and a CPU-feasible learning check.

Usage:
    python -m benchmarks.drqv2_speed                    # updates/s: pixels (batch 32/256) and state (batch
    256)
    python -m benchmarks.drqv2_speed --learning-check   # state DrQ-v2 on dmc-cartpole-balance, then evaluate

The update benchmark fills a replay from random actions and times ``DrQV2.update()`` (augmentation, encoder,
twin critic, actor, target update) after warm-up; ratios are against the state-based update measured in
the same run. Numbers on a shared 2-core machine are inflated by contention: compare ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.visual.drqv2 import DrQV2, DrQV2Config


def _learner(obs: str, batch_size: int, device: str, channels_last: bool = True, **cfg) -> DrQV2:
    kwargs = {"obs": obs, "fast_render": True}
    factory = EnvFactory(EnvConfig(name="b", id="pgsuite/DMC-cartpole-balance-v0", kwargs=kwargs))
    config = DrQV2Config(
        batch_size=batch_size,
        replay_capacity=20_000,
        num_seed_steps=10**9,
        num_expl_steps=10**9,
        channels_last=channels_last,
        **cfg,
    )
    return DrQV2(config, factory, seed=0, device=device)


def updates_per_s(
    obs: str, batch_size: int, device: str, fill: int, repeats: int, channels_last: bool = True
) -> float:
    learner = _learner(obs, batch_size, device, channels_last)
    list(learner.train_until(fill))  # random actions, no updates (seed phase)
    for _ in range(2):
        learner.update()  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        learner.update()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    rate = repeats / (time.perf_counter() - start)
    learner.close()
    return rate


def speed(args: argparse.Namespace) -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, devices {devices}")
    for device in devices:
        base = updates_per_s("state", 256, device, 600, args.repeats * 5)
        print(f"[{device}] state  batch 256: {base:8.2f} updates/s  (ratio 1.00)")
        rows = [("pixels", 32, True), ("pixels", 32, False), ("pixels", 256, True)]
        if device == "cuda":
            rows.append(("pixels", 512, True))
        for obs, batch, cl in rows:
            rate = updates_per_s(obs, batch, device, 300, args.repeats, channels_last=cl)
            print(
                f"[{device}] {obs} batch {batch:3d} channels_last={cl!s:5}: {rate:8.2f} updates/s  (ratio "
                f"{rate / base:.3f})"
            )


def learning_check(args: argparse.Namespace) -> None:
    """State DrQ-v2 on DMC cartpole-balance; prints eval returns (random policy for reference)."""
    factory = EnvFactory(EnvConfig(name="lc", id="pgsuite/DMC-cartpole-balance-v0", kwargs={"obs": "state"}))
    cfg = DrQV2Config(
        num_seed_steps=1000,
        num_expl_steps=1000,
        hidden_dim=256,
        batch_size=256,
        stddev_schedule=f"linear(1.0,0.1,{args.steps})",
        log_every=2000,
    )
    torch.manual_seed(args.seed)
    learner = DrQV2(cfg, factory, seed=args.seed)

    def evaluate(policy) -> list[float]:
        env, returns = factory.make(), []
        for episode in range(args.episodes):
            obs, _ = env.reset(seed=10_000 + episode)
            done, total = False, 0.0
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += reward
                done = terminated or truncated
            returns.append(total)
        env.close()
        return returns

    rng = np.random.default_rng(0)
    random_returns = evaluate(lambda obs: rng.uniform(-1, 1, 1).astype(np.float32))
    start = time.perf_counter()
    for metrics in learner.train_until(args.steps):
        if "charts/updates" in metrics and learner.num_steps % 10_000 == 0:
            print({k: round(v, 3) for k, v in metrics.items()}, flush=True)
    minutes = (time.perf_counter() - start) / 60
    returns = evaluate(lambda obs: learner.act(obs, deterministic=True))
    print(f"random policy: {np.mean(random_returns):.1f} ± {np.std(random_returns):.1f}")
    print(
        f"DrQ-v2 state, seed {args.seed}, {args.steps} env steps ({2 * args.steps} frames), "
        f"{learner.num_updates} updates, {minutes:.1f} min: eval return {np.mean(returns):.1f} ± "
        f"{np.std(returns):.1f} "
        f"over {args.episodes} episodes"
    )
    learner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learning-check", action="store_true")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    learning_check(args) if args.learning_check else speed(args)


if __name__ == "__main__":
    main()
