"""Training loops: teacher (cross-entropy), search-time distillation and the final fine-tune.

One loop, :func:`fit`, with loss  ce_weight·CE(f(x), y) + kd_weight·L_KD,  where
L_KD = 1/N Σ_i ‖f(x_i) − z_i‖²₂ is the L2 loss on logits of Ba & Caruana that N2N uses (paper Sec. 3.5;
z = teacher logits). Search-time students use kd_weight=1 and ce_weight=λ (0 in the official code, Adam
lr 5e-4, wd 5e-4, papers/n2n.md Sec. 9); the final fine-tune uses CE + λ·KD (author in issues #9/#11).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

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
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {cfg.optimizer!r}")
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
                    group["lr"] = 0.5 * cfg.lr * (1 + math.cos(math.pi * step / total))
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
