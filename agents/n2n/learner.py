"""N2N learner (Ashok et al., ICLR 2018, Algorithm 1): stage-1 removal, then stage-2 shrinkage, each by
REINFORCE over one-step N2N envs (:mod:`envs.compression`).

Per policy update: sample m architectures from the policy (``rollouts``, default 5), train and score their
students in parallel (``workers`` processes, or a Ray cluster with ``pool: ray``; rewards are cached by
architecture hash), then one Adam step on  −1/m Σ_k (R_k − b) log π(a_k)  with b the running mean of past
batch-mean rewards (paper's REINFORCE equation; :mod:`agents.core.reinforce`). Stage 2 starts from the best
stage-1 student. ``finish()`` fine-tunes the best students (CE + λ·KD), reports the table and saves the
best one (reload: ``envs.compression.load_student("<run>/artifacts/best_student.safetensors")``).

``num_steps`` counts rollouts (one one-step episode each). ``init_from=<run>/checkpoints/best`` starts both
policies from another run (policy transfer, e.g. ResNet-18 → ResNet-34).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.core.base import Learner, LearnerConfig
from agents.core.env_factory import EnvFactory
from agents.core.reinforce import RunningMeanBaseline, reinforce_loss
from agents.core.seeding import derive_seed
from agents.runtime.checkpoint import load_checkpoint
from envs.compression import env_id
from envs.compression.arch import spec_to_json
from envs.compression.finetune import Candidate, finetune_and_report
from envs.compression.pool import make_pool
from envs.compression.removal_env import N2NRemovalEnv
from envs.compression.reward import n2n_reward
from envs.compression.shrink_env import N2NShrinkEnv
from envs.compression.student import SHRINK_RATIOS
from policies.sequence import RemovalPolicy, ShrinkPolicy


@dataclass
class N2NConfig(LearnerConfig):
    """Hyperparameters; defaults are the official code's (github.com/anubhavashok/N2N at 544f5dd,
    ``rl.py``/``model.py``) unless noted."""

    # null: half of run.total_steps / rollouts
    stage1_iterations: int | None = (
        None  # policy updates of stage 1; None: half of run.total_steps / rollouts
    )
    stage2_iterations: int | None = None  # policy updates of stage 2; None: the other half
    rollouts: int = 5  # m architectures per update
    lr_remove: float = 3e-3
    shrink_init_keep: float | None = None  # None: official init; p: initial P(ratio 1.0) (issue 19)
    lr_shrink: float = 0.01  # official 0.1 trained only the head (quirk 2); all LSTM weights train here
    hidden: int = 30
    lstm_layers: int = 2
    baseline_decay: float | None = None  # None: running mean of batch means (official); else an EMA
    advantage: str = "per_rollout"  # per_rollout: R_k − b (paper); batch_mean: mean(R) − b (official code)
    workers: int = 2  # processes training students in parallel (≤ 1: in this process)
    pool: str = "local"  # local | ray
    ray_address: str | None = None
    shrink_env_kwargs: dict[str, Any] = field(default_factory=dict)  # stage-2 env overrides (constraints)
    init_from: str | None = None  # <run>/checkpoints/<name>: start both policies from that run's
    top_k: int = 10  # best students remembered for the final fine-tune
    finetune_top_k: int = 3  # how many of them are fine-tuned
    finetune_epochs: int | None = None  # None: 10 × the env's student_epochs
    finetune_lr: float = 1e-3
    finetune_kd_weight: float = 1.0  # λ in CE + λ·L_KD (tuned per student in the paper)


class N2NLearner(Learner):
    """Two-stage N2N search with REINFORCE; see the module docstring."""

    Config = N2NConfig
    observation_spaces = ("vector",)
    action_spaces = ("multi-binary",)

    def __init__(self, cfg: N2NConfig, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        if cfg.advantage not in ("per_rollout", "batch_mean"):
            raise ValueError(f"advantage must be 'per_rollout' or 'batch_mean', got {cfg.advantage!r}")
        if cfg.rollouts < 1:
            raise ValueError(f"rollouts must be >= 1, got {cfg.rollouts}")
        start = time.perf_counter()
        self.removal_env: N2NRemovalEnv = env.make(seed=derive_seed(seed, "env")).unwrapped
        if not isinstance(self.removal_env, N2NRemovalEnv):
            raise ValueError(f"the N2N learner needs a pgsuite/N2NRemoval-* env, got {env.id}")
        self.core = self.removal_env.core
        self.shrink_env: N2NShrinkEnv | None = None
        self.removal_policy = RemovalPolicy(7, cfg.hidden, cfg.lstm_layers)
        self.shrink_policy = ShrinkPolicy(SHRINK_RATIOS, 7, cfg.hidden, cfg.lstm_layers, cfg.shrink_init_keep)
        if cfg.init_from:
            self._transfer(cfg.init_from)
        self.opt_remove = torch.optim.Adam(self.removal_policy.parameters(), lr=cfg.lr_remove)
        self.opt_shrink = torch.optim.Adam(self.shrink_policy.parameters(), lr=cfg.lr_shrink)
        self.baseline_remove = RunningMeanBaseline(cfg.baseline_decay)
        self.baseline_shrink = RunningMeanBaseline(cfg.baseline_decay)
        self.iteration = 0
        #: Set by the runtime after construction; the stage lengths default to an even split of it.
        self.total_steps: int | None = None
        self.candidates: list[Candidate] = []
        self.stage1_parent = ""  # JSON spec of the stage-2 parent once chosen
        #: The student with the best *unpenalized* reward C(2-C)·A/A_t of the run, constraint or not
        #: (reported next to the constrained final student; issue 19).
        self.unconstrained: Candidate | None = None
        self.elapsed = time.perf_counter() - start  # includes teacher training / loading
        self._pool: Any = None

    # -- set-up helpers ---------------------------------------------------------------------------
    @property
    def stage_iterations(self) -> tuple[int, int]:
        """(stage-1, stage-2) policy updates: from the config, else an even split of ``total_steps``."""
        per_stage = -(-(self.total_steps or 0) // (2 * self.cfg.rollouts))  # ceil
        s1 = self.cfg.stage1_iterations if self.cfg.stage1_iterations is not None else per_stage
        s2 = self.cfg.stage2_iterations if self.cfg.stage2_iterations is not None else per_stage
        return s1, s2

    @property
    def total_iterations(self) -> int:
        return sum(self.stage_iterations)

    @property
    def stage(self) -> int:
        return 1 if self.iteration < self.stage_iterations[0] else 2

    def _transfer(self, path: str) -> None:
        state_path = Path(path).expanduser() / "state.pt"
        if not state_path.is_file():
            raise FileNotFoundError(f"init_from: {state_path} not found (pass <run dir>/checkpoints/best)")
        state, _ = load_checkpoint(state_path.parent, with_arrays=False)
        learner = state.get("learner", {})
        if "removal_policy" not in learner:
            raise ValueError(f"init_from: {state_path} was not written by the N2N learner")
        self.removal_policy.load_state_dict(learner["removal_policy"])
        self.shrink_policy.load_state_dict(learner["shrink_policy"])

    def _pool_for_updates(self) -> Any:
        if self._pool is None:
            self._pool = make_pool(
                self.removal_env.cfg, self.cfg.pool, self.cfg.workers, self.cfg.ray_address
            )
        return self._pool

    def _best(self, stage: int | None = None) -> Candidate | None:
        pool = [c for c in self.candidates if stage is None or c.stage == stage]
        return max(pool, key=lambda c: (not c.violated, c.reward), default=None)

    def _get_shrink_env(self) -> N2NShrinkEnv:
        if self.shrink_env is None:
            if not self.stage1_parent:
                best = self._best(stage=1)
                self.stage1_parent = best.spec_json if best else spec_to_json(self.core.teacher_spec)
            kwargs = {
                **self.env_factory.cfg.kwargs,
                **self.cfg.shrink_env_kwargs,
                "parent": self.stage1_parent,
            }
            shrink = dataclasses.replace(
                self.env_factory.cfg, id=env_id("shrink", self.core.cfg.teacher), kwargs=kwargs
            )
            self.shrink_env = EnvFactory(shrink).make().unwrapped
        return self.shrink_env

    def _stage_parts(self, stage: int) -> tuple[Any, Any, torch.optim.Optimizer, RunningMeanBaseline]:
        if stage == 1:
            return self.removal_env, self.removal_policy, self.opt_remove, self.baseline_remove
        return self._get_shrink_env(), self.shrink_policy, self.opt_shrink, self.baseline_shrink

    # -- training -----------------------------------------------------------------------------------
    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        while self.num_steps < step and self.iteration < self.total_iterations:
            start = time.perf_counter()
            metrics = self._update()
            self.elapsed += time.perf_counter() - start
            yield metrics
        if self.iteration >= self.total_iterations and self.num_steps < step:
            self.num_steps = step  # the plan is done: jump to the requested step

    def _update(self) -> dict[str, float]:
        """One REINFORCE update of the current stage's policy (Algorithm 1, inner loop)."""
        stage = self.stage
        env, policy, opt, baseline = self._stage_parts(stage)
        env.iteration = self.iteration - (0 if stage == 1 else self.stage_iterations[0])
        desc = torch.from_numpy(env.descriptors)
        free = torch.from_numpy(env.free_mask)
        actions, log_prob, entropy = policy.sample(desc, free, self.cfg.rollouts)
        dtype = np.int8 if stage == 1 else np.int64
        hits_before, trained_before = self.core.cache_hits, self.core.students_trained
        results = env.evaluate_actions(
            [a.numpy().astype(dtype) for a in actions], pool=self._pool_for_updates()
        )
        rewards = torch.tensor([r for r, _ in results], dtype=torch.float32)
        b = baseline.value
        advantages = (
            (rewards.mean() - b).expand_as(rewards) if self.cfg.advantage == "batch_mean" else rewards - b
        )
        loss = reinforce_loss(log_prob, advantages)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        baseline.update(rewards)
        for action, (reward, info) in zip(actions, results, strict=True):
            self._remember(env, action, float(reward), info, stage)
        self.iteration += 1
        self.num_steps += self.cfg.rollouts
        valid = [i for _, i in results if not i["degenerate"]]
        best = self._best()
        return {
            "train/reward_mean": float(rewards.mean()),
            "train/reward_max": float(rewards.max()),
            "train/best_reward": best.reward if best else -1.0,
            "train/best_compression": best.compression if best else 0.0,
            "train/compression_mean": float(np.mean([i["compression"] for i in valid])) if valid else 0.0,
            "train/acc_ratio_mean": float(np.mean([i["acc_ratio"] for i in valid])) if valid else 0.0,
            "train/degenerate_frac": 1.0 - len(valid) / len(results),
            "losses/policy_loss": float(loss.detach()),
            "losses/entropy": float(entropy.detach().mean()),
            "charts/stage": float(stage),
            "charts/iteration": float(self.iteration),
            "charts/baseline": b,
            "charts/students_trained": float(self.core.students_trained),
            "charts/new_students": float(self.core.students_trained - trained_before),
            "charts/cache_hits": float(self.core.cache_hits - hits_before),
        }

    def _remember(
        self,
        env: N2NRemovalEnv | N2NShrinkEnv,
        action: torch.Tensor,
        reward: float,
        info: dict[str, Any],
        stage: int,
    ) -> None:
        if info["degenerate"]:
            return
        raw = n2n_reward(info["params"], self.core.teacher_params, info["val_acc"], self.core.teacher_val_acc)
        seen = any(c.arch_hash == info["arch_hash"] for c in self.candidates)
        if not seen or self.unconstrained is None or raw > self.unconstrained.reward:
            spec = spec_to_json(env.student_spec(action.numpy().astype(np.int8 if stage == 1 else np.int64)))
        if self.unconstrained is None or raw > self.unconstrained.reward:
            self.unconstrained = Candidate(
                info["arch_hash"],
                spec,
                raw,
                int(info["params"]),
                int(info["flops"]),
                float(info["val_acc"]),
                float(info["compression"]),
                False,
                stage,
            )
        if seen:
            return
        self.candidates.append(
            Candidate(
                info["arch_hash"],
                spec,
                reward,
                int(info["params"]),
                int(info["flops"]),
                float(info["val_acc"]),
                float(info["compression"]),
                bool(info["constraint_violated"]),
                stage,
            )
        )
        self.candidates.sort(key=lambda c: (not c.violated, c.reward), reverse=True)
        del self.candidates[self.cfg.top_k :]

    # -- acting and evaluation --------------------------------------------------------------------
    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Removal action for the removal env's observation (greedy when ``deterministic``)."""
        desc = torch.as_tensor(np.asarray(obs, dtype=np.float32)).reshape(-1, 7)
        free = torch.from_numpy(self.removal_env.free_mask)
        with torch.no_grad():
            if deterministic:
                action = self.removal_policy.mode(desc, free)
            else:
                action = self.removal_policy.sample(desc, free, 1)[0][0]
        return action.numpy().astype(np.int8)

    def evaluate(self, episodes: int, seed: int) -> list[dict[str, Any]]:
        """Score the greedy architecture of the current stage (deterministic: one student, repeated)."""
        stage = (
            self.stage if self.iteration < self.total_iterations else (2 if self.stage_iterations[1] else 1)
        )
        env, policy, _, _ = self._stage_parts(stage)
        action = policy.mode(torch.from_numpy(env.descriptors), torch.from_numpy(env.free_mask))
        dtype = np.int8 if stage == 1 else np.int64
        reward, info = env.evaluate_actions([action.numpy().astype(dtype)], pool=self._pool_for_updates())[0]
        episode = {
            "return": float(reward),
            "length": 1,
            "success": bool(info["is_success"]),
            "stage": stage,
            "params": int(info["params"]),
            "val_acc": float(info["val_acc"]),
            "compression": float(info["compression"]),
        }
        return [dict(episode) for _ in range(episodes)]

    # -- state --------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "removal_policy": self.removal_policy.state_dict(),
            "shrink_policy": self.shrink_policy.state_dict(),
            "opt_remove": self.opt_remove.state_dict(),
            "opt_shrink": self.opt_shrink.state_dict(),
            "baseline_remove": self.baseline_remove.state_dict(),
            "baseline_shrink": self.baseline_shrink.state_dict(),
            "iteration": self.iteration,
            "num_steps": self.num_steps,
            "candidates": [c.to_dict() for c in self.candidates],
            "stage1_parent": self.stage1_parent,
            "unconstrained": self.unconstrained.to_dict() if self.unconstrained else {},
            "reward_cache": self.core.cache_state(),
            "elapsed": self.elapsed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.removal_policy.load_state_dict(state["removal_policy"])
        self.shrink_policy.load_state_dict(state["shrink_policy"])
        self.opt_remove.load_state_dict(state["opt_remove"])
        self.opt_shrink.load_state_dict(state["opt_shrink"])
        self.baseline_remove.load_state_dict(state["baseline_remove"])
        self.baseline_shrink.load_state_dict(state["baseline_shrink"])
        self.iteration = int(state["iteration"])
        self.num_steps = int(state["num_steps"])
        self.candidates = [Candidate.from_dict(c) for c in state["candidates"]]
        self.stage1_parent = str(state["stage1_parent"])
        unconstrained = state.get("unconstrained") or {}
        self.unconstrained = Candidate.from_dict(unconstrained) if unconstrained else None
        self.core.load_cache_state(state["reward_cache"])
        self.elapsed = float(state["elapsed"])
        self.shrink_env = None  # rebuilt from stage1_parent when needed

    # -- end of run -----------------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        start = time.perf_counter()
        stage1_best = self._best(stage=1)
        results = finetune_and_report(
            self.core,
            self.candidates,
            self.cfg,
            self.env_factory.cfg.name,
            stage1_best=stage1_best,
            wall_time_before=self.elapsed,
            started=start,
            rollouts=self.iteration * self.cfg.rollouts,
            constraints=self.shrink_env.cfg if self.shrink_env is not None else self.removal_env.cfg,
            unconstrained=self.unconstrained,
        )
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
