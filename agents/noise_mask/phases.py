"""Pieces of the noise-mask pipeline: the joint REINFORCE step, weight averaging, few-shot sets, evaluation.

Kept apart from :mod:`agents.noise_mask.learner` (the learner's plan and state) so each file has one concern.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.core.base import SplitError
from agents.core.reinforce import RunningMeanBaseline, reinforce_loss
from envs.classifier import ClassifierTrainer, classification_metrics, per_class_metrics
from envs.noise_mask.env import NoiseMaskEnv
from policies.beta_mask import BetaMaskPolicy

OBJECTIVES = ("reinforce", "paper")
#: Saved seen-class weights in the report's row order, each with the phase that writes it.
SAVED_WEIGHTS = {"baseline": "baseline", "heated": "pretrain", "heated_finetuned": "finetune"}


def joint_step(
    env: NoiseMaskEnv,
    policy: BetaMaskPolicy,
    policy_optimizer: torch.optim.Optimizer,
    baseline: RunningMeanBaseline,
    obs: torch.Tensor,
    labels: torch.Tensor,
    objective: str,
) -> dict[str, float]:
    """One joint update of classifier (SGD on masked images) and policy (REINFORCE); returns metrics.

    ``objective="paper"`` reproduces the official loss  mean_b(LSE_b) × CE  (official ``train_one_epoch.py``,
    github.com/ogrenenmakine/Policy-Gradient-Driven-Noise-Mask at ece96ae):
    per-image log-probability LSE_b = logsumexp over cells of the per-cell log-densities, reward −CE as the
    batch mean, no baseline; the classifier's gradient is ∇CE scaled by mean_b LSE_b. Splitting the single
    backward pass of the original into a classifier step with ``loss_scale = mean_b LSE_b`` (detached) and a
    policy step with ``reinforce_loss(LSE_b, −CE)`` gives exactly the same gradients for both networks.

    ``objective="reinforce"`` (default) is REINFORCE as Williams (1992) states it: log π(mask) is the joint
    log-density Σ_cells log p (cells are independent), each image has its own reward −CE_b, and a running
    baseline (:class:`agents.core.reinforce.RunningMeanBaseline`, read before this update) is subtracted.
    """
    policy.train()
    dist = policy.distribution(obs)
    with torch.no_grad():
        masks = (
            dist.sample()
        )  # not reparameterised: gradients flow through log_prob only (official create_model.py)
    cell_log_prob = policy.cell_log_prob(dist, masks)
    grid_masks = policy.as_grid(masks)
    if objective == "paper":
        lse = torch.logsumexp(cell_log_prob, dim=1)
        ce = env.train_classifier(obs, labels, grid_masks, loss_scale=lse.mean().detach())
        advantages = (-ce.mean()).expand_as(lse)
        loss = reinforce_loss(lse, advantages)
        log_prob_mean, baseline_value = float(lse.detach().mean()), 0.0
    elif objective == "reinforce":
        ce = env.train_classifier(obs, labels, grid_masks)
        rewards = -ce
        baseline_value = baseline.value
        advantages = rewards - baseline_value
        baseline.update(rewards)
        log_prob = cell_log_prob.sum(dim=1)
        loss = reinforce_loss(log_prob, advantages)
        log_prob_mean = float(log_prob.detach().mean())
    else:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    policy_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    policy_optimizer.step()
    return {
        "classifier_ce": float(ce.mean()),
        "policy_loss": float(loss.detach()),
        "log_prob": log_prob_mean,
        "baseline": float(baseline_value),
        "mask_mean": float(masks.mean()),
        "mask_std": float(masks.std()),
        "alpha_mean": float(dist.concentration1.detach().mean()),
        "beta_mean": float(dist.concentration0.detach().mean()),
    }


class WeightAverager:
    """Running mean of model state dicts (the official ``utils/weight_averaging.py`` over the last epochs).

    Floating-point entries (weights, BN statistics) are averaged; integer entries (``num_batches_tracked``)
    keep the latest value.
    """

    def __init__(self) -> None:
        self.total: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, state: dict[str, torch.Tensor]) -> None:
        for key, value in state.items():
            value = value.detach().cpu()
            if value.is_floating_point():
                self.total[key] = self.total[key] + value if key in self.total else value.clone().double()
            else:
                self.total[key] = value.clone()
        self.count += 1

    def average(self) -> dict[str, torch.Tensor]:
        if self.count == 0:
            raise RuntimeError("no state dict was added to the averager")
        return {
            k: (v / self.count).float() if v.is_floating_point() else v.clone() for k, v in self.total.items()
        }

    def state_dict(self) -> dict[str, Any]:
        return {"total": dict(self.total), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.total, self.count = dict(state["total"]), int(state["count"])


def few_shot_indices(labels: torch.Tensor, shots: int, seed: int) -> torch.Tensor:
    """``shots`` seeded examples of every class present in ``labels`` (all of a class if it has fewer)."""
    rng = np.random.default_rng(seed)
    y = labels.numpy()
    chosen = [rng.permutation(np.flatnonzero(y == c))[:shots] for c in np.unique(y)]
    return torch.from_numpy(np.sort(np.concatenate(chosen))).long()


def evaluate_split(
    env: NoiseMaskEnv, trainer: ClassifierTrainer, split: str, per_class: bool = False
) -> dict[str, Any]:
    """Mask-free metrics of ``trainer``'s classifier on ``env.splits[split]``.

    ``per_class=True`` adds ``per_class``: precision / recall / F1 / support per class, named by the data
    set's original class ids (:func:`envs.classifier.per_class_metrics`; issue 19).
    """
    obs, labels = env.splits[split]
    logits = trainer.predict(env.normalize(obs)).cpu()
    out: dict[str, Any] = classification_metrics(logits, labels)
    if per_class:
        classes = env.unseen_classes if split.startswith("unseen_") else env.seen_classes
        out["per_class"] = per_class_metrics(logits, labels, classes)
    return out


def held_classifier_metrics(
    env: NoiseMaskEnv,
    phases: list[tuple[int, str]],
    phase_index: int,
    weights: dict[str, dict[str, torch.Tensor]],
    split: str,
) -> list[dict[str, Any]]:
    """Mask-free metrics on ``split`` of each classifier a learner state holds (``agents.evaluate split=``).

    Seen-class splits: the saved ``weights`` (from the latest replicate that finished each phase) and the
    current phase's classifier unless it is a transfer one; ``unseen_*`` splits: the current transfer one.
    """
    if split not in env.splits:
        raise SplitError(f"unknown split {split!r}; this env's splits are: {', '.join(env.splits)}")
    unseen = split.startswith("unseen_")
    finished = {kind: r for r, kind in phases[:phase_index]}
    rows: list[dict[str, Any]] = []
    for name, kind in SAVED_WEIGHTS.items():
        if name in weights and not unseen:
            trainer = env.new_trainer(env.num_classes, env.trainer.settings, 0)
            trainer.model.load_state_dict(weights[name])
            rows.append({"model": name, "replicate": finished[kind], **evaluate_split(env, trainer, split)})
    if phase_index < len(phases):
        r, kind = phases[phase_index]
        if kind.startswith("transfer") == unseen:
            metrics = evaluate_split(env, env.trainer, split)
            rows.append(
                {"model": f"current {kind}", "replicate": r, "epochs_done": env.trainer.epoch, **metrics}
            )
    if not rows:
        raise SplitError(
            f"this checkpoint holds no classifier for {split!r}: a transfer classifier lives only while its "
            f"phase "
            "runs (a step_<N> checkpoint inside one has it); the run's unseen_test scores are in summary.json"
        )
    return rows


@torch.no_grad()
def masked_accuracy(
    env: NoiseMaskEnv, trainer: ClassifierTrainer, policy: BetaMaskPolicy, split: str
) -> float:
    """Accuracy under masks drawn from the unconditional base Beta (the official in-training evaluation)."""
    obs, labels = env.splits[split]
    masks = policy.base_distribution().sample((len(labels),)).view(len(labels), policy.grid, policy.grid)
    logits = trainer.predict(env.masked_inputs(obs, masks))
    return float((logits.argmax(1).cpu() == labels).float().mean())
