"""Action validation shared by env families (issue 20): bad actions raise a one-line ``ValueError``.

``discrete_action`` accepts an integer (Python, NumPy, a 0-d or one-element array, or a float with an
integral value) inside the space and rejects NaN, inf, fractions, out-of-range values and other shapes.
``box_action`` rejects NaN and wrong shapes and clips finite or infinite out-of-range values to the bounds
(the documented behaviour for continuous actions). :class:`CheckedActions` applies them to any env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def discrete_action(space: gym.spaces.Discrete, action: Any, who: str = "the env") -> int:
    """The action as an int in ``space``; a ValueError naming ``who`` and the value otherwise."""
    arr = np.asarray(action)
    if arr.size != 1 or arr.ndim > 1:
        raise ValueError(f"invalid action for {who}: expected one integer in {space}, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"invalid action for {who}: expected an integer in {space}, got {action!r}")
    value = float(arr.reshape(()))
    if not np.isfinite(value) or value != round(value):
        raise ValueError(f"invalid action for {who}: expected an integer in {space}, got {value}")
    low, high = int(space.start), int(space.start + space.n - 1)
    if not low <= int(value) <= high:
        raise ValueError(f"invalid action for {who}: {int(value)} is out of range [{low}, {high}] of {space}")
    return int(value)


def box_action(space: gym.spaces.Box, action: Any, who: str = "the env") -> np.ndarray:
    """The action clipped into ``space``; NaN or a wrong shape is a ValueError naming the first bad index."""
    arr = np.asarray(action, dtype=np.float64)
    if arr.shape != space.shape:
        raise ValueError(f"invalid action for {who}: expected shape {space.shape}, got shape {arr.shape}")
    bad = np.flatnonzero(np.isnan(arr))
    if bad.size:
        raise ValueError(
            f"invalid action for {who}: NaN at index {int(bad[0])} ({bad.size} NaN values in all)"
        )
    return np.clip(arr, space.low, space.high).astype(space.dtype)


def check_action(space: gym.Space, action: Any, who: str = "the env") -> Any:
    """Validate ``action`` for ``space`` (Discrete or Box; other spaces must ``contain`` it)."""
    if isinstance(space, gym.spaces.Discrete):
        return discrete_action(space, action, who)
    if isinstance(space, gym.spaces.Box):
        return box_action(space, action, who)
    if not space.contains(action):
        raise ValueError(f"invalid action for {who}: {np.asarray(action).tolist()} is not in {space}")
    return action


class CheckedActions(gym.ActionWrapper):
    """Validates every action (see :func:`check_action`) before the wrapped env sees it."""

    def action(self, action: Any) -> Any:
        return check_action(self.action_space, action, self.spec.id if self.spec else type(self.env).__name__)
