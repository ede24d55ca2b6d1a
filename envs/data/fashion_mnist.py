"""Fashion-MNIST (Xiao et al. 2017): 70,000 grey 28×28 clothing images in 10 classes, offline (issue 19).

Debian and Ubuntu ship the official files in the ``dataset-fashion-mnist`` package (MIT/Expat licence,
Zalando SE; a 31 MB .deb, nothing downloaded at run time)::

    sudo apt-get install dataset-fashion-mnist        # -> /usr/share/datasets/fashion-mnist/

Elsewhere put the four IDX files of https://github.com/zalandoresearch/fashion-mnist (``train-images-
idx3-ubyte.gz`` etc., the MNIST format) in a folder and pass it as ``data.root``. The official 60k/10k
train/test split is kept; a seeded ``val_fraction`` of the training images becomes the validation split.
Images are resized to ``size`` (bilinear) with 1 or 3 channels, like ``digits``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val
from envs.data.digits import resize_bilinear
from envs.data.mnist import _FILES, read_idx

#: Where the Debian/Ubuntu package ``dataset-fashion-mnist`` installs the files.
DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
INSTALL = (
    "apt-get install dataset-fashion-mnist (Debian/Ubuntu), or put the four IDX files of "
    "github.com/zalandoresearch/fashion-mnist in a folder and set data.root"
)


def _read(base: Path, images_key: str, labels_key: str) -> tuple[np.ndarray, np.ndarray]:
    paths = []
    for key in (images_key, labels_key):
        stem = _FILES[key]
        found = [base / n for n in (stem + ".gz", stem) if (base / n).is_file()]
        if not found:
            raise DataError(f"Fashion-MNIST: {stem}(.gz) not found under {base}; {INSTALL}")
        paths.append(found[0])
    try:
        images, labels = read_idx(paths[0], 3), read_idx(paths[1], 1)
    except DataError as err:  # the MNIST reader's message names MNIST's mirror: name ours instead
        raise DataError(f"Fashion-MNIST: {str(err).split(';')[0]}; {INSTALL}") from err
    if len(images) != len(labels):
        raise DataError(f"Fashion-MNIST: {len(images)} images but {len(labels)} labels in {base}; {INSTALL}")
    return images, labels.astype(np.int64)


def load_fashion_mnist(
    root: str | Path | None = None,
    seed: int = 0,
    size: int = 28,
    channels: int = 1,
    val_fraction: float = 0.1,
) -> ImageDataset:
    """Fashion-MNIST at ``size``×``size`` with ``channels`` (1 or 3, repeated) channels in [0, 1].

    Args:
        root: folder with the four IDX files (default: the Debian package's folder).
        seed: seeds the validation split.
        size: output side length (bilinear; 28 keeps the native images).
        channels: 1 (grey) or 3 (grey repeated, for CIFAR-shaped models).
        val_fraction: part of the 60k training images used for validation.
    """
    if size < 8:
        raise DataError(f"fashion_mnist size must be >= 8, got {size}")
    if channels not in (1, 3):
        raise DataError(f"fashion_mnist channels must be 1 or 3, got {channels}")
    base = Path(root).expanduser() if root is not None else DEBIAN_ROOT

    def split(images_key: str, labels_key: str) -> Split:
        images, labels = _read(base, images_key, labels_key)
        x = resize_bilinear((images.astype(np.float32) / 255.0)[:, None], size)
        return Split(np.repeat(x, 3, axis=1) if channels == 3 else x, labels)

    train, val = split_train_val(split("train_images", "train_labels"), val_fraction, seed)
    test = split("test_images", "test_labels")
    return ImageDataset("fashion_mnist", train, val, test, len(CLASSES), list(CLASSES))


register_dataset("fashion_mnist", load_fashion_mnist)
