"""Command-line options in Hydra-override style: ``python -m agents.plot runs/ metric=eval/success reps=500``.

One positional folder, then ``key=value`` pairs (``--key=value`` is accepted too). A value takes the type
of the option's default (int, float, bool, str); ``null``/``none`` gives None. Unknown keys and bad values
exit with status 2 and a message naming the fix; ``-h``/``--help`` prints the options.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from typing import Any, NoReturn


@dataclass(frozen=True)
class Option:
    """One ``key=value`` option: its default (which fixes its type) and a help line."""

    default: Any
    help: str
    kind: type | None = None  # the type when the default is None


def fail(message: str) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit with status 2 (bad command line)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def help_text(prog: str, description: str, options: dict[str, Option]) -> str:
    """The ``--help`` text: usage, description, then every option with its default."""
    width = max(len(k) for k in options) + 2
    lines = [f"usage: python -m {prog} <folder> [key=value ...]", "", description.strip(), "", "options:"]
    for key, option in options.items():
        default = "" if option.default is None else f" (default: {option.default})"
        lines.append(f"  {key + '=':<{width}} {option.help}{default}")
    lines += ["", "Options use Hydra-override style (key=value); -h/--help shows this text."]
    return "\n".join(lines)


def parse_args(
    argv: list[str] | None, prog: str, description: str, options: dict[str, Option]
) -> tuple[str, dict[str, Any]]:
    """``(folder, {key: value})`` from ``argv`` (default ``sys.argv[1:]``); exits on ``--help``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help", "help") for arg in argv):
        print(help_text(prog, description, options))
        raise SystemExit(0)
    values = {key: option.default for key, option in options.items()}
    folder = None
    for arg in argv:
        if "=" not in arg:
            if folder is not None:
                fail(f"two folders given ({folder!r}, {arg!r}); pass one folder, then key=value options")
            folder = arg
            continue
        key, _, raw = arg.lstrip("-+").partition("=")
        if key not in options:
            close = difflib.get_close_matches(key, options, n=1)
            hint = f"; did you mean {close[0]}=?" if close else f"; known: {', '.join(options)}"
            fail(f"unknown option {key!r}{hint}")
        values[key] = _convert(key, raw, options[key])
    if folder is None:
        fail(f"no folder given: python -m {prog} <folder of run directories> [key=value ...]")
    return folder, values


def _convert(key: str, raw: str, option: Option) -> Any:
    if raw.lower() in ("null", "none", "~"):
        return None
    kind = option.kind or type(option.default)
    if option.default is None and option.kind is None:
        kind = str
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        return kind(raw)
    except ValueError:
        fail(f"{key}={raw!r}: expected {kind.__name__}")


IMAGE_FORMATS = ("png", "svg", "pdf")


def check_common(opts: dict[str, Any]) -> list[str]:
    """Validate the options plot and report share; returns the list of image formats."""
    if opts.get("agg", "iqm") not in ("iqm", "mean", "median"):
        fail(f"agg={opts['agg']}: choose iqm, mean or median")
    for key in ("reps", "points", "smooth", "window"):
        if key in opts and opts[key] < 1:
            fail(f"{key}={opts[key]}: must be at least 1")
    formats = [f.strip().lower() for f in opts["formats"].split(",") if f.strip()]
    if not formats or any(f not in IMAGE_FORMATS for f in formats):
        fail(f"formats={opts['formats']}: give a comma-separated subset of {','.join(IMAGE_FORMATS)}")
    return formats


def require_plot_packages(prog: str) -> None:
    """Exit with the install command when the optional plotting packages are missing."""
    try:
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
        import rliable.library  # noqa: F401
    except ImportError as err:  # rliable 1.2 + pandas 3 fails inside arch (hence pandas<3)
        fail(f"python -m {prog} needs rliable, pandas<3 and matplotlib ({err}): pip install 'pgsuite[plots]'")


def print_problems(runs: list, skipped: list, stream: Any = None) -> None:
    """Say which runs were skipped and why, and which were read with problems (to stderr by default)."""
    stream = stream or sys.stderr
    for item in skipped:
        print(f"skipped {item.path}: {item.reason}", file=stream)
    for run in runs:
        if run.notes:
            print(f"note {run.path}: {'; '.join(run.notes)}", file=stream)
