"""MedMNIST v2 ``.npz`` files (Yang et al., 2023): ``train_images``, ``val_images``, ``test_images`` and the
matching ``*_labels`` arrays, as https://zenodo.org/records/10519652 ships them (e.g. ``organamnist.npz``,
``bloodmnist_64.npz``).

``data.root`` is the ``.npz`` file, or a folder holding exactly one (or pass ``flag="organamnist"`` to pick
``<flag>.npz`` in the folder). Images are uint8 (N, H, W) grey or (N, H, W, 3) colour; labels (N,) or (N, 1)
class indices. Multi-label sets (ChestMNIST's (N, 14) labels) are refused: the tasks here are single-label.
Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset

MEDMNIST_URL = "https://zenodo.org/records/10519652"
SPLITS = ("train", "val", "test")


def _resolve(root: str | Path | None, flag: str | None) -> Path:
    if root is None:
        raise DataError(f"medmnist needs data.root=/path/to/<name>.npz (download from {MEDMNIST_URL})")
    path = Path(root).expanduser()
    if path.is_dir():
        if flag is not None:
            path = path / f"{flag}.npz"
        else:
            found = sorted(path.glob("*.npz"))
            if len(found) != 1:
                names = ", ".join(p.name for p in found) or "none"
                raise DataError(
                    f"medmnist: {path} must hold exactly one .npz (found {names}); point data.root at the "
                    f"file"
                )
            path = found[0]
    if not path.is_file():
        raise DataError(
            f"medmnist: {path} not found; download it from {MEDMNIST_URL} and set data.root to it"
        )
    return path


def _images(array: np.ndarray, key: str, path: Path) -> np.ndarray:
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"medmnist: {path}:{key} has shape {array.shape}; expected (N, H, W) or (N, H, W, 3)")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if np.issubdtype(array.dtype, np.floating) and array.size and 0.0 <= array.min() and array.max() <= 1.0:
        return array.astype(np.float32)
    raise DataError(
        f"medmnist: {path}:{key} has dtype {array.dtype}; expected uint8 images (or floats in [0, 1])"
    )


def _labels(array: np.ndarray, key: str, path: Path) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(
            f"medmnist: {path}:{key} has shape {array.shape}; multi-label MedMNIST sets are not supported"
        )
    if not np.issubdtype(array.dtype, np.integer) or (array.size and array.min() < 0):
        raise DataError(
            f"medmnist: {path}:{key} must hold non-negative integer class indices, got {array.dtype}"
        )
    return array.astype(np.int64)


def load_medmnist(root: str | Path | None = None, seed: int = 0, flag: str | None = None) -> ImageDataset:
    """Load a MedMNIST ``.npz`` with its official train / val / test splits (``seed`` is unused)."""
    path = _resolve(root, flag)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            needed = [f"{s}_{kind}" for s in SPLITS for kind in ("images", "labels")]
            missing = [k for k in needed if k not in keys]
            if missing:
                raise DataError(
                    f"medmnist: {path} lacks {', '.join(missing)} (has "
                    f"{', '.join(sorted(keys)) or 'nothing'}); "
                    f"is it a MedMNIST file? Re-download it from {MEDMNIST_URL}"
                )
            arrays = {k: npz[k] for k in needed}
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(
            f"medmnist: cannot read {path} as .npz ({err}); re-download it from {MEDMNIST_URL}"
        ) from err
    except ValueError as err:  # object arrays need pickle, which we refuse
        if isinstance(err, DataError):
            raise
        raise DataError(
            f"medmnist: {path} holds arrays that need pickle ({err}); expected plain uint8/int arrays"
        ) from err
    splits = {}
    for s in SPLITS:
        images = _images(arrays[f"{s}_images"], f"{s}_images", path)
        labels = _labels(arrays[f"{s}_labels"], f"{s}_labels", path)
        if len(images) != len(labels):
            raise DataError(f"medmnist: {path} has {len(images)} {s} images but {len(labels)} labels")
        splits[s] = Split(images, labels)
    shapes = {s: sp.images.shape[1:] for s, sp in splits.items()}
    if len(set(shapes.values())) != 1:
        raise DataError(f"medmnist: {path} splits have different image shapes {shapes}")
    num_classes = int(max(int(sp.labels.max()) for sp in splits.values() if len(sp)) + 1)
    name = f"medmnist:{path.stem}"
    return ImageDataset(
        name,
        splits["train"],
        splits["val"],
        splits["test"],
        num_classes,
        [str(i) for i in range(num_classes)],
    )


register_dataset("medmnist", load_medmnist)
