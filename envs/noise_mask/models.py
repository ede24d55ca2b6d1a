"""Classifiers the noise-mask env wraps, in plain torch (no torchvision build exists for this machine).

Every model ends in a ``Linear`` head on a pooled feature vector, so the unseen-concept transfer can swap
the head (:func:`replace_head`).

* ``small_cnn`` (default): three 3×3 conv-BN-ReLU layers (widths 32, 64, 128), two max-pools, global
  average pooling: ~12 M multiply-adds per 36-px image, cheap on CPU.
* ``resnet18``: He et al. (2016) ResNet-18, layers [2, 2, 2, 2], widths 64…512 — the suite's one ResNet
  (``envs.compression.arch.teacher_spec``, also N2N's teacher). Inputs of 96 px or more use the ImageNet
  stem (7×7/2 conv + max-pool, as the paper at 224 px); smaller inputs use the CIFAR stem (3×3/1 conv, no
  pool) so 28–64 px images keep their resolution. Its head is the last unit (``units[-1]``).
"""

from __future__ import annotations

import torch
from torch import nn

MODELS = ("small_cnn", "resnet18")


def _conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """conv32-pool-conv64-pool-conv128-avgpool-linear (all convs 3×3 + BN + ReLU)."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *_conv_bn(in_channels, w),
            nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w),
            nn.MaxPool2d(2),
            *_conv_bn(2 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def make_classifier(name: str | None, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """Build classifier ``name`` (``None`` → ``small_cnn``) for (in_channels, image_size²) inputs."""
    name = name or "small_cnn"
    if name == "small_cnn":
        return SmallCNN(in_channels, num_classes)
    if name == "resnet18":
        from envs.compression.arch import teacher_spec
        from envs.compression.network import SpecNet

        stem = "imagenet" if image_size >= 96 else "cifar"
        return SpecNet(
            teacher_spec("resnet18", 1.0, (in_channels, image_size, image_size), num_classes, stem)
        )
    raise ValueError(f"unknown classifier model {name!r}; choose one of {', '.join(MODELS)} (model=<name>)")


def replace_head(model: nn.Module, num_classes: int) -> None:
    """Swap the final ``Linear`` for a freshly initialised one with ``num_classes`` outputs (transfer)."""
    if hasattr(model, "head"):
        old = model.head
        model.head = nn.Linear(old.in_features, num_classes).to(old.weight.device)
    else:  # SpecNet: the head is the last unit
        old = model.units[-1]
        model.units[-1] = nn.Linear(old.in_features, num_classes).to(old.weight.device)
