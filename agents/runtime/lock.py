"""One writer per run directory: an OS-level lock held for the life of a run (issue 20).

``<run>/.lock`` is locked with ``fcntl.flock``; the kernel releases it when the process dies (even by
SIGKILL), so a killed run never blocks its own resume. The holder writes its PID, host and start time into
the file, so a second process can say who holds the run. The lock file is never deleted (deleting it would
let two processes lock two different inodes of the same name).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from agents.runtime.errors import RunDirError

LOCK_NAME = ".lock"


class RunLockedError(RunDirError):
    """Another live process holds the run directory."""


class RunLock:
    """An exclusive, non-blocking lock on a run directory (a context manager).

    Raises:
        RunLockedError: from :meth:`acquire` when another process holds it, naming its PID and host.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunLockedError(
                f"{self.path.parent} is in use by another run (pid {holder.get('pid', '?')} on host "
                f"{holder.get('host', '?')}, since {holder.get('since', '?')}); wait for it to end, stop it, "
                f"or start a separate run (resume=never, another run.name)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire() if self._fd is None else self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def is_locked(run_dir: str | Path) -> bool:
    """Whether a live process holds ``run_dir`` (probes the lock without keeping it; no file is created)."""
    path = Path(run_dir) / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False


def _holder() -> dict[str, object]:
    from agents.runtime.rundir import utc_now

    return {"pid": os.getpid(), "host": socket.gethostname(), "since": utc_now()}


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = os.pread(fd, 4096, 0)
        info = json.loads(data.decode() or "{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}
