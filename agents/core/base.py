"""The contract between a learner and the run machinery (:mod:`agents.runtime`).

The runtime owns the run directory, logging, evaluation, checkpoints and seeding; a learner owns its
networks, optimizers and data collection. A learner never opens files or parses config: it is built from
its typed ``Config`` dataclass and hands its state to the runtime as plain tensors and containers.

Training is cut into *segments* that end at checkpoint boundaries. Within a segment the learner runs
freely (:meth:`Learner.train_until`); at a boundary the runtime evaluates, saves a checkpoint, then calls
:meth:`Learner.on_segment_end`. Because a resumed run restarts exactly at a boundary (with all RNG states
restored), a killed-and-resumed run ends identical to an uninterrupted one on CPU.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.core.env_factory import EnvFactory


class SplitError(ValueError):
    """``split=`` asked of a learner without that data split (or without data splits at all)."""


@dataclass
class LearnerConfig:
    """Fields every learner config has; subclasses add their hyperparameters."""

    _target_: str = "???"
    name: str = "???"


class Learner(ABC):
    """Base class for every pgsuite learner.

    Args:
        cfg: the learner's typed config (a ``Config`` dataclass instance).
        env: factory for training environments (already carries id, kwargs and vectorization).
        seed: root seed of the run; derive sub-seeds with :func:`agents.core.seeding.derive_seed`.
        device: torch device string.
    """

    #: The dataclass validating this learner's config (unknown keys are rejected with the valid ones).
    Config: ClassVar[type[LearnerConfig]] = LearnerConfig
    #: What this learner can act in, checked before a run directory is created (issue 14). Observation
    #: kinds ``vector``, ``image``, ``dict``, ``box``...; action kinds ``box``, ``discrete``,
    #: ``multi-binary``, ``multi-discrete``...; env kinds ``gym`` and ``parallel`` (PettingZoo). The names are
    #: those of :func:`agents.core.spaces.space_kind`; an empty tuple accepts any.
    observation_spaces: ClassVar[tuple[str, ...]] = ()
    action_spaces: ClassVar[tuple[str, ...]] = ()
    env_kinds: ClassVar[tuple[str, ...]] = ("gym",)

    @classmethod
    def accepted_spaces(cls, cfg: Any) -> dict[str, tuple[str, ...]]:
        """The kinds accepted with agent config ``cfg`` (a mapping); override when they depend on it."""
        return {"env": cls.env_kinds, "observation": cls.observation_spaces, "action": cls.action_spaces}

    def __init__(self, cfg: Any, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        self.cfg = cfg
        self.env_factory = env
        self.seed = seed
        self.device = device
        #: Environment steps consumed so far: the x-axis of every metric.
        self.num_steps = 0
        #: The run's planned budget (``run.total_steps``), set by the runtime before training; for schedules.
        self.total_steps: int | None = None

    # -- training -----------------------------------------------------------------------------------
    @abstractmethod
    def train_until(self, step: int) -> Iterator[dict[str, float]]:
        """Train until ``self.num_steps >= step``, yielding namespaced metric dicts as they come.

        Keys use the namespaces ``train/``, ``losses/``, ``charts/`` (e.g. ``losses/policy_loss``); the
        runtime
        logs each dict at the current ``self.num_steps`` and adds ``time/sps``.
        """

    def on_segment_end(self, segment: int) -> None:  # noqa: B027 - optional hook
        """Called after the checkpoint at the end of segment ``segment`` (0-based) and after a resume."""

    # -- acting -------------------------------------------------------------------------------------
    @abstractmethod
    def act(self, obs: Any, deterministic: bool = True) -> Any:
        """Action for one (unbatched) observation of the evaluation environment."""

    def evaluate(self, episodes: int, seed: int) -> list[dict[str, Any]] | None:
        """Optional custom evaluation; return per-episode dicts (``return``, ``length``, ``success``...).

        ``None`` (the default) lets the runtime run the standard protocol with :meth:`act`.
        """
        return None

    def evaluate_split(self, split: str) -> list[dict[str, Any]]:
        """Optional: classification metrics, on data split ``split``, of each model the learner holds.

        One dict per model: a ``model`` label, then metric values (``accuracy``, ``f1``...) and any other
        JSON-able fields. Used by ``python -m agents.evaluate ... split=<name>``; an unknown split raises
        :class:`SplitError` naming the valid ones.
        """
        raise SplitError(
            f"{type(self).__name__} has no data splits; split= only applies to classification learners "
            "(e.g. the noise-mask learner); evaluate this run by episodes instead (drop split=)"
        )

    # -- state --------------------------------------------------------------------------------------
    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: tensors, numbers, strings and nested lists/dicts only."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""

    def arrays(self) -> dict[str, np.ndarray]:
        """Large NumPy arrays saved beside the checkpoint (e.g. a replay buffer); empty by default."""
        return {}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:  # noqa: B027 - optional hook
        """Restore what :meth:`arrays` returned."""

    # -- end of run ---------------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        """Final results after training (JSON-able).

        ``"markdown"`` is printed and saved as summary.md; ``"artifacts"`` ({name: {tensor name: tensor}})
        are saved as safetensors files in the run directory.
        """
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release environments and worker processes."""
