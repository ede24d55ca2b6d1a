"""Where configs come from: ``agents/conf``, then ``hydra.searchpath`` entries, then installed plugins.

Hydra composes from the same list: the command line's ``hydra.searchpath=[file://<dir>,pkg://<module>]``
and the search paths that ``pgsuite.plugins`` entry points return (:mod:`agents.core.plugins`, added by
the pre-check). The pre-check, "did you mean", ``agents.list`` and suite look-ups read this module, so a
config found by Hydra is found here too (issue 14).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

#: ``hydra.searchpath`` entries of this process (set by the pre-check or the Python API).
_EXTRA: list[str] = []


class SearchPathError(ValueError):
    """A ``hydra.searchpath`` entry that does not name an existing config folder."""


def parse_searchpath(argv: list[str]) -> tuple[list[str], int | None]:
    """The ``hydra.searchpath=[...]`` entries on a command line and the index of that argument."""
    for index, arg in enumerate(argv):
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") == "hydra.searchpath":
            from hydra.core.override_parser.overrides_parser import OverridesParser

            try:
                parsed = OverridesParser.create().parse_override(f"hydra.searchpath={value}").value()
            except Exception as err:  # hydra's grammar errors have no common base class
                raise SearchPathError(
                    f"cannot parse {arg!r} ({err}); write hydra.searchpath=[file:///abs/conf,pkg://mod.conf]"
                ) from None
            entries = parsed if isinstance(parsed, list) else [parsed]
            return [str(e) for e in entries], index
    return [], None


def resolve(entry: str) -> Path:
    """The folder a ``file://`` or ``pkg://`` search-path entry names.

    Raises:
        SearchPathError: the folder does not exist or the package cannot be imported.
    """
    if entry.startswith("file://"):
        path = Path(entry.removeprefix("file://")).expanduser()
        if not path.is_dir():
            raise SearchPathError(
                f"hydra.searchpath entry {entry!r}: no such folder; pass file:///<absolute path of the "
                f"folder "
                "that holds agent/, env/ ...>"
            )
        return path.resolve()
    if entry.startswith("pkg://"):
        module, _, sub = entry.removeprefix("pkg://").partition("/")
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError) as err:
            spec, reason = None, f"{type(err).__name__}: {err}"
        else:
            reason = "not importable"
        if spec is None or not spec.submodule_search_locations:
            raise SearchPathError(
                f"hydra.searchpath entry {entry!r}: package {module!r} {reason}; install it or put it on "
                "PYTHONPATH (it needs an __init__.py)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / sub
        if not path.is_dir():
            raise SearchPathError(f"hydra.searchpath entry {entry!r}: no folder {path}")
        return path.resolve()
    raise SearchPathError(
        f"hydra.searchpath entry {entry!r}: use file:///<absolute folder> or pkg://<package.module>"
    )


def set_extra(entries: list[str]) -> None:
    """Validate and use ``entries`` (``file://``/``pkg://``) as this process's extra search path."""
    for entry in entries:
        resolve(entry)
    _EXTRA[:] = list(dict.fromkeys(entries))


def extra() -> list[str]:
    """The extra search-path entries in use (command line first, then plugins)."""
    return list(_EXTRA)


def config_dirs() -> list[Path]:
    """Every config folder, in Hydra's order: ``agents/conf`` first, then the extra entries."""
    dirs = [CONF_DIR]
    for entry in _EXTRA:
        path = resolve(entry)
        if path not in dirs:
            dirs.append(path)
    return dirs


def find(group: str, name: str) -> Path | None:
    """The yaml of config ``name`` in ``group`` (the first folder that has it), or ``None``."""
    for folder in config_dirs():
        path = folder / group / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def names(group: str) -> list[str]:
    """Config names of ``group`` across the search path, sorted."""
    found = {p.stem for folder in config_dirs() for p in (folder / group).glob("*.yaml")}
    return sorted(found)


def is_group(key: str) -> bool:
    """Whether ``key`` is a config group (a folder of yamls) somewhere on the search path."""
    return any((folder / key).is_dir() for folder in config_dirs())
