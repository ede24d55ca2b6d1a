"""CIFAR-10 / CIFAR-100 from the official "python version" pickle batches, read with a safe unpickler.

Expected layout (what ``tar xzf cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` produce):

* CIFAR-10: ``<root>/data_batch_1`` … ``data_batch_5``, ``test_batch``, ``batches.meta``
  (``root`` may also be the folder that contains ``cifar-10-batches-py/``);
* CIFAR-100: ``<root>/train``, ``test``, ``meta`` (or a folder containing ``cifar-100-python/``).

The batches are Python pickles. They are read by :class:`SafeUnpickler`, which refuses every global except
NumPy's array reconstruction, so a tampered file cannot run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    allowed = {"_reconstruct": multiarray._reconstruct, "ndarray": np.ndarray, "dtype": np.dtype}
    table: dict[tuple[str, str], Any] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy"):
        for name, obj in allowed.items():
            table[(module, name)] = obj
    table[("_codecs", "encode")] = _latin1_encode  # how Python 3 writes bytes at protocol 2
    return table


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` restricted to latin-1 text → bytes (no other codec can be reached)."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refusing codec {encoding!r} in a data batch")
    return text.encode("latin1")


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only NumPy's ndarray reconstruction globals; everything else is refused."""

    _ALLOWED = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        obj = self._ALLOWED.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a data batch")
        return obj


def safe_load_batch(path: Path) -> dict[str, Any]:
    """Read one CIFAR batch file; keys are returned as ``str``."""
    try:
        with open(path, "rb") as f:
            obj = SafeUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise DataError(
            f"{path} is not a valid CIFAR python batch ({err}); re-download and extract it"
        ) from err
    if not isinstance(obj, dict):
        raise DataError(f"{path} should hold a dict, found {type(obj).__name__}; re-download and extract it")
    return {k.decode() if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _find_root(root: str | Path | None, subdir: str, marker: str, url: str, what: str) -> Path:
    if root is None:
        raise DataError(
            f"{what} needs data.root: download {url}, extract it, and pass data.root=<path>/{subdir}"
        )
    base = Path(root).expanduser()
    for cand in (base, base / subdir):
        if (cand / marker).is_file():
            return cand
    raise DataError(
        f"{what}: {marker!r} not found under {base} (or {base / subdir}). Download {url}, "
        f"run `tar xzf {url.rsplit('/', 1)[-1]}`, and set data.root to the extracted {subdir}/ folder"
    )


def _to_split(batch: dict[str, Any], label_key: str, path: Path) -> Split:
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path} lacks 'data' or {label_key!r}; is it a CIFAR batch? Re-download it")
    data = np.asarray(batch["data"])
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{path}: data must be (N, 3072) uint8, got {data.shape}; re-download it")
    images = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return Split(images, np.asarray(batch[label_key], dtype=np.int64))


def _concat(splits: list[Split]) -> Split:
    return Split(np.concatenate([s.images for s in splits]), np.concatenate([s.labels for s in splits]))


def _names(meta: dict[str, Any], key: str, n: int) -> list[str]:
    names = meta.get(key)
    if not names:
        return [str(i) for i in range(n)]
    return [x.decode() if isinstance(x, bytes) else str(x) for x in names]


def load_cifar10(root: str | Path | None = None, seed: int = 0, val_fraction: float = 0.1) -> ImageDataset:
    """CIFAR-10: 50k train (minus a seeded validation part) and 10k test 32×32 RGB images."""
    base = _find_root(root, "cifar-10-batches-py", "test_batch", CIFAR10_URL, "CIFAR-10")
    parts = []
    for i in range(1, 6):
        path = base / f"data_batch_{i}"
        if not path.is_file():
            raise DataError(f"CIFAR-10: {path} is missing; re-extract {CIFAR10_URL} into {base}")
        parts.append(_to_split(safe_load_batch(path), "labels", path))
    test = _to_split(safe_load_batch(base / "test_batch"), "labels", base / "test_batch")
    meta_path = base / "batches.meta"
    meta = safe_load_batch(meta_path) if meta_path.is_file() else {}
    train, val = split_train_val(_concat(parts), val_fraction, seed)
    return ImageDataset("cifar10", train, val, test, 10, _names(meta, "label_names", 10))


def load_cifar100(root: str | Path | None = None, seed: int = 0, val_fraction: float = 0.1) -> ImageDataset:
    """CIFAR-100 (fine labels): 50k train (minus a seeded validation part) and 10k test images."""
    base = _find_root(root, "cifar-100-python", "test", CIFAR100_URL, "CIFAR-100")
    if not (base / "train").is_file():
        raise DataError(f"CIFAR-100: {base / 'train'} is missing; re-extract {CIFAR100_URL} into {base}")
    full = _to_split(safe_load_batch(base / "train"), "fine_labels", base / "train")
    test = _to_split(safe_load_batch(base / "test"), "fine_labels", base / "test")
    meta_path = base / "meta"
    meta = safe_load_batch(meta_path) if meta_path.is_file() else {}
    train, val = split_train_val(full, val_fraction, seed)
    return ImageDataset("cifar100", train, val, test, 100, _names(meta, "fine_label_names", 100))


register_dataset("cifar10", load_cifar10)
register_dataset("cifar100", load_cifar100)
