"""The N2N env settings the benchmarks share: ``CPU`` is the CPU-default teacher/student scale of
``env=n2n-*`` (agents/conf/env/n2n-*.yaml, budget ``default``), ``QUICK`` a minutes-long smoke scale."""

from __future__ import annotations

from typing import Any

CPU: dict[str, Any] = dict(
    width=0.125,
    image_size=16,
    image_channels=1,
    teacher_epochs=20,
    student_epochs=3,
    student_lr=1e-3,
    batch_size=64,
    min_outputs=4,
)
QUICK: dict[str, Any] = dict(
    width=0.0625,
    image_size=8,
    image_channels=1,
    teacher_epochs=3,
    student_epochs=1,
    train_subset=300,
    val_subset=150,
    batch_size=64,
    min_outputs=2,
)
#: Seconds-long scale for tests: a 1-epoch teacher and students on 120 training images.
TINY: dict[str, Any] = dict(
    width=0.0625,
    image_size=8,
    image_channels=1,
    teacher_epochs=1,
    student_epochs=1,
    train_subset=120,
    val_subset=60,
    batch_size=64,
    min_outputs=2,
)
