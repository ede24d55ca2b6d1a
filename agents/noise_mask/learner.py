"""Policy-gradient noise mask (Yavuz & Yang, 2024): heated pretraining, mask-free fine-tuning, baseline,
transfer.

For each of ``replicates`` seeds the learner runs, on one ``pgsuite/NoiseMask-v0`` env (arXiv 2406.14568;
official code github.com/ogrenenmakine/Policy-Gradient-Driven-Noise-Mask at ece96ae):

1. ``pretrain``: classifier SGD on policy-masked images + policy REINFORCE (:func:`joint_step`), classifier
   StepLR, policy cosine schedule (official ``_policy_gradient/train.py``); the weights of the last
   ``average_last`` epochs are averaged into the *heated* model (``utils/weight_averaging.py``).
2. ``finetune``: the heated model trained without masks at ``finetune_lr`` with linear warm-up (official
   ``_normal/train.py``).
3. ``baseline``: the same classifier, same initial weights and data order, trained without masks for
   ``baseline_epochs`` (default: pretrain + finetune, i.e. equal total epochs).
4. ``transfer_heated`` / ``transfer_baseline`` (when the env holds classes out): a fresh head on the unseen
   classes, few-shot fine-tuning (``few_shot`` images per class) from the heated / baseline weights.

``finish()`` returns the comparison table (mean ± std over replicates and paired differences), the figure
of images / masks / masked images, and the final weights as artifacts.

Step axis: every epoch of every phase is ``STEPS_PER_EPOCH`` = 1000 steps (a batch advances ``num_steps`` by
its share of the epoch's images), so the plan's length, ``plan_steps = 1000 × Σ epochs``, depends on the
config only, not on the data set's size; budgets set ``run.total_steps`` to it. Once the plan is done,
``train_until`` jumps to the requested step; a ``total_steps`` short of the plan gives a table marked
incomplete that names the ``run.total_steps`` needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.core.base import Learner, LearnerConfig
from agents.core.env_factory import EnvFactory
from agents.core.reinforce import RunningMeanBaseline
from agents.core.seeding import derive_seed
from agents.noise_mask.phases import (
    OBJECTIVES,
    WeightAverager,
    evaluate_split,
    few_shot_indices,
    held_classifier_metrics,
    joint_step,
    masked_accuracy,
)
from agents.noise_mask.report import build_report
from envs.classifier import ClassifierTrainer, OptimSettings, lr_factor, make_sgd
from envs.noise_mask.env import NoiseMaskEnv
from envs.noise_mask.models import replace_head
from envs.noise_mask.sampler import EpochSampler
from policies.beta_mask import BetaMaskPolicy

#: Steps per epoch of any phase (the metric axis; see the module docstring).
STEPS_PER_EPOCH = 1000


@dataclass
class NoiseMaskConfig(LearnerConfig):
    """Hyperparameters; defaults are the official code's (README, get_optim.py), with CPU-scaled epochs."""

    objective: str = "reinforce"  # "reinforce" (per-sample rewards + baseline) or "paper" (LSE × CE)
    replicates: int = 3  # seeds run one after the other inside this learner
    batch_size: int = 64  # paper: 32 per GPU × 8
    pretrain_epochs: int = 30  # paper: 90
    finetune_epochs: int = 5  # paper: 10
    baseline_epochs: int | None = None  # None: pretrain + finetune epochs (equal total epochs)
    average_last: int = 3  # paper: epochs 87-89
    # classifier SGD, StepLR at 1/3 and 2/3 of the epochs
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    # policy SGD, cosine schedule
    policy_lr: float = 0.01
    finetune_schedule: str = "step"  # official: StepLR(30) over 10 epochs, i.e. constant after the warm-up
    finetune_lr: float = 0.001
    finetune_warmup_epochs: int = 3  # paper: 7 of 10
    baseline_decay: float | None = 0.9  # EMA of the reward baseline; None = running mean of all updates
    policy_width: int = 16
    policy_hidden: int = 128  # paper: 512
    policy_backbone: str = "cnn"  # cnn (3 strided convs) | resnet10t (the paper's 512-d features)
    # new log-param = 0.9 base + 0.1 head
    mix: float = 0.9
    # base <- 0.99 base + 0.01 mean head
    ema: float = 0.99
    few_shot: int = 5  # images per unseen class
    transfer_epochs: int = 30
    transfer_lr: float = 0.01
    figure_samples: int = 6


class NoiseMaskLearner(Learner):
    """Runs the noise-mask pipeline and its mask-free baseline; see the module docstring."""

    Config = NoiseMaskConfig
    observation_spaces = ("image",)
    action_spaces = ("box",)

    def __init__(self, cfg: NoiseMaskConfig, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        if cfg.objective not in OBJECTIVES:
            raise ValueError(f"agent.objective must be one of {OBJECTIVES}, got {cfg.objective!r}")
        if not 1 <= cfg.average_last <= cfg.pretrain_epochs:
            raise ValueError(f"agent.average_last must be in [1, pretrain_epochs={cfg.pretrain_epochs}]")
        if cfg.replicates < 1 or cfg.batch_size < 2:
            raise ValueError("agent.replicates must be >= 1 and agent.batch_size >= 2")
        self.gym_env = env.make(seed=derive_seed(seed, "env"))
        self.env: NoiseMaskEnv = self.gym_env.unwrapped
        if not isinstance(self.env, NoiseMaskEnv):
            raise TypeError(f"the noise-mask learner needs pgsuite/NoiseMask-v0, got {env.id}")
        kinds = ["pretrain", "finetune", "baseline"]
        if self.env.unseen_classes:
            kinds += ["transfer_heated", "transfer_baseline"]
        self.phases = [(r, kind) for r in range(cfg.replicates) for kind in kinds]
        self.base_epochs = cfg.baseline_epochs or cfg.pretrain_epochs + cfg.finetune_epochs
        self.phase_index = 0
        # replicate -> row -> metrics (floats) and "per_class" (lists; see phases.evaluate_split)
        self.results: dict[str, dict[str, dict[str, Any]]] = {}
        self.weights: dict[str, dict[str, torch.Tensor]] = {}
        self.figure: torch.Tensor | None = None
        self._sums: dict[str, float] = {}
        self._start_phase()

    # -- plan -----------------------------------------------------------------------------------------
    def _epochs(self, kind: str) -> int:
        c = self.cfg
        return {
            "pretrain": c.pretrain_epochs,
            "finetune": c.finetune_epochs,
            "baseline": self.base_epochs,
        }.get(kind, c.transfer_epochs)

    @property
    def plan_steps(self) -> int:
        """Length of the whole plan on the step axis: the ``run.total_steps`` that fits it."""
        return STEPS_PER_EPOCH * sum(self._epochs(kind) for _, kind in self.phases)

    def _few_shot(self, replicate: int) -> torch.Tensor:
        return few_shot_indices(
            self.env.splits["unseen_train"][1],
            self.cfg.few_shot,
            derive_seed(self.seed, "few-shot", replicate),
        )

    def _start_phase(self) -> None:
        """Build the classifier (and policy) of the current phase from seeds and saved weights."""
        if self.phase_index >= len(self.phases):
            return
        c, env = self.cfg, self.env
        r, kind = self.phases[self.phase_index]
        seed_r = derive_seed(self.seed, "replicate", r)
        settings = {
            "pretrain": OptimSettings(c.lr, c.momentum, c.weight_decay, c.pretrain_epochs, "step"),
            "finetune": OptimSettings(
                c.finetune_lr,
                c.momentum,
                c.weight_decay,
                c.finetune_epochs,
                c.finetune_schedule,
                min(c.finetune_warmup_epochs, c.finetune_epochs - 1),
            ),
            "baseline": OptimSettings(c.lr, c.momentum, c.weight_decay, self.base_epochs, "step"),
        }.get(kind, OptimSettings(c.transfer_lr, c.momentum, c.weight_decay, c.transfer_epochs, "cosine"))
        trainer = env.new_trainer(env.num_classes, settings, seed_r)  # same initial weights in every path
        self.sampler = env.sampler
        if kind in ("pretrain", "baseline"):
            env.sampler.reseed(derive_seed(seed_r, "order"))  # same data order (paired comparison)
        elif kind == "finetune":
            trainer.model.load_state_dict(self.weights["heated"])
            env.sampler.reseed(derive_seed(seed_r, "order-finetune"))
        else:
            source = "heated" if kind == "transfer_heated" else "baseline"
            trainer.model.load_state_dict(self.weights[source])
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(seed_r, "head"))
                replace_head(trainer.model, len(env.unseen_classes))
            trainer = ClassifierTrainer(trainer.model, settings)
            self.few_shot_idx = self._few_shot(r)
            self.sampler = EpochSampler(len(self.few_shot_idx), seed=derive_seed(seed_r, "order-few-shot"))
        env.trainer = trainer
        if kind == "pretrain":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(seed_r, "policy"))
                self.policy = BetaMaskPolicy(
                    env.channels, env.grid, c.policy_width, c.policy_hidden, c.mix, c.ema, c.policy_backbone
                )
            self.policy.to(env.device)
            self.policy_settings = OptimSettings(
                c.policy_lr, c.momentum, c.weight_decay, c.pretrain_epochs, "cosine"
            )
            self.policy_optimizer = make_sgd(self.policy.parameters(), self.policy_settings)
            self.baseline = RunningMeanBaseline(c.baseline_decay)
            self.averager = WeightAverager()
        self._sums = {}

    # -- training ---------------------------------------------------------------------------------------
    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        while self.num_steps < step:
            if self.phase_index >= len(self.phases):
                self.num_steps = step  # plan complete: nothing left to train
                return
            metrics = self._train_batch()
            if metrics is not None:
                yield metrics

    def _train_batch(self) -> dict[str, float] | None:
        env, trainer = self.env, self.env.trainer
        r, kind = self.phases[self.phase_index]
        start = self.sampler.pos
        if kind.startswith("transfer"):
            idx, ended = self.sampler.take(self.cfg.batch_size)
            obs, labels = (t[self.few_shot_idx[idx]].to(env.device) for t in env.splits["unseen_train"])
            batch = {"ce": float(trainer.train_step(env.normalize(obs), labels).mean())}
        else:
            obs, labels, ended = env.next_batch(self.cfg.batch_size)
            if kind == "pretrain":
                batch = joint_step(
                    env, self.policy, self.policy_optimizer, self.baseline, obs, labels, self.cfg.objective
                )
            else:
                batch = {"ce": float(env.train_classifier(obs, labels, None).mean())}
        end = self.sampler.n if ended else self.sampler.pos
        self.num_steps += (STEPS_PER_EPOCH * end) // self.sampler.n - (
            STEPS_PER_EPOCH * start
        ) // self.sampler.n
        for key, value in batch.items():
            self._sums[key] = self._sums.get(key, 0.0) + value * len(labels)
        self._sums["n"] = self._sums.get("n", 0.0) + len(labels)
        return self._end_epoch(r, kind) if ended else None

    def _end_epoch(self, r: int, kind: str) -> dict[str, float]:
        env, trainer = self.env, self.env.trainer
        n = self._sums.pop("n")
        metrics = {
            f"losses/{kind}_{k}" if k in ("ce", "classifier_ce", "policy_loss") else f"charts/{k}": v / n
            for k, v in self._sums.items()
        }
        metrics |= {
            "train/replicate": float(r),
            "train/phase": float(self.phase_index),
            f"charts/{kind}_lr": trainer.lr,
        }
        self._sums = {}
        trainer.end_epoch()
        epochs = self._epochs(kind)
        val_split = "unseen_val" if kind.startswith("transfer") else "val"
        metrics[f"train/{kind}_val_accuracy"] = evaluate_split(env, trainer, val_split)["accuracy"]
        if kind == "pretrain":
            for (
                group
            ) in self.policy_optimizer.param_groups:  # cosine schedule of the policy (official train.py)
                group["lr"] = self.policy_settings.lr * lr_factor(self.policy_settings, trainer.epoch)
            metrics["train/pretrain_val_accuracy_base_mask"] = masked_accuracy(
                env, trainer, self.policy, "val"
            )
            if trainer.epoch > epochs - self.cfg.average_last:
                self.averager.add(trainer.model.state_dict())
        if trainer.epoch >= epochs:
            self._finish_phase(r, kind)
        return metrics

    def _finish_phase(self, r: int, kind: str) -> None:
        env, trainer = self.env, self.env.trainer
        res = self.results.setdefault(str(r), {})
        if kind == "pretrain":
            self.weights["heated"] = self.averager.average()
            heated = env.new_trainer(env.num_classes, trainer.settings, 0)
            heated.model.load_state_dict(self.weights["heated"])
            res["heated"] = evaluate_split(env, heated, "test", per_class=True)
            if r == 0:
                self.figure = torch.from_numpy(self._make_figure())
        elif kind in ("finetune", "baseline"):
            res["heated_finetuned" if kind == "finetune" else "baseline"] = evaluate_split(
                env, trainer, "test", per_class=True
            )
            self.weights["heated_finetuned" if kind == "finetune" else "baseline"] = {
                k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()
            }
        else:
            res[kind] = evaluate_split(env, trainer, "unseen_test", per_class=True)
        self.phase_index += 1
        self._start_phase()

    @torch.no_grad()
    def _make_figure(self) -> np.ndarray:
        obs, _ = self.env.splits["val"]
        idx = torch.linspace(0, len(obs) - 1, min(self.cfg.figure_samples, len(obs))).long()
        self.policy.eval()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, "figure"))
            masks = self.policy.distribution(obs[idx].to(self.env.device)).sample()
        return self.env.figure(obs[idx], self.policy.as_grid(masks))

    # -- acting / evaluation ------------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Mask action in [-1, 1] for one image: the Beta mean (deterministic) or a sample."""
        self.policy.eval()
        dist = self.policy.distribution(torch.as_tensor(np.asarray(obs))[None].to(self.env.device))
        masks = dist.mean if deterministic else dist.sample()
        return (2.0 * self.policy.as_grid(masks)[0] - 1.0).cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def evaluate(self, episodes: int, seed: int) -> list[dict[str, Any]]:
        """Mask-free score of the current phase's classifier on ``episodes`` fixed validation images.

        ``return`` is −CE, ``success`` whether the prediction is right (transfer phases: unseen classes).
        """
        index = min(self.phase_index, len(self.phases) - 1)
        split = "unseen_val" if self.phases[index][1].startswith("transfer") else "val"
        obs, labels = self.env.splits[split]
        pick = torch.from_numpy(np.random.default_rng(seed).permutation(len(labels))[:episodes])
        logits = self.env.trainer.predict(self.env.normalize(obs[pick])).cpu()
        ce = torch.nn.functional.cross_entropy(logits, labels[pick], reduction="none")
        correct = logits.argmax(1) == labels[pick]
        return [
            {"return": -float(c), "length": 1, "success": bool(s), "phase": index}
            for c, s in zip(ce, correct, strict=True)
        ]

    def evaluate_split(self, split: str) -> list[dict[str, Any]]:
        """Metrics on ``env.splits[split]`` of the saved and current classifiers (see the phases module)."""
        return held_classifier_metrics(self.env, self.phases, self.phase_index, self.weights, split)

    # -- state ----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "phase_index": self.phase_index,
            "results": self.results,
            "weights": self.weights,
            "figure": self.figure,
            "epoch_sums": dict(self._sums),
            "policy": self.policy.state_dict(),  # includes the base log α / log β buffers
            "policy_optimizer": self.policy_optimizer.state_dict(),
            "policy_schedule": {"epoch": self.env.trainer.epoch, "lr": self.policy_settings.lr},
            "reward_baseline": self.baseline.state_dict(),
            "averager": self.averager.state_dict(),
        }
        if self.phase_index < len(self.phases):
            state["classifier"] = self.env.trainer.state_dict()  # model, optimizer, schedule
            state["sampler"] = self.sampler.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.results = {r: dict(v) for r, v in state["results"].items()}
        self.weights = dict(state["weights"])
        self.figure = state["figure"]
        self.phase_index = int(state["phase_index"])
        self._start_phase()
        self._sums = dict(state["epoch_sums"])
        self.policy.load_state_dict(state["policy"])
        self.policy_optimizer.load_state_dict(state["policy_optimizer"])
        self.baseline.load_state_dict(state["reward_baseline"])
        self.averager.load_state_dict(state["averager"])
        if "classifier" in state:
            self.env.trainer.load_state_dict(state["classifier"])
            self.sampler.load_state_dict(state["sampler"])

    # -- end of run ------------------------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        out = build_report(
            self.results, self.cfg, self.env, self.phase_index >= len(self.phases), self.plan_steps
        )
        if self.figure is not None:
            out["figures"] = {"masks.png": self.figure}
        artifacts = {name: {k: v.contiguous() for k, v in sd.items()} for name, sd in self.weights.items()}
        artifacts["policy"] = {k: v.detach().cpu().contiguous() for k, v in self.policy.state_dict().items()}
        out["artifacts"] = artifacts
        return out

    def close(self) -> None:
        self.gym_env.close()
