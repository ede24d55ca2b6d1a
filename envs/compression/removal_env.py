"""Stage 1 of N2N: layer removal (Ashok et al. 2018, Sec. 3.2)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.compression.arch import Spec, removal_fixed_mask
from envs.compression.env_base import N2NEnvBase
from envs.compression.student import apply_removal


class N2NRemovalEnv(N2NEnvBase):
    """Remove layers of a teacher CNN; the student is distilled from the teacher and scored.

    ## Description
    Network-to-network compression as an MDP (Ashok et al., ICLR 2018). The teacher (CIFAR-style ResNet-18/34
    or VGG-11/13/19, any width multiplier) is trained on first use and cached. Its layers (conv-BN-ReLU
    units, the convs of residual blocks, pools, the classifier) form a sequence; the agent keeps or removes
    each one. The student is rebuilt (input widths re-inferred, residual blocks with empty bodies reduced to
    their shortcut), re-initialised, trained by knowledge distillation (L2 on logits) from the teacher for
    ``student_epochs`` epochs, and scored on the validation split. The episode is one step: the paper's
    bidirectional policy needs the whole sequence before it acts, so all L decisions form one action.

    ## Action Space
    ``MultiBinary(L)``: 1 keeps layer t, 0 removes it. The first and last layer, strided convs, the global
    average pool and the linear classifier are always kept; actions on them are ignored
    (``env.unwrapped.free_mask`` marks the layers that can be removed).

    ## Observation Space
    ``Box(0, 1, (L·7,), float32)``: row-major flattening of the (L, 7) matrix of, per layer, (type, kernel,
    stride, padding, outputs, skip_start, skip_end)
    divided by the teacher's column maxima. Constant across episodes (the teacher does not change).

    ## Rewards
    R = C(2 − C)·A/A_teacher, C = 1 − params/params_teacher, A the student's validation accuracy; −1 for a
    degenerate student (forward fails or ≥ the parent's parameters). With ``size_constraint``,
    ``min_compression`` or ``acc_constraint`` a violating student gets (ε − 1) + ε·R with
    ε = clip((1 − e/15)^4, 0, 1) at policy iteration e (``reset(options={"iteration": e})``).
    Rewards are cached by architecture hash.

    ## Starting State
    The teacher's descriptor matrix.

    ## Episode End
    Terminates after the single step. ``info`` holds ``params``, ``flops`` (MACs), ``val_acc``,
    ``compression`` (teacher/student params), ``acc_ratio``, ``degenerate``, ``reason``, ``arch_hash``,
    ``constraint_violated`` and ``is_success`` (a valid student meeting the constraints).

    ## Arguments
    ``gym.make("pgsuite/N2NRemoval-ResNet34-v0", width=0.125, data="digits", image_size=16, ...)``; every
    field of :class:`envs.compression.core.CompressionConfig` (teacher, width, data, data_root, image_size,
    image_channels, teacher_epochs, teacher_path, cache_dir, student_epochs, student_lr, batch_size, augment,
    min_outputs, size_constraint, min_compression, acc_constraint, ...), plus ``parent`` (a spec or its JSON,
    default: the teacher). ``env.unwrapped.pool`` may be set to an evaluation pool
    (:mod:`envs.compression.pool`).

    Bad actions (wrong shape, NaN, inf, fractions, out-of-range values) raise ValueError naming the entry.

    ## Version History
    * v0: initial version.
    """

    action_rule = "exactly 0 (remove) or 1 (keep)"

    def __init__(
        self,
        teacher: str = "resnet34",
        parent: Spec | str | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(teacher, parent, render_mode, **kwargs)
        self.fixed_mask = removal_fixed_mask(self.parent)
        #: True for layers the agent may remove.
        self.free_mask = ~self.fixed_mask
        self.action_space = gym.spaces.MultiBinary(self.num_layers)

    def student_spec(self, action: np.ndarray) -> Spec:
        """The student that ``action`` (1 = keep) makes of the parent."""
        return apply_removal(self.parent, np.asarray(action).astype(bool))
