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
* :class:`RayPool`: Ray tasks on a cluster (``pip install -e .[ray]``). ``address=None`` starts a private
  single-node Ray bound to 127.0.0.1 (``workers`` CPUs); an address (``host:port`` of ``ray start --head``)
  joins that cluster. The teacher must be reachable by every node: point ``cache_dir`` at shared storage,
  or set ``teacher_path`` (docs/scaling.md).

A result with a ``"failed"`` key (a reason) is a student that could not be scored: the core gives it the
degenerate reward (−1) and does not cache it (issue 18). :class:`RayPool` retries a student whose worker
died once, then reports it failed; an exception raised by the training code itself is not retried.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import socket
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import Any

from envs.compression.arch import Spec, spec_hash
from envs.compression.core import CompressionConfig, get_core

log = logging.getLogger(__name__)

#: Object-store size of a private local Ray (students exchange only a spec and a few floats).
LOCAL_OBJECT_STORE_BYTES = 100 * 1024 * 1024


class PoolError(RuntimeError):
    """An evaluation pool cannot start (e.g. the Ray head is unreachable); the message is one line."""


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


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Raise :class:`PoolError` (one line naming ``address``) when no Ray head answers there.

    ``ray.init`` itself waits for minutes on a dead address; this TCP probe answers in ``timeout`` s.
    ``None`` (start locally) and ``"auto"`` (Ray's own discovery) are not probed.
    """
    if address is None or address == "auto":
        return
    host_port = address.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout).close()
    except (OSError, ValueError) as err:
        raise PoolError(
            f"Ray head at {address} is unreachable ({err.__class__.__name__}: {err}); start one there "
            "(`ray start --head --node-ip-address=<host> --port=<port>`) or set agent.ray_address=null "
            "to start Ray on this machine"
        ) from None


def _is_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rpartition(":")[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


@contextmanager
def _loopback_node() -> Iterator[None]:
    """Make this process's Ray node IP 127.0.0.1 while Ray starts or connects.

    Ray replaces a loopback node IP by the machine's routable one (then its servers listen on every
    interface, and a driver looks for its raylet at the wrong address) unless
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which ``ray._private.ray_constants`` reads at import; the
    switch is set here for the call and for the daemons it starts, then restored.
    """
    from ray._private import ray_constants

    previous_env = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    previous_flag = ray_constants.ENABLE_RAY_CLUSTER
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous_flag
        if previous_env is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = previous_env


def ray_init(address: str | None, num_cpus: float | None = None, **init_kwargs: Any) -> None:
    """Start a private single-node Ray (``address=None``: ``num_cpus`` CPUs, every server on 127.0.0.1,
    no dashboard) or join the cluster at ``address`` (``host:port``, or ``auto`` for the latest
    ``ray start`` on this machine; probed first by :func:`check_ray_address`)."""
    import ray

    if address is None:
        with _loopback_node():
            ray.init(
                num_cpus=num_cpus,
                include_dashboard=False,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                logging_level=logging.WARNING,
                **init_kwargs,
            )
        return
    if address == "auto":  # Ray's discovery of the latest `ray start` on this machine, resolved here
        from ray._private.services import canonicalize_bootstrap_address_or_die

        try:
            address = canonicalize_bootstrap_address_or_die("auto")
        except ConnectionError as err:
            raise PoolError(f"ray address 'auto': {str(err).splitlines()[0]}") from None
    check_ray_address(address)
    with _loopback_node() if _is_loopback(address) else nullcontext():
        ray.init(address=address, logging_level=logging.WARNING, **init_kwargs)


class RayPool:
    """Students as Ray tasks (``num_cpus`` each); see the module docstring for retries and addresses.

    Args:
        cfg: the oracle's configuration; every worker rebuilds the core from it.
        address: ``host:port`` of a running head, or None to start a private local Ray with ``workers``
            CPUs (shut down by :meth:`close`).
        workers: CPUs of a local Ray (ignored when joining a cluster, which has its own).
        num_cpus: CPUs reserved per student task.
        max_retries: Ray re-runs a task whose worker process died this many times (default once).
    """

    def __init__(
        self,
        cfg: CompressionConfig,
        address: str | None = None,
        workers: int = 2,
        num_cpus: float = 1.0,
        max_retries: int = 1,
    ) -> None:
        try:
            import ray
        except ImportError as err:
            raise ImportError("agent.pool=ray needs Ray: pip install -e '.[ray]'") from err
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            ray_init(address, num_cpus=max(1, workers) * num_cpus)
            self._owns_ray = True
        self.address = address
        self.max_retries = max_retries
        self.cfg_dict = cfg.to_dict()
        self._task = ray.remote(num_cpus=num_cpus, max_retries=max_retries, retry_exceptions=False)(
            train_student_task
        )

    def train(self, specs: list[Spec]) -> list[dict[str, Any]]:
        refs = [self._task.remote(self.cfg_dict, s) for s in specs]
        results = []
        for spec, ref in zip(specs, refs, strict=True):
            try:
                results.append(self._ray.get(ref))
            except self._ray.exceptions.RayError as err:
                results.append(self._failed(spec, err))
        return results

    def _failed(self, spec: Spec, err: Exception) -> dict[str, Any]:
        died = isinstance(err, self._ray.exceptions.WorkerCrashedError | self._ray.exceptions.NodeDiedError)
        tries = 1 + self.max_retries if died else 1
        cause = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        reason = f"Ray task failed after {tries} tries: {type(err).__name__}: {cause}"
        log.warning("student %s: %s; recorded as failed (reward -1)", spec_hash(spec), reason)
        return {"val_acc": 0.0, "seconds": math.nan, "failed": reason}

    def close(self) -> None:
        """Disconnect; a local Ray started by this pool is shut down (its processes end)."""
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False


def make_pool(
    cfg: CompressionConfig, kind: str = "local", workers: int = 1, address: str | None = None
) -> Any:
    """``kind``: ``local`` (``workers`` ≤ 1 → :class:`SerialPool`) or ``ray`` (``workers`` CPUs when
    Ray is started here; a cluster at ``address`` brings its own)."""
    if kind == "local":
        return SerialPool(cfg) if workers <= 1 else LocalPool(cfg, workers)
    if kind == "ray":
        return RayPool(cfg, address=address, workers=max(1, workers))
    raise ValueError(f"pool must be 'local' or 'ray', got {kind!r}")
