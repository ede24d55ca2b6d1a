"""Classifiers the noise-mask env wraps, in plain torch (no torchvision build exists for this machine).

Every model is ``head(features(x))`` with ``features`` ending in a pooled vector and ``head`` a ``Linear``,
so the unseen-concept transfer can swap the head (:func:`replace_head`).

* ``small_cnn`` (default): three 3×3 conv-BN-ReLU layers (widths 32, 64, 128), two max-pools, global
  average pooling: ~12 M multiply-adds per 36-px image, cheap on CPU.
* ``resnet18``: He et al. (2016) ResNet-18, layers [2, 2, 2, 2], widths 64…512, as torchvision's. Inputs
  of 96 px or more use the ImageNet stem (7×7/2 conv + max-pool, as the paper at 224 px); smaller inputs
  use the CIFAR stem (3×3/1 conv, no pool) so 28–64 px images keep their resolution.
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
            *_conv_bn(in_channels, w), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
            *_conv_bn(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    """ResNet basic block (two 3×3 convs) with a 1×1 projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 (torchvision layout); ``imagenet_stem`` picks the 7×7/2 + max-pool stem."""

    def __init__(self, in_channels: int, num_classes: int, imagenet_stem: bool = True) -> None:
        super().__init__()
        if imagenet_stem:
            stem = [nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                    nn.MaxPool2d(3, 2, 1)]  # fmt: skip
        else:
            stem = [
                nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
            ]
        layers: list[nn.Module] = []
        cin = 64
        for i, cout in enumerate((64, 128, 256, 512)):
            for j in range(2):
                layers.append(BasicBlock(cin, cout, stride=2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.features = nn.Sequential(*stem, *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(512, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def make_classifier(name: str | None, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """Build classifier ``name`` (``None`` → ``small_cnn``) for (in_channels, image_size²) inputs."""
    name = name or "small_cnn"
    if name == "small_cnn":
        return SmallCNN(in_channels, num_classes)
    if name == "resnet18":
        return ResNet18(in_channels, num_classes, imagenet_stem=image_size >= 96)
    raise ValueError(f"unknown classifier model {name!r}; choose one of {', '.join(MODELS)} (model=<name>)")


def replace_head(model: nn.Module, num_classes: int) -> None:
    """Swap the final ``Linear`` for a freshly initialised one with ``num_classes`` outputs (transfer)."""
    old = model.head
    model.head = nn.Linear(old.in_features, num_classes).to(old.weight.device)
