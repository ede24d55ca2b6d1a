"""Seeded epoch order of the training images (a torch generator, so its state checkpoints as a tensor)."""

from __future__ import annotations

from typing import Any

import torch


class EpochSampler:
    """Draws indices ``0..n-1`` without replacement, a fresh random permutation every epoch."""

    def __init__(self, n: int, seed: int = 0) -> None:
        if n < 1:
            raise ValueError("the training split is empty")
        self.n = n
        self.generator = torch.Generator()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart at epoch 0 with the order seeded by ``seed``."""
        self.generator.manual_seed(int(seed))
        self.epoch = 0
        self._new_permutation()

    def _new_permutation(self) -> None:
        self.perm = torch.randperm(self.n, generator=self.generator)
        self.pos = 0

    def take(self, k: int) -> tuple[torch.Tensor, bool]:
        """The next ``k`` indices (the epoch's remainder joins its last batch); ``True`` when the epoch
        ended."""
        if k < 1:
            raise ValueError(f"batch size must be >= 1, got {k}")
        end = self.pos + k
        if self.n - end < k:  # too few left for another batch: take them now
            end = self.n
        idx = self.perm[self.pos : end]
        self.pos = end
        ended = self.pos >= self.n
        if ended:
            self.epoch += 1
            self._new_permutation()
        return idx, ended

    def batches_per_epoch(self, k: int) -> int:
        return max(1, self.n // k)

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.get_state(),
            "perm": self.perm.clone(),
            "pos": self.pos,
            "epoch": self.epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.perm = state["perm"].clone()
        self.pos, self.epoch = int(state["pos"]), int(state["epoch"])
