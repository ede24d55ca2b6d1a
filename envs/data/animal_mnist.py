"""Animal-MNIST: 10,000 grey 28×28 animal silhouettes in 10 classes, shipped inside a PyPI wheel (issue 19).

The ``animal-mnist`` package (version 0.4, MIT licence, 2.6 MB wheel) bundles the images as two gzipped
numpy pickles, ``animal_data_version_3.gz`` (10000×28×28 uint8) and ``animal_label_version_3.gz`` (10000
int64 labels: bear, bird, cat, cow, dog, elephant, giraffe, horse, sheep, zebra; 1,000 each). Nothing is
downloaded at run time. The package itself requires TensorFlow (only for its MNIST helpers), so install it
without dependencies::

    pip install --no-deps animal-mnist==0.4

or pass ``data.root`` = a folder holding the two files. The pickles are read by CIFAR's ``SafeUnpickler``
(numpy arrays only; anything else is refused). 284 images occur twice (same pixels, same label); the
copies are dropped before splitting so no test image is also a training image. Like ``digits`` there is no
official test split: a seeded ``test_fraction`` is held out, then ``val_fraction`` of the rest.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val
from envs.data.cifar import SafeUnpickler
from envs.data.digits import resize_bilinear

CLASSES = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]
FILES = ("animal_data_version_3.gz", "animal_label_version_3.gz")
INSTALL = "pip install --no-deps animal-mnist==0.4 (or set data.root to a folder with " + " and ".join(FILES)
INSTALL += ")"


def find_files(root: str | Path | None) -> Path:
    """The folder holding the two files: ``root`` (or ``root/Animal_MNIST``), else the installed package."""
    if root is not None:
        base = Path(root).expanduser()
        for folder in (base, base / "Animal_MNIST"):
            if all((folder / f).is_file() for f in FILES):
                return folder
        raise DataError(f"Animal-MNIST: {' and '.join(FILES)} not found under {base}; {INSTALL}")
    spec = importlib.util.find_spec("animal_mnist")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"Animal-MNIST is not installed: {INSTALL}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "Animal_MNIST"
    if not all((folder / f).is_file() for f in FILES):
        raise DataError(f"Animal-MNIST: the installed package lacks {folder}/{FILES[0]}; {INSTALL}")
    return folder


def read_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N×28×28, labels int64 N), with exact duplicate images dropped (first copy kept)."""
    try:
        with gzip.open(folder / FILES[0], "rb") as f:
            images = np.asarray(SafeUnpickler(f).load())
        with gzip.open(folder / FILES[1], "rb") as f:
            labels = np.asarray(SafeUnpickler(f).load()).astype(np.int64)
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise DataError(f"Animal-MNIST: cannot read {folder} ({err}); reinstall: {INSTALL}") from err
    if images.ndim != 3 or len(images) != len(labels) or labels.min() < 0 or labels.max() >= len(CLASSES):
        raise DataError(
            f"Animal-MNIST: expected N×28×28 images and N labels in 0..9, got {images.shape} and "
            f"{labels.shape} in {folder}; reinstall: {INSTALL}"
        )
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    keep = np.sort(first)
    return images[keep], labels[keep]


def load_animal_mnist(
    root: str | Path | None = None,
    seed: int = 0,
    size: int = 16,
    channels: int = 1,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> ImageDataset:
    """Animal-MNIST resized to ``size``×``size`` with ``channels`` (1 or 3, repeated) channels in [0, 1].

    Args:
        root: folder with the two files (default: the installed ``animal-mnist`` package).
        seed: seeds the test and validation splits.
        size: output side length (bilinear; 28 keeps the native images).
        channels: 1 (grey) or 3 (grey repeated, for CIFAR-shaped models).
        val_fraction: part of the non-test images used for validation.
        test_fraction: part of all (de-duplicated) images held out as the test split.
    """
    if size < 8:
        raise DataError(f"animal_mnist size must be >= 8, got {size}")
    if channels not in (1, 3):
        raise DataError(f"animal_mnist channels must be 1 or 3, got {channels}")
    images, labels = read_arrays(find_files(root))
    x = resize_bilinear((images.astype(np.float32) / 255.0)[:, None], size)
    if channels == 3:
        x = np.repeat(x, 3, axis=1)
    rest, test = split_train_val(Split(x, labels), test_fraction, seed)
    train, val = split_train_val(rest, val_fraction, seed + 1)
    return ImageDataset("animal_mnist", train, val, test, len(CLASSES), list(CLASSES))


register_dataset("animal_mnist", load_animal_mnist)
