"""The classifier the noise-mask env wraps: model, SGD optimiser, per-epoch learning-rate schedule, metrics.

Optimiser settings follow the official code's ``get_optim.py`` (papers/noise_mask.md, Sec. 7): SGD with
momentum 0.9 and weight decay 1e-4; ``step`` = StepLR(epochs/3, γ 0.1) (the paper's 30/90 epochs),
``cosine`` = CosineAnnealingLR(T_max = epochs, η_min 0), optional linear warm-up from 1 % of the rate
(torchvision reference ``--lr-warmup-method linear``, decay 0.01). The schedule is a pure function of the
epoch counter, so its checkpointed state is that counter.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SCHEDULES = ("step", "cosine", "constant")


@dataclass
class OptimSettings:
    """SGD + schedule of one training phase (pretraining, fine-tuning, baseline, transfer)."""

    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    epochs: int = 90
    schedule: str = "step"
    warmup_epochs: int = 0

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.lr <= 0 or self.epochs < 1 or self.warmup_epochs < 0:
            raise ValueError(f"need lr > 0, epochs >= 1, warmup_epochs >= 0; got {self}")


def lr_factor(settings: OptimSettings, epoch: int) -> float:
    """Multiplier of the base rate in ``epoch`` (0-based)."""
    if epoch < settings.warmup_epochs:  # linear warm-up from 1 % (torchvision reference LinearLR)
        return 0.01 + 0.99 * epoch / settings.warmup_epochs
    if settings.schedule == "step":
        return 0.1 ** (epoch // max(1, round(settings.epochs / 3)))
    if settings.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch, settings.epochs) / settings.epochs))
    return 1.0


def make_sgd(params: Any, settings: OptimSettings) -> torch.optim.SGD:
    return torch.optim.SGD(
        params, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
    )


class ClassifierTrainer:
    """A classifier with its SGD optimiser and epoch schedule; trains on (possibly masked) batches."""

    def __init__(self, model: nn.Module, settings: OptimSettings) -> None:
        self.model = model
        self.settings = settings
        self.optimizer = make_sgd(model.parameters(), settings)
        self.epoch = 0
        self._apply_lr()

    def _apply_lr(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.settings.lr * lr_factor(self.settings, self.epoch)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_step(
        self, inputs: torch.Tensor, labels: torch.Tensor, loss_scale: torch.Tensor | float = 1.0
    ) -> torch.Tensor:
        """One SGD step on ``loss_scale · mean CE``; returns the per-sample CE (detached, before the step).

        ``loss_scale`` is 1 for plain training; the paper's joint objective scales the classifier's gradient
        by mean_b LSE_b (papers/noise_mask.md, Sec. 6).
        """
        self.model.train()
        logits = self.model(inputs)
        ce = F.cross_entropy(logits, labels, reduction="none")
        self.optimizer.zero_grad(set_to_none=True)
        (loss_scale * ce.mean()).backward()
        self.optimizer.step()
        return ce.detach()

    def end_epoch(self) -> None:
        """Advance the learning-rate schedule by one epoch."""
        self.epoch += 1
        self._apply_lr()

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Eval-mode logits for (N, C, H, W) inputs."""
        self.model.eval()
        return torch.cat([self.model(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": {"epoch": self.epoch, **asdict(self.settings)},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        sched = dict(state["schedule"])
        self.epoch = int(sched.pop("epoch"))
        self.settings = OptimSettings(**sched)
        self.optimizer = make_sgd(self.model.parameters(), self.settings)
        self.optimizer.load_state_dict(state["optimizer"])
        self._apply_lr()


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy, macro precision / recall / F1, balanced accuracy and macro one-vs-rest ROC-AUC.

    The metrics of the paper's project-page table (papers/noise_mask.md, Sec. 9), via scikit-learn.
    """
    from sklearn import metrics as skm

    y = labels.cpu().numpy()
    probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
    pred = probs.argmax(1)
    k = probs.shape[1]
    present = np.unique(y)
    out = {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred, average="macro", labels=present, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, average="macro", labels=present, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, average="macro", labels=present, zero_division=0)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
    }
    if len(present) == k and k > 2:
        out["roc_auc"] = float(skm.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    elif len(present) == 2 and k == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y, probs[:, 1]))
    else:  # some class absent from the evaluated split: AUC is undefined for it
        out["roc_auc"] = float("nan")
    return out
