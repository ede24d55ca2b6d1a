"""The mask pipeline of the noise mask: upsample a grid of cell values, blur it, multiply it into the image.

Follows the official code's ``train_one_epoch.py`` (github.com/ogrenenmakine/Policy-Gradient-Driven-Noise-Mask
at ece96ae): the (B, g, g) grid is
upsampled with ``F.interpolate`` (default mode, nearest) to the image size, blurred with a Gaussian
(torchvision's ``gaussian_blur``: separable kernel, reflect padding; kernel 13, σ 6 at 224 px) and multiplied
into the *normalised* image, broadcasting over channels, so masked pixels shrink toward the data-set mean.
Plain torch (no torchvision here).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: The paper's blur at its 224-px input (``--kernel 13 --sigma 6``) and its 64-cell grid.
PAPER_KERNEL, PAPER_SIGMA, PAPER_GRID, PAPER_IMAGE_SIZE = 13, 6.0, 64, 224


def scaled_blur(image_size: int) -> tuple[int, float]:
    """The paper's kernel 13 / σ 6 at 224 px scaled to ``image_size`` (kernel odd, at least 3)."""
    scale = image_size / PAPER_IMAGE_SIZE
    kernel = max(3, round(PAPER_KERNEL * scale))
    if kernel % 2 == 0:
        kernel += 1
    return kernel, PAPER_SIGMA * scale


def scaled_grid(image_size: int) -> int:
    """The paper's 64×64 grid at 224 px scaled to ``image_size`` (cells of ~3.5 px, at least 2×2)."""
    return max(2, round(PAPER_GRID * image_size / PAPER_IMAGE_SIZE))


def gaussian_kernel1d(kernel_size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian taps, as torchvision's ``_get_gaussian_kernel1d``."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    half = (kernel_size - 1) * 0.5
    x = torch.linspace(-half, half, kernel_size)
    pdf = torch.exp(-0.5 * (x / sigma) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(x: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W) with reflect padding (torchvision semantics)."""
    if kernel_size == 1:
        return x
    k = gaussian_kernel1d(kernel_size, sigma).to(device=x.device, dtype=x.dtype)
    channels = x.shape[1]
    pad = kernel_size // 2
    mode = "reflect" if pad < min(x.shape[-2:]) else "replicate"
    x = F.pad(x, (pad, pad, pad, pad), mode=mode)
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def upsample_mask(masks: torch.Tensor, size: tuple[int, int], kernel_size: int, sigma: float) -> torch.Tensor:
    """(B, g, g) cell values → (B, 1, H, W) smooth pixel mask: nearest upsampling, then Gaussian blur."""
    if masks.ndim != 3:
        raise ValueError(f"masks must be (B, g, g), got shape {tuple(masks.shape)}")
    up = F.interpolate(masks.unsqueeze(1), size=size, mode="nearest")
    return gaussian_blur(up, kernel_size, sigma)


def apply_mask(images: torch.Tensor, masks: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """``images · blur(upsample(masks))`` for normalised (B, C, H, W) images and (B, g, g) masks in [0, 1]."""
    if images.ndim != 4 or masks.shape[0] != images.shape[0]:
        raise ValueError(
            f"images (B, C, H, W) and masks (B, g, g) must match, got {tuple(images.shape)}, "
            f"{tuple(masks.shape)}"
        )
    return images * upsample_mask(masks.to(images.dtype), tuple(images.shape[-2:]), kernel_size, sigma)


def mask_figure(
    images: np.ndarray, pixel_masks: np.ndarray, masked: np.ndarray, tile: int = 48
) -> np.ndarray:
    """A uint8 (3·tile, n·tile, 3) figure: images (row 1), masks (row 2, grey), masked images (row 3).

    Args:
        images: (n, C, H, W) in [0, 1]; pixel_masks: (n, H, W) in [0, 1]; masked: (n, C, H, W) in [0, 1].
    """
    rows = []
    for batch in (images, pixel_masks[:, None], masked):
        tiles = [_tile(b, tile) for b in batch]
        rows.append(np.concatenate(tiles, axis=1))
    fig = np.concatenate(rows, axis=0)
    return (np.clip(fig, 0.0, 1.0) * 255).round().astype(np.uint8)


def _tile(chw: np.ndarray, tile: int) -> np.ndarray:
    img = chw.transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] != 3:
        img = np.repeat(img[..., :1], 3, axis=2)
    h, w = img.shape[:2]
    rows = (np.arange(tile) * h // tile).clip(0, h - 1)
    cols = (np.arange(tile) * w // tile).clip(0, w - 1)
    out = img[rows][:, cols]
    out[[0, -1], :] = 1.0  # white frame between tiles
    out[:, [0, -1]] = 1.0
    return out
