"""pgsuite learners, the command line (``python -m agents.train``) and the run machinery.

The public extension API lives here and stays stable across internal moves::

    from agents import Learner, LearnerConfig, EnvConfig, EnvFactory, derive_seed

and the Python API (:mod:`agents.api`, docs/extending.md)::

    from agents import train, evaluate, report, train_suite
    run = train(env="pendulum", agent="sb3-sac", seed=0, overrides=["budget=smoke"])

Names are resolved lazily so that light entry points (``agents.plot``, ``agents.report``) do not import
torch. Layout and data flow: docs/architecture.md.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_EXPORTS: dict[str, str] = {
    "Learner": "agents.core.base",
    "LearnerConfig": "agents.core.base",
    "SplitError": "agents.core.base",
    "EnvConfig": "agents.core.env_factory",
    "EnvFactory": "agents.core.env_factory",
    "derive_seed": "agents.core.seeding",
    "seed_everything": "agents.core.seeding",
    "train_suite": "agents.api",
    "load_result": "agents.api",
    "RunResult": "agents.api",
}

#: Both a CLI module (``python -m agents.train``) and an API function: the module is returned, and calling
#: it calls :func:`agents.api.train` (:class:`_CallableModule`), so ``from agents import train`` works
#: whether or not the module was imported before.
_CALLABLE_MODULES = ("train", "evaluate", "report")

__all__ = sorted([*_EXPORTS, *_CALLABLE_MODULES])


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_MODULES:
        return importlib.import_module(f"agents.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """``agents.train``/``evaluate``/``report`` are modules (``python -m``) and API functions at once: once
    the module is imported, ``from agents import train`` yields the module, and calling it calls
    :func:`agents.api.train` (or ``evaluate``/``report``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("agents.api")
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


def callable_module(name: str) -> None:
    """Make the CLI module ``name`` callable as its API function (see :class:`_CallableModule`)."""
    module = sys.modules.get(name)
    if module is not None and name.startswith("agents."):
        module.__class__ = _CallableModule
