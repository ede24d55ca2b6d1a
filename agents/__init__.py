"""pgsuite learners, the command line (``python -m agents.train``) and the run machinery.

The public extension API lives here and stays stable across internal moves::

    from agents import Learner, LearnerConfig, EnvConfig, EnvFactory, derive_seed

Names are resolved lazily so that light entry points (``agents.plot``, ``agents.report``) do not import
torch. Layout and data flow: docs/architecture.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "Learner": "agents.core.base",
    "LearnerConfig": "agents.core.base",
    "SplitError": "agents.core.base",
    "EnvConfig": "agents.core.env_factory",
    "EnvFactory": "agents.core.env_factory",
    "derive_seed": "agents.core.seeding",
    "seed_everything": "agents.core.seeding",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")
