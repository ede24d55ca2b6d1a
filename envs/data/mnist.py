"""MNIST from the original IDX files (``train-images-idx3-ubyte`` etc.), gzipped or raw.

Download the four files from https://ossci-datasets.s3.amazonaws.com/mnist/ (mirror of LeCun's page) into
``data.root`` (or ``data.root/MNIST/raw``): ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find(base: Path, stem: str) -> Path:
    for folder in (base, base / "MNIST" / "raw", base / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise DataError(
        f"MNIST: {stem}(.gz) not found under {base}. Download {MNIST_URL}{stem}.gz into {base} (data.root)"
    )


def read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read an IDX file (magic 0x0000 08 <ndim>, big-endian dims, then uint8 data)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"MNIST: cannot read {path} ({err}); re-download {MNIST_URL}{path.name}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_ndim:
        raise DataError(
            f"MNIST: {path} has a bad IDX header; expected uint8 with {expected_ndim} dims. Re-download it"
        )
    dims = np.frombuffer(raw, dtype=">u4", count=expected_ndim, offset=4).astype(np.int64)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * expected_ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(
            f"MNIST: {path} is truncated ({data.size} of {int(np.prod(dims))} bytes); re-download it"
        )
    return data.reshape(tuple(dims))


def _split(base: Path, images_key: str, labels_key: str) -> Split:
    images = read_idx(_find(base, _FILES[images_key]), 3)
    labels = read_idx(_find(base, _FILES[labels_key]), 1)
    if len(images) != len(labels):
        raise DataError(
            f"MNIST: {len(images)} images but {len(labels)} labels in {base}; re-download the files"
        )
    return Split(images[:, None].astype(np.float32) / 255.0, labels.astype(np.int64))


def load_mnist(root: str | Path | None = None, seed: int = 0, val_fraction: float = 0.1) -> ImageDataset:
    """MNIST train (minus a seeded validation part) and test splits as 1×28×28 images in [0, 1]."""
    if root is None:
        raise DataError(
            f"MNIST needs data.root: download the four IDX files from {MNIST_URL} into one folder"
        )
    base = Path(root).expanduser()
    train, val = split_train_val(_split(base, "train_images", "train_labels"), val_fraction, seed)
    test = _split(base, "test_images", "test_labels")
    return ImageDataset("mnist", train, val, test, 10, [str(i) for i in range(10)])


register_dataset("mnist", load_mnist)
