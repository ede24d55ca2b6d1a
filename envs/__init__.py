"""pgsuite environments.

Importing this package registers every suite environment:

* gymnasium ids under the ``pgsuite/`` namespace, e.g. ``gym.make("pgsuite/N2NRemoval-ResNet34-v0")``;
* PettingZoo parallel ids under ``pgsuite/`` in PettingZoo's registry (when pettingzoo is installed).

Each family lives in its own sub-package and exposes ``register() -> None``; registration only records
string entry points, so importing :mod:`envs` never imports MuJoCo, torch models or data sets.
``envs`` never imports ``policies`` or ``agents`` (docs/architecture.md). A new env id is one line:
``from envs import register; register("MyTask-v0", "my_package.envs:MyTask")`` (docs/extending.md).
"""

from __future__ import annotations

import importlib

from envs.registration import NAMESPACE, register, registered_gym_ids, registered_parallel_ids

#: Families, in registration order. A family module must define ``register()``.
FAMILIES: tuple[str, ...] = ("compression", "noise_mask", "robotics", "marl", "wireless")


def _register_all() -> None:
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"envs.{family}")
        except ModuleNotFoundError as err:  # a family not built yet
            if err.name != f"envs.{family}":
                raise
            continue
        module.register()


_register_all()

__all__ = ["FAMILIES", "NAMESPACE", "register", "registered_gym_ids", "registered_parallel_ids"]
