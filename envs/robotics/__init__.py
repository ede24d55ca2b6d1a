"""MuJoCo visual-control environments: Meta-World v3, DeepMind Control, Adroit (see docs/robotics.md).

Registration records string entry points only: importing this package never imports MuJoCo.
"""

from __future__ import annotations

from envs.registration import register_gym
from envs.robotics.tasks import ADROIT_TASKS, DMC_TASKS, METAWORLD_TASKS

#: The envs validate actions and enforce reset-before-step themselves (envs/robotics/base.py), so gymnasium's
#: per-step OrderEnforcing and PassiveEnvChecker wrappers would only add overhead.
_LEAN = {"order_enforce": False, "disable_env_checker": True}


def register() -> None:
    """Register ``pgsuite/MetaWorld-<task>-v0``, ``pgsuite/DMC-<domain>-<task>-v0``,
    ``pgsuite/Adroit-<task>-v0``."""
    for task in METAWORLD_TASKS:
        register_gym(
            f"MetaWorld-{task}-v0", "envs.robotics.metaworld_env:MetaWorldEnv", kwargs={"task": task}, **_LEAN
        )
    for domain, task in DMC_TASKS:
        register_gym(
            f"DMC-{domain}-{task}-v0",
            "envs.robotics.dmc_env:DMCEnv",
            kwargs={"domain": domain, "task": task},
            **_LEAN,
        )
    for task in ADROIT_TASKS:
        register_gym(
            f"Adroit-{task}-v0", "envs.robotics.adroit_env:AdroitEnv", kwargs={"task": task}, **_LEAN
        )
