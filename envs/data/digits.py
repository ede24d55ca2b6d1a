"""scikit-learn's bundled digits (1797 grey 8×8 images, 10 classes), upsampled: the no-download default.

There is no official test split, so a seeded ``test_fraction`` of all images is held out as the test set,
then ``val_fraction`` of the rest becomes the validation split (validation never comes from test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, C, H, W) images to (N, C, size, size) (align-corners=False sampling)."""
    _, _, h, w = images.shape
    if (h, w) == (size, size):
        return images.astype(np.float32, copy=True)

    def coords(src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = (np.arange(size, dtype=np.float64) + 0.5) * src / size - 0.5
        x = np.clip(x, 0.0, src - 1)
        lo = np.floor(x).astype(np.int64)
        hi = np.minimum(lo + 1, src - 1)
        return lo, hi, (x - lo).astype(np.float32)

    y0, y1, wy = coords(h)
    x0, x1, wx = coords(w)
    top = images[:, :, y0, :] * (1 - wy)[:, None] + images[:, :, y1, :] * wy[:, None]
    out = top[:, :, :, x0] * (1 - wx) + top[:, :, :, x1] * wx
    return out.astype(np.float32)


def load_digits_dataset(
    root: str | Path | None = None,
    seed: int = 0,
    size: int = 16,
    channels: int = 1,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> ImageDataset:
    """Digits upsampled to ``size``×``size`` with ``channels`` (1 or 3, repeated) channels in [0, 1].

    Args:
        root: ignored (the data ships with scikit-learn).
        seed: seeds the test and validation splits.
        size: output side length (≥ 8).
        channels: 1 (grey) or 3 (grey repeated, for CIFAR-shaped models).
        val_fraction: part of the non-test images used for validation.
        test_fraction: part of all images held out as the test split.
    """
    from sklearn.datasets import load_digits

    if size < 8:
        raise DataError(f"digits size must be >= 8 (the native 8x8), got {size}")
    if channels not in (1, 3):
        raise DataError(f"digits channels must be 1 or 3, got {channels}")
    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, None]  # pixel values are 0..16
    images = resize_bilinear(images, size)
    if channels == 3:
        images = np.repeat(images, 3, axis=1)
    full = Split(images, bunch.target.astype(np.int64))
    rest, test = split_train_val(full, test_fraction, seed)
    train, val = split_train_val(rest, val_fraction, seed + 1)
    return ImageDataset("digits", train, val, test, 10, [str(i) for i in range(10)])


register_dataset("digits", load_digits_dataset)
