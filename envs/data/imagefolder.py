"""Images in class sub-folders (torchvision ``ImageFolder`` layout): ``root/<class>/<image>``.

Two layouts are read:

* ``root/<class>/*.png`` — one tree; seeded ``test_fraction`` and ``val_fraction`` splits are drawn from it;
* ``root/train/<class>/...``, ``root/val/<class>/...`` (optional), ``root/test/<class>/...`` — given splits
  (a missing ``val/`` is split off ``train/``).

Classes are the sub-folder names in sorted order. Files are decoded with Pillow (PNG, JPEG, BMP, GIF, TIFF,
WebP), converted to grey when every image is grey and to RGB otherwise, and resized to ``size``×``size``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.data.base import DataError, ImageDataset, Split, register_dataset, split_train_val

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)


def _scan(folder: Path, classes: list[str] | None) -> tuple[list[Path], list[int], list[str]]:
    """Image files and labels of one class-folder tree (``classes`` fixes the order of a given split)."""
    dirs = _class_dirs(folder)
    names = [d.name for d in dirs]
    if classes is None:
        if len(names) < 2:
            raise DataError(
                f"imagefolder: {folder} needs one sub-folder per class (at least 2), found {names or 'none'}"
            )
        classes = names
    elif set(names) - set(classes):
        raise DataError(
            f"imagefolder: {folder} has classes {sorted(set(names) - set(classes))} that train/ lacks"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for d in dirs:
        files = _files(d)
        if not files:
            raise DataError(f"imagefolder: class folder {d} holds no images ({', '.join(EXTENSIONS)})")
        paths += files
        labels += [classes.index(d.name)] * len(files)
    return paths, labels, classes


def _decode(paths: list[Path], size: int, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(paths), channels, size, size), dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                arr = np.asarray(
                    img.convert(mode).resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32
                )
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise DataError(f"imagefolder: cannot decode {path} ({err}); remove or replace the file") from err
        out[i] = arr[None] / 255.0 if channels == 1 else arr.transpose(2, 0, 1) / 255.0
    return out


def _channels(paths: list[Path]) -> int:
    from PIL import Image

    for path in paths:
        try:
            with Image.open(path) as img:
                if img.mode not in _GREY_MODES:
                    return 3
        except OSError as err:
            raise DataError(f"imagefolder: cannot open {path} ({err}); remove or replace the file") from err
    return 1


def load_image_folder(
    root: str | Path | None = None,
    seed: int = 0,
    size: int = 64,
    channels: int | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> ImageDataset:
    """Load ``root`` (class sub-folders, optionally under ``train/``/``val/``/``test/``).

    Args:
        root: the folder (``data.root``).
        seed: seeds the splits drawn when the folder has no given split.
        size: images are resized to ``size``×``size``.
        channels: 1 or 3; ``None`` picks 1 when every image is grey, else 3.
        val_fraction: part of the training images used for validation when there is no ``val/``.
        test_fraction: part of all images held out as test when there is no ``test/``.
    """
    if root is None:
        raise DataError(
            "imagefolder needs data.root=/path/to/images (a folder with one sub-folder per class)"
        )
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataError(
            f"imagefolder: {base} is not a directory; set data.root to a folder with class sub-folders"
        )
    if size < 4:
        raise DataError(f"imagefolder size must be >= 4, got {size}")
    if channels not in (None, 1, 3):
        raise DataError(f"imagefolder channels must be 1, 3 or None, got {channels}")
    given = {name: base / name for name in ("train", "val", "test") if (base / name).is_dir()}
    if "train" in given:
        if "test" not in given:
            raise DataError(
                f"imagefolder: {base} has train/ but no test/; add test/<class>/ or flatten the tree"
            )
        scans = {"train": _scan(given["train"], None)}
        classes = scans["train"][2]
        scans |= {name: _scan(given[name], classes) for name in ("val", "test") if name in given}
    else:
        scans = {"all": _scan(base, None)}
        classes = scans["all"][2]
    all_paths = [p for paths, _, _ in scans.values() for p in paths]
    channels = channels or _channels(all_paths)
    splits = {
        name: Split(_decode(paths, size, channels), np.asarray(labels, dtype=np.int64))
        for name, (paths, labels, _) in scans.items()
    }
    if "all" in splits:
        rest, test = split_train_val(splits["all"], test_fraction, seed)
        train, val = split_train_val(rest, val_fraction, seed + 1)
    else:
        train, test = splits["train"], splits["test"]
        val = splits.get("val")
        if val is None:
            train, val = split_train_val(train, val_fraction, seed)
    return ImageDataset(f"imagefolder:{base.name}", train, val, test, len(classes), classes)


register_dataset("imagefolder", load_image_folder)
