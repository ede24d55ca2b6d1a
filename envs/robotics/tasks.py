"""Task lists of the robotics family: plain data, importable without MuJoCo.

The Meta-World list is ``metaworld.env_dict.ALL_V3_ENVIRONMENTS`` (metaworld 3.1.1) without the ``-v3``
suffix; the DeepMind Control list is ``dm_control.suite.BENCHMARKING`` (the 28 tasks of Tassa et al. 2018)
plus the tasks MENTOR / DrM report on (dog, acrobot swingup_sparse) and the "easy" extras DrQ-v2 uses.
``tests/test_robotics_registry.py`` checks both lists against the installed packages.
"""

from __future__ import annotations

#: The 50 Meta-World v3 tasks.
METAWORLD_TASKS: tuple[str, ...] = (
    "assembly",
    "basketball",
    "bin-picking",
    "box-close",
    "button-press-topdown",
    "button-press-topdown-wall",
    "button-press",
    "button-press-wall",
    "coffee-button",
    "coffee-pull",
    "coffee-push",
    "dial-turn",
    "disassemble",
    "door-close",
    "door-lock",
    "door-open",
    "door-unlock",
    "hand-insert",
    "drawer-close",
    "drawer-open",
    "faucet-open",
    "faucet-close",
    "hammer",
    "handle-press-side",
    "handle-press",
    "handle-pull-side",
    "handle-pull",
    "lever-pull",
    "pick-place-wall",
    "pick-out-of-hole",
    "pick-place",
    "plate-slide",
    "plate-slide-side",
    "plate-slide-back",
    "plate-slide-back-side",
    "peg-insert-side",
    "peg-unplug-side",
    "soccer",
    "stick-push",
    "stick-pull",
    "push",
    "push-wall",
    "push-back",
    "reach",
    "reach-wall",
    "shelf-place",
    "sweep-into",
    "sweep",
    "window-open",
    "window-close",
)

#: DeepMind Control suite (domain, task) pairs.
DMC_TASKS: tuple[tuple[str, str], ...] = (
    ("acrobot", "swingup"),
    ("acrobot", "swingup_sparse"),
    ("ball_in_cup", "catch"),
    ("cartpole", "balance"),
    ("cartpole", "balance_sparse"),
    ("cartpole", "swingup"),
    ("cartpole", "swingup_sparse"),
    ("cheetah", "run"),
    ("dog", "stand"),
    ("dog", "walk"),
    ("dog", "trot"),
    ("dog", "run"),
    ("finger", "spin"),
    ("finger", "turn_easy"),
    ("finger", "turn_hard"),
    ("fish", "upright"),
    ("fish", "swim"),
    ("hopper", "stand"),
    ("hopper", "hop"),
    ("humanoid", "stand"),
    ("humanoid", "walk"),
    ("humanoid", "run"),
    ("manipulator", "bring_ball"),
    ("pendulum", "swingup"),
    ("point_mass", "easy"),
    ("quadruped", "walk"),
    ("quadruped", "run"),
    ("reacher", "easy"),
    ("reacher", "hard"),
    ("swimmer", "swimmer6"),
    ("swimmer", "swimmer15"),
    ("walker", "stand"),
    ("walker", "walk"),
    ("walker", "run"),
)

#: Adroit hand tasks (gymnasium-robotics ``AdroitHand<Task>-v1``).
ADROIT_TASKS: tuple[str, ...] = ("door", "hammer", "pen", "relocate")


def metaworld_id(task: str) -> str:
    """Gymnasium id of a Meta-World task (``pgsuite/MetaWorld-reach-v0``)."""
    return f"pgsuite/MetaWorld-{task}-v0"


def dmc_id(domain: str, task: str) -> str:
    """Gymnasium id of a DeepMind Control task (``pgsuite/DMC-walker-walk-v0``)."""
    return f"pgsuite/DMC-{domain}-{task}-v0"


def adroit_id(task: str) -> str:
    """Gymnasium id of an Adroit task (``pgsuite/Adroit-door-v0``)."""
    return f"pgsuite/Adroit-{task}-v0"
