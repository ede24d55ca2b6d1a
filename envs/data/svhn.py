"""SVHN (cropped digits, format 2) from ``train_32x32.mat`` and ``test_32x32.mat`` via ``scipy.io.loadmat``.

Files: http://ufldl.stanford.edu/housenumbers/train_32x32.mat and ``test_32x32.mat``, both in ``data.root``.
``X`` is (32, 32, 3, N) uint8 and ``y`` is (N, 1) with labels 1..10, where 10 stands for the digit 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val

SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"


def _read_mat(path: Path) -> Split:
    import scipy.io

    if not path.is_file():
        raise DataError(
            f"SVHN: {path} is missing. Download {SVHN_URL}{path.name} and put it in {path.parent} (data.root)"
        )
    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, OSError, TypeError, scipy.io.matlab.MatReadError) as err:
        raise DataError(
            f"SVHN: {path} is not a readable .mat file ({err}); re-download {SVHN_URL}{path.name}"
        ) from err
    if "X" not in mat or "y" not in mat:
        raise DataError(f"SVHN: {path} lacks 'X' or 'y'; use the cropped-digits files {SVHN_URL}{path.name}")
    x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataError(f"SVHN: {path} X must be (32, 32, 3, N) matching y, got {x.shape} and {y.shape}")
    images = x.transpose(3, 2, 0, 1).astype(np.float32) / 255.0
    labels = y.astype(np.int64) % 10  # label 10 means digit 0
    return Split(images, labels)


def load_svhn(root: str | Path | None = None, seed: int = 0, val_fraction: float = 0.1) -> ImageDataset:
    """SVHN train (minus a seeded validation part) and test splits as 3×32×32 images in [0, 1]."""
    if root is None:
        raise DataError(f"SVHN needs data.root: download train_32x32.mat and test_32x32.mat from {SVHN_URL}")
    base = Path(root).expanduser()
    train, val = split_train_val(_read_mat(base / "train_32x32.mat"), val_fraction, seed)
    test = _read_mat(base / "test_32x32.mat")
    return ImageDataset("svhn", train, val, test, 10, [str(i) for i in range(10)])


register_dataset("svhn", load_svhn)
