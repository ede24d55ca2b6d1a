"""N2N network-to-network compression (Ashok et al., ICLR 2018) as gymnasium environments.

Registers, for every teacher (ResNet18, ResNet34, VGG11, VGG13, VGG19):

* ``pgsuite/N2NRemoval-<Teacher>-v0``: stage 1, one keep/remove decision per layer (paper Sec. 3.2);
* ``pgsuite/N2NShrink-<Teacher>-v0``: stage 2, one reduction ratio per shrinkable field (paper Sec. 3.3).

Registration records string entry points only; torch models and data are loaded when an env is made.
The best student saved by the N2N learner is reloaded with :func:`envs.compression.load_student`.
"""

from __future__ import annotations

from typing import Any

from envs.registration import register_gym

#: Teacher names as used in env ids, mapped to the architecture keys of :mod:`envs.compression.teachers`.
TEACHERS: dict[str, str] = {
    "ResNet18": "resnet18",
    "ResNet34": "resnet34",
    "VGG11": "vgg11",
    "VGG13": "vgg13",
    "VGG19": "vgg19",
}


def env_id(stage: str, teacher: str) -> str:
    """Registered id of ``stage`` (``"removal"`` or ``"shrink"``) for the architecture key ``teacher``."""
    names = {arch: name for name, arch in TEACHERS.items()}
    if stage not in ("removal", "shrink") or teacher not in names:
        raise ValueError(
            f"need stage 'removal'|'shrink' and a teacher in {sorted(names)}; got {stage!r}, {teacher!r}"
        )
    return f"pgsuite/N2N{stage.capitalize()}-{names[teacher]}-v0"


def register() -> None:
    """Register the removal and shrinkage envs of every teacher (one-step episodes that terminate by
    themselves, so no ``TimeLimit`` is added: it would also flag the step as truncated)."""
    for name, arch in TEACHERS.items():
        register_gym(
            f"N2NRemoval-{name}-v0",
            "envs.compression.removal_env:N2NRemovalEnv",
            kwargs={"teacher": arch},
        )
        register_gym(
            f"N2NShrink-{name}-v0",
            "envs.compression.shrink_env:N2NShrinkEnv",
            kwargs={"teacher": arch},
        )


def load_student(path: str) -> Any:
    """Rebuild a saved student (architecture + weights) from its safetensors file; see :mod:`.student`."""
    from envs.compression.student import load_student as _load

    return _load(path)
