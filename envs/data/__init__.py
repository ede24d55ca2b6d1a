"""The one data layer for every image task (N2N, noise mask).

``load_dataset(name, root=None, seed=0)`` returns a :class:`~envs.data.base.ImageDataset` with fixed,
seeded ``train`` / ``val`` / ``test`` splits. Loader modules register themselves with
:func:`~envs.data.base.register_dataset`; the bundled default (``digits``) needs no download,
``fashion_mnist`` (Debian package ``dataset-fashion-mnist``) and ``animal_mnist`` (PyPI ``animal-mnist``)
read the files a system or Python package installs (no download at run time either), the others
read the standard on-disk formats at ``root`` and name what to download when a file is missing.
"""

from __future__ import annotations

import importlib

from envs.data.base import (
    DATASETS,
    DataError,
    ImageDataset,
    Split,
    available_datasets,
    load_dataset,
    register_dataset,
)

#: Loader modules; each calls ``register_dataset`` on import.
_LOADERS: tuple[str, ...] = (
    "digits",
    "cifar",
    "svhn",
    "mnist",
    "imagefolder",
    "medmnist",
    "fashion_mnist",
    "animal_mnist",
)

for _name in _LOADERS:
    try:
        importlib.import_module(f"envs.data.{_name}")
    except ModuleNotFoundError as _err:  # a loader not written yet
        if _err.name != f"envs.data.{_name}":
            raise

__all__ = [
    "DATASETS",
    "DataError",
    "ImageDataset",
    "Split",
    "available_datasets",
    "load_dataset",
    "register_dataset",
]
