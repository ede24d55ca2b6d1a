"""Teacher training on first use, cached as safetensors; or loading a user's teacher file.

Cache file: ``<cache_dir>/<arch>-w<width>-<data>-s<seed>-<key>.safetensors`` where ``key`` hashes every
setting that changes the weights (architecture, width, data set and its preprocessing, seed, epochs, lr).
The default cache dir is ``~/.cache/pgsuite/teachers`` (env var ``PGSUITE_TEACHER_CACHE`` overrides it).
Files are written atomically, so two runs training the same teacher never see a partial file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from envs.classifier import FitConfig, fit
from envs.compression.arch import Spec, spec_to_json
from envs.compression.network import SpecNet, build

log = logging.getLogger("pgsuite.n2n")


def default_cache_dir() -> Path:
    return Path(os.environ.get("PGSUITE_TEACHER_CACHE", Path.home() / ".cache" / "pgsuite" / "teachers"))


def teacher_key(fields: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:10]


def teacher_cache_path(cache_dir: str | Path | None, fields: dict[str, Any]) -> Path:
    """Where the teacher described by ``fields`` (arch, width, data, seed, ...) is cached."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    name = f"{fields['arch']}-w{fields['width']}-{fields['data']}-s{fields['seed']}-{teacher_key(fields)}"
    return root / f"{name}.safetensors"


def _load_weights(path: Path, spec: Spec) -> SpecNet:
    # The random init is overwritten; forking keeps the global RNG where a cache miss leaves it (training
    # the teacher also runs under fork_rng), so a run's seeded stream does not depend on the cache.
    with torch.random.fork_rng(devices=[]):
        model = build(spec)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(
            f"teacher file {path} does not match the {len(spec['layers'])}-unit spec of this teacher "
            f"(check teacher/width/data settings): {str(err)[:300]}"
        ) from err
    return model.eval()


def load_or_train_teacher(
    spec: Spec,
    fields: dict[str, Any],
    images: torch.Tensor,
    labels: torch.Tensor,
    fit_cfg: FitConfig,
    cache_dir: str | Path | None = None,
    teacher_path: str | Path | None = None,
) -> tuple[SpecNet, dict[str, Any]]:
    """Return (teacher in eval mode, info) where info has ``source`` (user/cache/trained) and ``path``.

    Args:
        spec: the teacher's spec; fields: the cache key (arch, width, data, seed, ...).
        images, labels: the training split the teacher is trained on when no cached file exists.
        fit_cfg: teacher training settings. cache_dir: see module doc.
        teacher_path: a user's weights (safetensors, or a torch state dict) for ``spec``; skips training.
    """
    if teacher_path:
        path = Path(teacher_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"teacher_path {path} does not exist")
        return _load_weights(path, spec), {"source": "user", "path": str(path)}
    path = teacher_cache_path(cache_dir, fields)
    if path.is_file():
        log.info("N2N: loading cached teacher %s", path)
        return _load_weights(path, spec), {"source": "cache", "path": str(path)}
    log.info("N2N: training teacher %s for %d epochs (cached at %s)", fields["arch"], fit_cfg.epochs, path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(fields["seed"]))
        model = build(spec)

    def report(epoch: int, loss: float) -> None:
        log.info("N2N teacher epoch %d/%d: loss %.4f", epoch + 1, fit_cfg.epochs, loss)

    fit(model, images, labels, fit_cfg, seed=int(fields["seed"]), on_epoch=report)
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, tmp, metadata={"spec": spec_to_json(spec), "fields": json.dumps(fields, default=str)})
    os.replace(tmp, path)
    return model.eval(), {"source": "trained", "path": str(path)}
