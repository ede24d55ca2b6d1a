"""Stage 2 of N2N: layer shrinkage (Ashok et al. 2018, Sec. 3.3)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.compression.arch import SHRINK_FIELDS, Spec, shrink_free_mask
from envs.compression.env_base import N2NEnvBase
from envs.compression.student import SHRINK_RATIOS, apply_shrink, ratios_from_actions


class N2NShrinkEnv(N2NEnvBase):
    """Shrink the layers of a parent network (the teacher, or a stage-1 student passed as ``parent``).

    ## Description
    Stage 2 of N2N (Ashok et al., ICLR 2018). For every layer of the parent the agent picks a reduction ratio
    for its kernel size, padding and number of filters from the official set
    ``[0.25, .5, .5, .5, .5, .5, .6, .7, .8, .9, 1.0]``: k ← max(int(k·r), 1), p ← int(p·r),
    n ← min(n, max(int(n·r), min_outputs)). Inside residual blocks only filter counts change; a block with a
    projection shortcut takes its width from its last conv's action and its shortcut is resized to match,
    and the last conv of an identity block keeps the incoming width. The student is re-initialised, distilled
    from the teacher and scored on the validation split. One step per episode.

    ## Action Space
    ``MultiDiscrete([11] * (L * 3))``: index into the ratio set for (kernel, padding, outputs) of layer t at
    positions 3t, 3t+1, 3t+2. Frozen fields (strided convs, pools, classifier; kernel and padding inside
    residual blocks) ignore their action; ``env.unwrapped.free_mask`` (L, 3) marks the free ones.

    ## Observation Space
    ``Box(0, 1, (L·7,), float32)``: the parent's (L, 7) layer descriptors, flattened row by row and normalized
    by the teacher's column maxima.

    ## Rewards
    As in the removal env: R = C(2 − C)·A/A_teacher relative to the *teacher*, −1 for degenerate students
    (forward fails, e.g. a collapsed feature map, or ≥ the parent's parameters), optional annealed penalty
    for violated constraints; cached by architecture hash.

    ## Starting State
    The parent's descriptor matrix.

    ## Episode End
    Terminates after the single step; ``info`` as in the removal env.

    ## Arguments
    ``gym.make("pgsuite/N2NShrink-ResNet34-v0", parent=<spec or JSON>, **removal-env kwargs)``; see
    :class:`envs.compression.removal_env.N2NRemovalEnv` for the other arguments.

    Bad actions (wrong shape, NaN, inf, fractions, out-of-range values) raise ValueError naming the entry.

    ## Version History
    * v0: initial version.
    """

    action_rule = "an integer index in [0, 10] into the ratio table"

    def __init__(
        self,
        teacher: str = "resnet34",
        parent: Spec | str | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(teacher, parent, render_mode, **kwargs)
        #: (L, 3) True where the field can shrink.
        self.free_mask = shrink_free_mask(self.parent)
        self.action_space = gym.spaces.MultiDiscrete(
            np.full(self.num_layers * len(SHRINK_FIELDS), len(SHRINK_RATIOS))
        )

    def student_spec(self, action: np.ndarray) -> Spec:
        """The student that ``action`` (ratio indices) makes of the parent."""
        return apply_shrink(self.parent, ratios_from_actions(action, self.num_layers), self.cfg.min_outputs)
