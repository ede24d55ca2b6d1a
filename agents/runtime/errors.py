"""Error classes of the run machinery and the one rule for showing errors (issue 20; docs/errors.md).

A *user error* (bad config, bad checkpoint, busy or unwritable run directory, missing data, full disk) is
printed as one line, ``error: <cause>; <fix>``, and the command exits with status 2. Anything else is a bug:
its traceback is printed and the command exits with status 1. ``PGSUITE_DEBUG=1`` prints the traceback of
user errors too.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

EXIT_USER_ERROR = 2
EXIT_BUG = 1


class RunDirError(RuntimeError):
    """A run directory cannot be created or resumed; the message says why and what to do."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted, truncated, foreign or unsafe; the message names the file."""


# File-system errnos that are the user's environment, not a bug: the fix is on their side.
_FS_FIXES = {
    errno.ENOSPC: "free disk space (or set run.root to another disk), then resume with resume=auto",
    errno.EDQUOT: "free space within your quota (or set run.root elsewhere), then resume with resume=auto",
    errno.EROFS: "the file system is read-only: set run.root to a writable folder",
    errno.EACCES: "no permission: set run.root to a folder you can write, or fix its permissions",
    errno.EPERM: "no permission: set run.root to a folder you can write, or fix its permissions",
    errno.ENOENT: "a file or folder is missing: check the path",
    errno.ENOTDIR: "a path component is a file, not a folder: check the path",
}


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception classes shown as one line (imported lazily: they live in their own layers)."""
    from agents.core.base import SplitError
    from agents.core.config import ConfigError
    from envs.compression.pool import PoolError
    from envs.data.base import DataError

    return (ConfigError, CheckpointError, RunDirError, SplitError, DataError, PoolError)


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` is shown as one line (see module docstring)."""
    if isinstance(err, OSError) and err.errno in _FS_FIXES:
        return True
    return isinstance(err, user_error_types())


def one_line(err: BaseException) -> str:
    """The error as one line: its message's lines joined, the fix for file-system errors appended."""
    if isinstance(err, OSError) and err.errno in _FS_FIXES:
        where = f" ({err.filename})" if err.filename else ""
        return f"{err.strerror or err}{where}; {_FS_FIXES[err.errno]}"
    text = str(err).strip() or type(err).__name__
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def cause(err: BaseException) -> str:
    """``<Type>: <one line>`` for run.json's ``error`` field."""
    return f"{type(err).__name__}: {one_line(err)}"


def report(err: BaseException) -> int:
    """Print ``err`` per the module rule; returns the exit status to use."""
    debug = os.environ.get("PGSUITE_DEBUG", "") not in ("", "0")
    if is_user_error(err):
        if debug:
            traceback.print_exception(err)
        print(f"error: {one_line(err)}", file=sys.stderr)
        return EXIT_USER_ERROR
    traceback.print_exception(err)
    return EXIT_BUG
