"""Containers, split logic and the loader registry of the data layer."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """A data set is missing or malformed; the message says what to download and where to put it."""


@dataclass
class Split:
    """One split: ``images`` float32 (N, C, H, W) scaled to [0, 1]; ``labels`` int64 (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise DataError(f"images must be (N, C, H, W), got shape {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.images = np.ascontiguousarray(self.images, dtype=np.float32)
        self.labels = np.ascontiguousarray(self.labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int, seed: int) -> Split:
        """A seeded random subset of ``n`` examples (all of them when ``n >= len``)."""
        if n >= len(self):
            return self
        idx = np.random.default_rng(seed).permutation(len(self))[:n]
        return Split(self.images[idx], self.labels[idx])

    def classes_subset(self, classes: list[int]) -> Split:
        """The examples whose label is in ``classes`` (labels kept as they are)."""
        keep = np.isin(self.labels, classes)
        return Split(self.images[keep], self.labels[keep])


@dataclass
class ImageDataset:
    """A classification data set with train / val / test splits."""

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    class_names: list[str]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]


def split_train_val(train: Split, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """Seeded stratification-free split of a training set into train and validation parts."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be in (0, 1), got {val_fraction}")
    idx = np.random.default_rng(seed).permutation(len(train))
    n_val = max(1, round(len(train) * val_fraction))
    v, t = idx[:n_val], idx[n_val:]
    return Split(train.images[t], train.labels[t]), Split(train.images[v], train.labels[v])


Loader = Callable[..., ImageDataset]
DATASETS: dict[str, Loader] = {}


def register_dataset(name: str, loader: Loader) -> None:
    """Make ``load_dataset(name, ...)`` call ``loader(root=..., seed=..., **kwargs)``."""
    DATASETS[name] = loader


def available_datasets() -> list[str]:
    return sorted(DATASETS)


def load_dataset(name: str, root: str | Path | None = None, seed: int = 0, **kwargs: object) -> ImageDataset:
    """Load a registered data set; unknown names get a "did you mean" error listing what exists."""
    if name not in DATASETS:
        close = difflib.get_close_matches(name, DATASETS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise DataError(f"unknown data set {name!r}.{hint} Available: {', '.join(available_datasets())}")
    return DATASETS[name](root=root, seed=seed, **kwargs)
