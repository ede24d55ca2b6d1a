"""The one classifier trainer of the suite (issue 13): N2N teachers and students, and the noise mask.

Two interfaces over one set of pieces (optimisers, learning-rate schedules, augmentation, KD loss, batched
prediction, metrics):

* :func:`fit` trains a model for a number of epochs on in-memory tensors with loss
  ce_weight·CE(f(x), y) + kd_weight·L_KD, where L_KD = 1/N Σ_i ‖f(x_i) − z_i‖²₂ is the L2 loss on logits of
  Ba & Caruana (2014) that N2N uses (Ashok et al., ICLR 2018, Sec. 3.5; z = teacher logits). N2N teachers
  use SGD + Nesterov + cosine; search-time students use kd_weight=1 and ce_weight=λ (0 in the official
  code, Adam lr 5e-4, wd 5e-4: github.com/anubhavashok/N2N at 544f5dd, ``model.py``); the final fine-tune
  uses CE + λ·KD (the author's answer in that repository's issues #9/#11).
* :class:`ClassifierTrainer` owns a model, its SGD optimiser and a per-epoch schedule and is stepped batch
  by batch by the noise-mask env. Settings follow the official noise-mask code's ``get_optim.py``
  (github.com/ogrenenmakine/Policy-Gradient-Driven-Noise-Mask at ece96ae): SGD, momentum 0.9, weight decay
  1e-4; ``step`` = StepLR(epochs/3, γ 0.1) (the paper's 30/90 epochs), ``cosine`` = CosineAnnealingLR
  (T_max = epochs, η_min 0), optional linear warm-up from 1 % of the rate (torchvision reference
  ``--lr-warmup-method linear``). The schedule is a pure function of the epoch counter, so its checkpointed
  state is that counter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def cosine_lr(base: float, t: float, total: float) -> float:
    """Cosine annealing from ``base`` at t = 0 to 0 at t = ``total``."""
    return 0.5 * base * (1 + math.cos(math.pi * t / total))


AUGMENTS = ("none", "crop", "crop_flip")


@dataclass
class FitConfig:
    """Hyperparameters of one :func:`fit` call."""

    epochs: int
    lr: float
    weight_decay: float = 5e-4
    batch_size: int = 128
    optimizer: str = "adam"  # adam | sgd (momentum 0.9, Nesterov)
    cosine: bool = False  # cosine-anneal the learning rate to 0 over the run
    ce_weight: float = 1.0
    kd_weight: float = 0.0
    augment: str = "none"


def augment_batch(x: torch.Tensor, mode: str, gen: torch.Generator) -> torch.Tensor:
    """Random 4-pixel-padded crops (and horizontal flips for ``crop_flip``), the CIFAR recipe."""
    if mode == "none":
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None]).view(n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w)[None]).view(n, 1, 1, w)
    out = padded[torch.arange(n).view(n, 1, 1, 1), torch.arange(x.shape[1]).view(1, -1, 1, 1), rows, cols]
    if mode == "crop_flip":
        flip = torch.rand(n, generator=gen) < 0.5
        out[flip] = out[flip].flip(-1)
    return out


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """L_KD = 1/N Σ_i ‖f(x_i) − z_i‖²₂ (sum over classes, mean over the batch)."""
    return (student_logits - teacher_logits).pow(2).sum(dim=1).mean()


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``model`` in eval mode, computed in batches."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return out


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy in [0, 1]."""
    if len(labels) == 0:
        return 0.0
    pred = predict_logits(model, images, batch_size).argmax(dim=1)
    return float((pred == labels).float().mean())


def make_optimizer(params: Any, cfg: FitConfig) -> torch.optim.Optimizer:
    """Adam, or SGD with Nesterov momentum 0.9, at ``cfg.lr`` and ``cfg.weight_decay``."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {cfg.optimizer!r}")


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    cfg: FitConfig,
    seed: int,
    teacher_logits: torch.Tensor | None = None,
    teacher: nn.Module | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> float:
    """Train ``model`` in place; returns the mean loss of the last epoch.

    With augmentation and a KD term the teacher is run on each augmented batch (``teacher`` required);
    without augmentation precomputed ``teacher_logits`` (aligned with ``images``) are used.
    """
    if cfg.augment not in AUGMENTS:
        raise ValueError(f"augment must be one of {AUGMENTS}, got {cfg.augment!r}")
    if cfg.kd_weight > 0 and teacher_logits is None and teacher is None:
        raise ValueError("a KD term needs teacher_logits or a teacher")
    if cfg.kd_weight > 0 and cfg.augment != "none" and teacher is None:
        raise ValueError("KD with augmentation needs the teacher network (logits change with each crop)")
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], cfg)
    n = len(labels)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    step, last = 0, float("nan")
    model.train()
    if teacher is not None:
        teacher.eval()
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        running, count = 0.0, 0
        for start in range(0, n, cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            if cfg.cosine:
                for group in opt.param_groups:
                    group["lr"] = cosine_lr(cfg.lr, step, total)
            x = augment_batch(images[idx], cfg.augment, gen)
            out = model(x)
            loss = out.new_zeros(())
            if cfg.ce_weight > 0:
                loss = loss + cfg.ce_weight * F.cross_entropy(out, labels[idx])
            if cfg.kd_weight > 0:
                if cfg.augment != "none" or teacher_logits is None:
                    with torch.no_grad():
                        z = teacher(x)  # type: ignore[misc]
                else:
                    z = teacher_logits[idx]
                loss = loss + cfg.kd_weight * kd_loss(out, z)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += float(loss.detach()) * len(idx)
            count += len(idx)
            step += 1
        last = running / max(count, 1)
        if not math.isfinite(last):
            raise FloatingPointError(f"training diverged (loss {last}) in epoch {epoch}")
        if on_epoch is not None:
            on_epoch(epoch, last)
    model.eval()
    return last


# -- the epoch-stepped trainer of the noise mask ----------------------------------------------------------
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
        return cosine_lr(1.0, min(epoch, settings.epochs), settings.epochs)
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
        by mean_b LSE_b (official ``train_one_epoch.py``).
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
        """Eval-mode logits for (N, C, H, W) inputs (the model is left in eval mode)."""
        self.model.eval()
        return predict_logits(self.model, inputs, batch_size)

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

    The metrics of the results table on the authors' project page (converging-machine.github.io,
    ``_projects/policy-gradient-noise-mask.md``), via scikit-learn.
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


def per_class_metrics(
    logits: torch.Tensor, labels: torch.Tensor, classes: list[int] | None = None
) -> dict[str, list[float]]:
    """Per-class precision, recall, F1 and support (scikit-learn ``precision_recall_fscore_support``).

    One entry per logit column ``0..k-1`` (a class absent from ``labels`` gets support 0 and, like a class
    never predicted, 0 for the undefined ratios: ``zero_division=0``). ``classes`` names the columns in the
    output's ``class`` list (e.g. the data set's original ids after re-indexing); default ``0..k-1``.
    """
    from sklearn import metrics as skm

    k = logits.shape[1]
    names = list(range(k)) if classes is None else [int(c) for c in classes]
    if len(names) != k:
        raise ValueError(f"classes names {len(names)} classes but the logits have {k} columns")
    y = labels.cpu().numpy()
    pred = logits.argmax(1).cpu().numpy()
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, pred, labels=list(range(k)), zero_division=0
    )
    return {
        "class": names,
        "precision": [float(v) for v in precision],
        "recall": [float(v) for v in recall],
        "f1": [float(v) for v in f1],
        "support": [int(v) for v in support],
    }
