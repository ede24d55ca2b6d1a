"""Data loaders on small files written here in the real on-disk formats."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from envs.data import DataError, load_dataset


def _cifar_batch(path: Path, n: int, label_key: str, seed: int, classes: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    batch = {
        b"batch_label": b"x",
        label_key.encode(): [int(v) for v in rng.integers(0, classes, n)],
        b"data": data,
        b"filenames": [b"f%d.png" % i for i in range(n)],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)  # what the official Python-2 batches use
    return data


def test_cifar10_and_safe_unpickler(tmp_path: Path) -> None:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    first = _cifar_batch(root / "data_batch_1", 10, "labels", 0, 10)
    for i in range(2, 6):
        _cifar_batch(root / f"data_batch_{i}", 10, "labels", i, 10)
    test = _cifar_batch(root / "test_batch", 8, "labels", 9, 10)
    with open(root / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"airplane"] + [b"c%d" % i for i in range(9)]}, f, protocol=2)
    ds = load_dataset("cifar10", root=tmp_path, seed=0, val_fraction=0.2)  # the parent folder works too
    assert len(ds.train) == 40 and len(ds.val) == 10 and len(ds.test) == 8
    assert ds.image_shape == (3, 32, 32) and ds.class_names[0] == "airplane"
    np.testing.assert_allclose(ds.test.images[0], test[0].reshape(3, 32, 32) / 255.0, rtol=1e-6)
    all_train = np.concatenate([ds.train.images, ds.val.images]).reshape(50, -1)
    assert any(np.allclose(row, first[0] / 255.0) for row in all_train)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [0]}, f, protocol=2)
    with pytest.raises(DataError, match="refusing"):
        load_dataset("cifar10", root=root)


def test_cifar100(tmp_path: Path) -> None:
    _cifar_batch(tmp_path / "train", 20, "fine_labels", 0, 100)
    _cifar_batch(tmp_path / "test", 5, "fine_labels", 1, 100)
    ds = load_dataset("cifar100", root=tmp_path, val_fraction=0.25)
    assert ds.num_classes == 100 and len(ds.train) == 15 and len(ds.val) == 5 and len(ds.test) == 5


def test_missing_files_name_the_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz"):
        load_dataset("cifar10", root=tmp_path)
    with pytest.raises(DataError, match=r"data.root"):
        load_dataset("cifar100", root=None)
    with pytest.raises(DataError, match=r"train_32x32.mat"):
        load_dataset("svhn", root=tmp_path)
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", root=tmp_path)


def test_svhn(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, n in (("train_32x32.mat", 10), ("test_32x32.mat", 4)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = np.arange(1, n + 1).reshape(n, 1) % 10 + 1  # labels 1..10, 10 = digit 0
        scipy.io.savemat(tmp_path / name, {"X": x, "y": y})
    ds = load_dataset("svhn", root=tmp_path, val_fraction=0.2)
    assert len(ds.train) == 8 and len(ds.test) == 4 and ds.image_shape == (3, 32, 32)
    assert set(ds.test.labels.tolist()) <= set(range(10)) and 0 in np.concatenate(
        [ds.train.labels, ds.val.labels]
    )
    (tmp_path / "test_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(DataError, match=r"test_32x32.mat"):
        load_dataset("svhn", root=tmp_path)


def _idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(blob)
    else:
        path.write_bytes(blob)


@pytest.mark.parametrize("compress", [True, False])
def test_mnist(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, (20, 28, 28))
    _idx(tmp_path / "train-images-idx3-ubyte", train_x, compress)
    _idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 20), compress)
    test_x = rng.integers(0, 256, (6, 28, 28))
    _idx(tmp_path / "t10k-images-idx3-ubyte", test_x, compress)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 6), compress)
    ds = load_dataset("mnist", root=tmp_path, val_fraction=0.25)
    assert len(ds.train) == 15 and len(ds.val) == 5 and ds.image_shape == (1, 28, 28)
    np.testing.assert_allclose(ds.test.images[:, 0], test_x / 255.0, rtol=1e-6)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 5), compress)  # 6 images, 5 labels
    with pytest.raises(DataError, match="labels"):
        load_dataset("mnist", root=tmp_path)


def test_digits_upsampled_and_seeded() -> None:
    a = load_dataset("digits", seed=0, size=16, channels=3)
    b = load_dataset("digits", seed=0, size=16, channels=3)
    c = load_dataset("digits", seed=1, size=16, channels=3)
    assert a.image_shape == (3, 16, 16) and a.num_classes == 10
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    np.testing.assert_array_equal(a.test.labels, b.test.labels)
    assert not np.array_equal(a.test.labels, c.test.labels)
    assert 0.0 <= a.train.images.min() and a.train.images.max() <= 1.0
    with pytest.raises(DataError):
        load_dataset("digits", size=4)
