"""MENTOR update speed at the paper's sizes: sparse top-k MoE dispatch vs the released dense compute.

Usage:
    python -m benchmarks.moe_speed                       # state and pixels, batch 256, 1 thread
    python -m benchmarks.moe_speed --obs state --repeats 20

Paper sizes (Huang et al. 2025; suninghuang19/mentor @ f4fa81f cfgs/agent/mentor*.yaml): actor hidden 1024
with 16 experts 1024→256→1024, top-4, gate 256; critic hidden 1024; feature 50; batch 256. Meta-World
hammer with MENTOR's Meta-World preset (Dropout+LayerNorm critic, n-step annealing). Two learners with the
same seed differ only in ``moe_dispatch``; after warm-up, their ``Mentor.update()`` calls are timed in
alternating rounds (so machine load hits both alike) and the ratio dense / sparse time is printed. Also the
MoE layer alone (forward + backward, batch 256). Results: ``docs/results/moe_speed.json``.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.visual.mentor import Mentor, MentorConfig
from policies.moe import MoE

#: MENTOR's Meta-World agent settings (agents/conf/env/metaworld-*.yaml agent_presets.mentor), minus camera.
METAWORLD = dict(
    std_scale=1.0,
    target_lambda=0.5,
    lambda_rule="constant",
    max_perturb_factor=0.95,
    perturb_interval=50_000,
    nstep_anneal=True,
    critic_dropout=0.01,
)


def make_learner(obs: str, dispatch: str, batch_size: int, device: str) -> Mentor:
    factory = EnvFactory(
        EnvConfig(name="b", id="pgsuite/MetaWorld-hammer-v0", kwargs={"obs": obs, "fast_render": True})
    )
    cfg = MentorConfig(
        batch_size=batch_size,
        replay_capacity=20_000,
        num_seed_steps=10**9,
        num_expl_steps=10**9,
        moe_dispatch=dispatch,
        **METAWORLD,
    )
    return Mentor(cfg, factory, seed=0, device=device)


def _time(fn, repeats: int, device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def update_times(obs: str, batch_size: int, device: str, fill: int, repeats: int, rounds: int) -> dict:
    """Seconds per ``Mentor.update()`` for dense and sparse dispatch (best round of each)."""
    learners = {d: make_learner(obs, d, batch_size, device) for d in ("dense", "sparse")}
    for learner in learners.values():
        list(learner.train_until(fill))  # random actions, no updates
        learner.update()  # warm-up
    best = {d: float("inf") for d in learners}
    for _ in range(rounds):
        for dispatch, learner in learners.items():
            best[dispatch] = min(best[dispatch], _time(learner.update, repeats, device))
    for learner in learners.values():
        learner.close()
    return best


def layer_times(batch_size: int, device: str, repeats: int, rounds: int) -> dict:
    """Seconds per MoE forward + backward at the paper's sizes, dense vs sparse."""
    torch.manual_seed(0)
    moe = MoE(1024).to(device)
    x = torch.randn(batch_size, 1024, device=device)

    def step(dispatch: str) -> None:
        moe.dispatch = dispatch
        y, aux = moe(x)
        (y.square().mean() + aux).backward()

    best = {"dense": float("inf"), "sparse": float("inf")}
    for _ in range(rounds):
        for dispatch in best:
            best[dispatch] = min(best[dispatch], _time(lambda d=dispatch: step(d), repeats, device))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obs", default="state,pixels")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="updates per timed round (pixels: / 5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="docs/results/moe_speed.json", help="'' to skip writing")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}, batch {args.batch_size}"
    )
    rows = []
    layer = layer_times(args.batch_size, args.device, args.repeats * 4, args.rounds)
    rows.append(
        {
            "what": "MoE layer fwd+bwd",
            "obs": "-",
            "dense_ms": 1e3 * layer["dense"],
            "sparse_ms": 1e3 * layer["sparse"],
            "speedup": layer["dense"] / layer["sparse"],
        }
    )
    print(
        f"MoE layer fwd+bwd: dense {1e3 * layer['dense']:.1f} ms, sparse {1e3 * layer['sparse']:.1f} ms, "
        f"speedup {layer['dense'] / layer['sparse']:.2f}x",
        flush=True,
    )
    for obs in args.obs.split(","):
        repeats = args.repeats if obs == "state" else max(1, args.repeats // 5)
        fill = 600 if obs == "state" else 300
        t = update_times(obs, args.batch_size, args.device, fill, repeats, args.rounds)
        rows.append(
            {
                "what": "Mentor.update()",
                "obs": obs,
                "dense_ms": 1e3 * t["dense"],
                "sparse_ms": 1e3 * t["sparse"],
                "speedup": t["dense"] / t["sparse"],
            }
        )
        print(
            f"Mentor.update() {obs:6s}: dense {1e3 * t['dense']:.1f} ms, sparse {1e3 * t['sparse']:.1f} ms, "
            f"speedup {t['dense'] / t['sparse']:.2f}x",
            flush=True,
        )
    if args.out:
        from benchmarks.make_docs import write_result

        path = write_result(
            args.out,
            "MENTOR update: sparse vs dense MoE dispatch (paper sizes)",
            rows,
            seeds=[0],
            budgets={
                "batch_size": args.batch_size,
                "repeats": args.repeats,
                "rounds": args.rounds,
                "threads": args.threads,
                "device": args.device,
            },
            command="python -m benchmarks.moe_speed " + " ".join(argv if argv is not None else sys.argv[1:]),
            notes="Best round of each; dense and sparse timed in alternating rounds. Shared 2-core CPU.",
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
