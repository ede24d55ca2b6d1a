"""The image-folder and MedMNIST loaders on files written here (no downloads)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from envs.data import DataError, load_dataset


def _write_images(folder, classes, per_class, rng, mode="RGB", size=(20, 14)):
    for c in classes:
        (folder / c).mkdir(parents=True)
        for i in range(per_class):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            arr = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(arr, mode).save(folder / c / f"{i}.{'png' if i % 2 else 'jpg'}")


def test_imagefolder_single_tree_is_split_and_resized(tmp_path):
    rng = np.random.default_rng(0)
    _write_images(tmp_path, ["cat", "dog", "eel"], 10, rng)
    ds = load_dataset("imagefolder", root=tmp_path, seed=0, size=12)
    assert ds.class_names == ["cat", "dog", "eel"] and ds.num_classes == 3
    assert ds.image_shape == (3, 12, 12)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 30
    for split in (ds.train, ds.val, ds.test):
        assert split.images.dtype == np.float32 and 0.0 <= split.images.min() <= split.images.max() <= 1.0
        assert set(split.labels.tolist()) <= {0, 1, 2}
    again = load_dataset("imagefolder", root=tmp_path, seed=0, size=12)
    np.testing.assert_array_equal(again.test.labels, ds.test.labels)


def test_imagefolder_given_splits_and_grey_detection(tmp_path):
    rng = np.random.default_rng(1)
    _write_images(tmp_path / "train", ["a", "b"], 6, rng, mode="L", size=(10, 10))
    _write_images(tmp_path / "test", ["a", "b"], 3, rng, mode="L", size=(10, 10))
    ds = load_dataset("imagefolder", root=tmp_path, size=8)
    assert ds.image_shape == (1, 8, 8)
    assert len(ds.test) == 6 and len(ds.train) + len(ds.val) == 12
    # pixel values survive decoding (PNG is lossless): a resize to the native size keeps them
    img = np.asarray(Image.open(tmp_path / "test" / "a" / "1.png"), dtype=np.float32) / 255.0
    native = load_dataset("imagefolder", root=tmp_path, size=10)
    assert any(np.allclose(x[0], img, atol=1e-6) for x in native.test.images)


def test_imagefolder_errors_name_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"data\.root"):
        load_dataset("imagefolder", root=None)
    with pytest.raises(DataError, match="not a directory"):
        load_dataset("imagefolder", root=tmp_path / "missing")
    (tmp_path / "only").mkdir()
    with pytest.raises(DataError, match="at least 2"):
        load_dataset("imagefolder", root=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_dataset("imagefolder", root=tmp_path)
    (tmp_path / "only" / "x.png").write_bytes(b"not a png")
    (tmp_path / "empty" / "y.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot"):
        load_dataset("imagefolder", root=tmp_path)


def _medmnist(path, n=(12, 4, 6), shape=(28, 28), classes=4, rng=None, **override):
    rng = rng or np.random.default_rng(0)
    arrays = {}
    for split, k in zip(("train", "val", "test"), n, strict=True):
        arrays[f"{split}_images"] = rng.integers(0, 256, (k, *shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(k) % classes).reshape(k, 1).astype(np.uint8)
    arrays.update(override)
    np.savez(path, **arrays)
    return arrays


def test_medmnist_grey_and_colour(tmp_path):
    arrays = _medmnist(tmp_path / "organamnist.npz")
    ds = load_dataset("medmnist", root=tmp_path / "organamnist.npz")
    assert ds.image_shape == (1, 28, 28) and ds.num_classes == 4
    assert (len(ds.train), len(ds.val), len(ds.test)) == (12, 4, 6)
    np.testing.assert_allclose(ds.train.images[:, 0], arrays["train_images"] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(ds.test.labels, arrays["test_labels"][:, 0])
    colour = tmp_path / "colour"
    colour.mkdir()
    _medmnist(colour / "bloodmnist_64.npz", shape=(16, 16, 3), classes=3)
    ds = load_dataset("medmnist", root=colour)  # a folder with exactly one .npz
    assert ds.image_shape == (3, 16, 16) and ds.num_classes == 3


def test_medmnist_errors_name_the_fix(tmp_path):
    with pytest.raises(DataError, match=r"data\.root"):
        load_dataset("medmnist", root=None)
    with pytest.raises(DataError, match="not found"):
        load_dataset("medmnist", root=tmp_path / "nope.npz")
    np.savez(tmp_path / "partial.npz", train_images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"lacks .*val_images"):
        load_dataset("medmnist", root=tmp_path / "partial.npz")
    with pytest.raises(DataError, match="exactly one"):
        _medmnist(tmp_path / "second.npz")
        load_dataset("medmnist", root=tmp_path)
    _medmnist(tmp_path / "multi.npz", train_labels=np.zeros((12, 14), np.uint8))
    with pytest.raises(DataError, match="multi-label"):
        load_dataset("medmnist", root=tmp_path / "multi.npz")
    _medmnist(tmp_path / "short.npz", val_labels=np.zeros((3, 1), np.uint8))
    with pytest.raises(DataError, match="4 val images but 3 labels"):
        load_dataset("medmnist", root=tmp_path / "short.npz")
    np.savez(
        tmp_path / "pickled.npz",
        **{f"{s}_{k}": np.array([object()]) for s in ("train", "val", "test") for k in ("images", "labels")},
    )
    with pytest.raises(DataError, match="pickle"):
        load_dataset("medmnist", root=tmp_path / "pickled.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset("medmnist", root=tmp_path / "broken.npz")
