"""Beta-grid mask policy of the policy-gradient noise mask (Yavuz & Yang, arXiv 2406.14568; official
``_policy_gradient/create_model.py``, github.com/ogrenenmakine/Policy-Gradient-Driven-Noise-Mask at ece96ae).

A light CNN feature extractor feeds two heads (Linear-BN-ReLU ×2, Linear; the official ``MaskGenerator``)
giving log α and log β for every grid cell. Each is mixed with a running, unconditional base parameter:

    new_log_α = 0.9 · base_log_α + 0.1 · head_α(x)
    base_log_α ← 0.99 · base_log_α + 0.01 · mean_batch(head_α(x)).detach()     (training mode only)

(same for β), ``base_*`` initialised U(0, 1) and saved in the state dict (buffers). The mask is one
independent Beta(exp(new_log_α), exp(new_log_β)) per cell, sampled without reparameterisation: gradients
reach the policy only through ``log_prob`` (REINFORCE). The official feature extractor is timm's resnet10t
(512-d): ``backbone="resnet10t"`` builds that network in plain torch (:class:`ResNet10T`); the default
``backbone="cnn"``, a three-layer CNN, keeps CPU runs cheap (``width``, ``hidden`` configurable).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Beta

#: Log-parameters are clamped to ±this before exp (numerical guard, not in the paper: exp(10) ≈ 2.2e4).
LOG_PARAM_LIMIT = 10.0
#: Masks are clamped to [EPS, 1 − EPS] before ``log_prob``: float32 Beta samples can be exactly 0 or 1.
EPS = 1e-6


def _head(features: int, hidden: int, cells: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(features, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, cells),
    )


class _BasicBlock(nn.Module):
    """ResNet BasicBlock; a strided block's shortcut is AvgPool + 1×1 conv + BN (timm ``avg_down``)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        down: list[nn.Module] = (
            [nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)] if stride > 1 else []
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(*down, nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet10T(nn.Sequential):
    """timm's ``resnet10t`` without its classifier (512-d pooled features; the official policy backbone):
    a deep "tiered" stem (3×3 convs with 24, 32, 64 channels, the first strided), a 3×3/2 max pool, one
    BasicBlock per stage (64, 128, 256, 512 channels; strides 1, 2, 2, 2; average-pool shortcuts), global
    average pool (He et al. 2019, "Bag of Tricks", ResNet-D; timm ``resnet.py``)."""

    features = 512

    def __init__(self, in_channels: int) -> None:
        stem = []
        for cin, cout, stride in ((in_channels, 24, 2), (24, 32, 1), (32, 64, 1)):
            stem += [
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
        stages = [
            _BasicBlock(64, 64, 1),
            _BasicBlock(64, 128, 2),
            _BasicBlock(128, 256, 2),
            _BasicBlock(256, 512, 2),
        ]
        super().__init__(*stem, nn.MaxPool2d(3, 2, 1), *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())


BACKBONES = ("cnn", "resnet10t")


class BetaMaskPolicy(nn.Module):
    """Image → per-cell Beta over a ``grid``×``grid`` mask.

    Args:
        in_channels: image channels.
        grid: mask cells per side (the paper: 64).
        width: channels of the first conv layer (then 2×, 4×).
        hidden: width of the two head MLPs (the paper: 512).
        mix: weight of the base parameters in the mixture (the paper: 0.9).
        ema: decay of the base parameters' moving average (the paper: 0.99).
        backbone: ``cnn`` (three strided convs, ``width`` channels) or ``resnet10t`` (the paper's, 512-d).
    """

    def __init__(
        self,
        in_channels: int,
        grid: int,
        width: int = 16,
        hidden: int = 128,
        mix: float = 0.9,
        ema: float = 0.99,
        backbone: str = "cnn",
    ):
        super().__init__()
        if not (0.0 <= mix < 1.0 and 0.0 <= ema < 1.0):
            raise ValueError(f"mix and ema must be in [0, 1), got mix={mix}, ema={ema}")
        if backbone not in BACKBONES:
            raise ValueError(f"policy backbone must be one of {BACKBONES}, got {backbone!r}")
        self.grid, self.mix, self.ema = grid, mix, ema
        w = width
        if backbone == "resnet10t":
            self.features: nn.Module = ResNet10T(in_channels)
            dim = ResNet10T.features
        else:
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, w, 3, 2, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(w, 2 * w, 3, 2, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(2 * w, 4 * w, 3, 2, 1),
                nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
            dim = 4 * w
        cells = grid * grid
        self.alpha_head = _head(dim, hidden, cells)
        self.beta_head = _head(dim, hidden, cells)
        # Running unconditional parameters, U(0, 1) as ``torch.rand(1, grid**2)`` in the official code.
        self.register_buffer("base_log_alpha", torch.rand(1, cells))
        self.register_buffer("base_log_beta", torch.rand(1, cells))

    @staticmethod
    def preprocess(obs: torch.Tensor) -> torch.Tensor:
        """uint8 images in [0, 255] (or floats in [0, 1]) → floats centred on 0."""
        x = obs.float() / 255.0 if obs.dtype == torch.uint8 else obs.float()
        return x - 0.5

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixed (log α, log β), each (B, grid²); in training mode also updates the base parameters."""
        h = self.features(self.preprocess(obs))
        head_a, head_b = self.alpha_head(h), self.beta_head(h)
        log_alpha = self.mix * self.base_log_alpha + (1.0 - self.mix) * head_a
        log_beta = self.mix * self.base_log_beta + (1.0 - self.mix) * head_b
        if self.training:
            with torch.no_grad():
                self.base_log_alpha.mul_(self.ema).add_((1.0 - self.ema) * head_a.mean(0, keepdim=True))
                self.base_log_beta.mul_(self.ema).add_((1.0 - self.ema) * head_b.mean(0, keepdim=True))
        return log_alpha, log_beta

    @staticmethod
    def _beta(log_alpha: torch.Tensor, log_beta: torch.Tensor) -> Beta:
        lim = LOG_PARAM_LIMIT
        return Beta(log_alpha.clamp(-lim, lim).exp(), log_beta.clamp(-lim, lim).exp())

    def distribution(self, obs: torch.Tensor) -> Beta:
        """Per-cell Beta with batch shape (B, grid²)."""
        return self._beta(*self(obs))

    def base_distribution(self) -> Beta:
        """The unconditional Beta(exp(base α), exp(base β)) the official evaluation samples masks from."""
        return self._beta(self.base_log_alpha, self.base_log_beta)

    @staticmethod
    def cell_log_prob(dist: Beta, masks: torch.Tensor) -> torch.Tensor:
        """Per-cell log-densities (B, grid²) of ``masks`` (clamped to [EPS, 1 − EPS])."""
        return dist.log_prob(masks.clamp(EPS, 1.0 - EPS))

    def as_grid(self, masks: torch.Tensor) -> torch.Tensor:
        """(B, grid²) → (B, grid, grid)."""
        return masks.view(-1, self.grid, self.grid)
