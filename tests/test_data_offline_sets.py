"""Offline harder data sets (issue 19, item 2): Fashion-MNIST and Animal-MNIST loaders on small files written
in their packages' formats."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from agents.core.env_factory import EnvConfig, EnvFactory
from benchmarks.n2n_settings import TINY
from envs.compression import env_id
from envs.data import DataError, load_dataset
from envs.data.animal_mnist import FILES
from envs.data.fashion_mnist import DEBIAN_ROOT


def _write(folder: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(FILES, (images, labels), strict=True):
        with gzip.open(folder / name, "wb") as f:
            pickle.dump(array, f)
    return folder


def _fake(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.int64) % 10


def test_loads_resizes_and_drops_duplicate_images(tmp_path: Path) -> None:
    images, labels = _fake()
    images[50:] = images[:10]  # ten exact copies (same labels, as in the real files)
    root = _write(tmp_path / "Animal_MNIST", images, labels)
    ds = load_dataset("animal_mnist", root=tmp_path, seed=0, size=16, channels=3)
    assert ds.image_shape == (3, 16, 16) and ds.num_classes == 10 and ds.class_names[0] == "bear"
    assert len(ds.train) + len(ds.val) + len(ds.test) == 50  # the copies are gone
    flat = {tuple(x.ravel()) for x in ds.train.images}
    assert not any(tuple(x.ravel()) in flat for x in ds.test.images)
    again = load_dataset("animal_mnist", root=root, seed=0, size=16, channels=3)
    np.testing.assert_array_equal(ds.test.labels, again.test.labels)
    native = load_dataset("animal_mnist", root=root, size=28, channels=1)
    assert native.image_shape == (1, 28, 28) and 0.0 <= native.train.images.min() <= 1.0


def test_bad_input_gives_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="pip install --no-deps animal-mnist"):
        load_dataset("animal_mnist", root=tmp_path)
    images, labels = _fake()
    _write(tmp_path, images, labels[:-1])
    with pytest.raises(DataError, match="N labels"):
        load_dataset("animal_mnist", root=tmp_path)
    with gzip.open(tmp_path / FILES[0], "wb") as f:  # a pickle that would call a function
        pickle.dump(Path("x"), f)
    with pytest.raises(DataError, match="refusing"):
        load_dataset("animal_mnist", root=tmp_path)
    with pytest.raises(DataError, match="size"):
        load_dataset("animal_mnist", root=tmp_path, size=4)


def test_n2n_env_builds_on_animal_mnist(tmp_path: Path) -> None:
    images, labels = _fake(200)
    root = _write(tmp_path / "data", images, labels)
    kwargs = {**TINY, "data": "animal_mnist", "data_root": str(root), "cache_dir": str(tmp_path / "t")}
    fac = EnvFactory(EnvConfig(name="n2n-resnet18", id=env_id("removal", "resnet18"), kwargs=kwargs))
    core = fac.make(seed=0).unwrapped.core
    assert tuple(core.x_train.shape[1:]) == (1, TINY["image_size"], TINY["image_size"])
    assert core.num_classes == 10 and 0.0 <= core.teacher_test_acc <= 1.0


def _idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file (the MNIST / Fashion-MNIST format)."""
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_keeps_the_official_split_and_resizes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    test_x = rng.integers(0, 256, (6, 28, 28))
    _idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (20, 28, 28)))
    _idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 20))
    _idx(tmp_path / "t10k-images-idx3-ubyte", test_x)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(6))
    ds = load_dataset("fashion_mnist", root=tmp_path, val_fraction=0.25)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (15, 5, 6) and ds.class_names[-1] == "boot"
    np.testing.assert_allclose(ds.test.images[:, 0], test_x / 255.0, rtol=1e-6)
    small = load_dataset("fashion_mnist", root=tmp_path, size=16, channels=3)
    assert small.image_shape == (3, 16, 16)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(5))  # 6 images, 5 labels
    with pytest.raises(DataError, match="labels"):
        load_dataset("fashion_mnist", root=tmp_path)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", root=tmp_path / "empty")


@pytest.mark.skipif(not DEBIAN_ROOT.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_debian_package() -> None:
    ds = load_dataset("fashion_mnist", size=16)
    assert (len(ds.train) + len(ds.val), len(ds.test), ds.image_shape) == (60000, 10000, (1, 16, 16))
    assert np.bincount(ds.test.labels).tolist() == [1000] * 10
