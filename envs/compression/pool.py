"""Pluggable evaluation pools: train the students of one policy update in parallel.

A pool has two methods::

    train(specs: list[Spec]) -> list[dict]   # one {"val_acc": float, "seconds": float} per spec, in order
    close() -> None

and is bound to one :class:`~envs.compression.core.CompressionConfig`. Every worker process builds that
config's core once (:func:`~envs.compression.core.get_core`: data, teacher from the cache, teacher logits)
and then trains students with :func:`train_student_task`. Because a student's seed derives from its
architecture hash, the result does not depend on which worker trains it.

* :class:`SerialPool`: in the calling process (``workers`` ≤ 1).
* :class:`LocalPool`: ``workers`` spawned processes (``concurrent.futures``; ``spawn`` avoids forking a
  process whose OpenMP threads are running).
* :class:`RayPool`: Ray tasks on a cluster (``pip install ray``; ``ray start --head`` or an address). The
  teacher must be reachable by every node: point ``cache_dir`` at shared storage, or set ``teacher_path``.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from envs.compression.arch import Spec
from envs.compression.core import CompressionConfig, get_core


def train_student_task(cfg_dict: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Train and score one student in a worker (the core is built once per worker process)."""
    return get_core(CompressionConfig(**cfg_dict)).score_student(spec)


class SerialPool:
    """Trains students one after another in this process."""

    def __init__(self, cfg: CompressionConfig) -> None:
        self.cfg = cfg

    def train(self, specs: list[Spec]) -> list[dict[str, Any]]:
        return [get_core(self.cfg).score_student(s) for s in specs]

    def close(self) -> None:
        pass


class LocalPool:
    """``workers`` local processes, started once and reused for every update."""

    def __init__(self, cfg: CompressionConfig, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.cfg_dict = cfg.to_dict()
        self.workers = workers
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))

    def train(self, specs: list[Spec]) -> list[dict[str, Any]]:
        futures = [self._executor.submit(train_student_task, self.cfg_dict, s) for s in specs]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class RayPool:
    """Ray tasks (one CPU each by default); ``address=None`` starts or joins a local Ray instance."""

    def __init__(self, cfg: CompressionConfig, address: str | None = None, num_cpus: float = 1.0) -> None:
        try:
            import ray
        except ImportError as err:
            raise ImportError("n2n.pool=ray needs Ray: pip install 'ray>=2.9'") from err
        self._ray = ray
        ray.init(address=address, ignore_reinit_error=True)
        self.cfg_dict = cfg.to_dict()
        self._task = ray.remote(num_cpus=num_cpus)(train_student_task)

    def train(self, specs: list[Spec]) -> list[dict[str, Any]]:
        return self._ray.get([self._task.remote(self.cfg_dict, s) for s in specs])

    def close(self) -> None:
        pass


def make_pool(
    cfg: CompressionConfig, kind: str = "local", workers: int = 1, address: str | None = None
) -> Any:
    """``kind``: ``local`` (``workers`` ≤ 1 → :class:`SerialPool`) or ``ray``."""
    if kind == "local":
        return SerialPool(cfg) if workers <= 1 else LocalPool(cfg, workers)
    if kind == "ray":
        return RayPool(cfg, address=address)
    raise ValueError(f"pool must be 'local' or 'ray', got {kind!r}")
