"""Installed extensions: the ``pgsuite.plugins`` entry-point group (issue 14).

A package declares, in its ``pyproject.toml``::

    [project.entry-points."pgsuite.plugins"]
    my_method = "my_method.plugin:pgsuite_plugin"

The object is a callable with no arguments. pgsuite calls it once per process, before configs are
composed and before any environment is built; it may register environments (``from envs import
register``) and returns ``None``, one config search-path entry (``"pkg://my_method.conf"`` or
``"file:///abs/conf"``) or a list of them. A plugin that fails to import or to run is a one-line error
naming the plugin and the error.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field

GROUP = "pgsuite.plugins"


class PluginError(ValueError):
    """A ``pgsuite.plugins`` entry point that cannot be loaded or returned something invalid."""


@dataclass(frozen=True)
class Plugin:
    """One loaded plugin: its entry-point name and value, its distribution and its search-path entries."""

    name: str
    value: str
    dist: str
    searchpath: tuple[str, ...] = field(default_factory=tuple)


_LOADED: list[Plugin] | None = None


def load_plugins() -> list[Plugin]:
    """Load (once per process) and run every ``pgsuite.plugins`` entry point.

    Raises:
        PluginError: a plugin failed to import or run, or returned something other than search paths.
    """
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    loaded = []
    for ep in sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist is not None else "?"
        where = f"pgsuite plugin {ep.name!r} ({ep.value}, from {dist})"
        try:
            hook = ep.load()
        except Exception as err:  # any import-time failure of third-party code
            raise PluginError(
                f"{where} failed to import: {type(err).__name__}: {err}. Fix it or uninstall {dist}"
            ) from None
        if not callable(hook):
            raise PluginError(f"{where} is not callable: point the entry point at a function")
        try:
            result = hook()
        except Exception as err:  # any failure inside third-party registration code
            raise PluginError(f"{where} failed: {type(err).__name__}: {err}") from None
        entries = [] if result is None else [result] if isinstance(result, str) else list(result)
        if not all(isinstance(e, str) and e.startswith(("file://", "pkg://")) for e in entries):
            raise PluginError(
                f"{where} returned {result!r}: return None, 'pkg://<module>' / 'file:///<dir>' or a list"
            )
        loaded.append(Plugin(ep.name, ep.value, dist, tuple(entries)))
    _LOADED = loaded
    return loaded


def plugin_searchpath() -> list[str]:
    """The search-path entries of every installed plugin, in plugin-name order."""
    return [entry for plugin in load_plugins() for entry in plugin.searchpath]


def reset() -> None:
    """Forget loaded plugins (tests that install a plugin into ``sys.path`` mid-process)."""
    global _LOADED
    _LOADED = None
