"""MuJoCo visual-control environments: Meta-World v3, DeepMind Control, Adroit (see docs/robotics.md).

Registration records string entry points only: importing this package never imports MuJoCo.
"""

from __future__ import annotations

from envs.registration import register_gym
from envs.robotics.tasks import ADROIT_TASKS, DMC_TASKS, METAWORLD_TASKS


def register() -> None:
    """Register ``pgsuite/MetaWorld-<task>-v0``, ``pgsuite/DMC-<domain>-<task>-v0``, ``pgsuite/Adroit-<task>-v0``."""
    for task in METAWORLD_TASKS:
        register_gym(
            f"MetaWorld-{task}-v0", "envs.robotics.metaworld_env:MetaWorldEnv", kwargs={"task": task}
        )
    for domain, task in DMC_TASKS:
        register_gym(
            f"DMC-{domain}-{task}-v0",
            "envs.robotics.dmc_env:DMCEnv",
            kwargs={"domain": domain, "task": task},
        )
    for task in ADROIT_TASKS:
        register_gym(f"Adroit-{task}-v0", "envs.robotics.adroit_env:AdroitEnv", kwargs={"task": task})
