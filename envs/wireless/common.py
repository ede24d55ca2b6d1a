"""Shared pieces of the wireless simulators: the padded network batch and size sampling.

Every scenario is described on a TX × user grid (the homogeneous virtual graph of ICGNN, Sun et al.,
arXiv 2408.17252): node (t, u) is the link from transmitter t to user u; links that share a TX
(same row) or a user (same column) are neighbours. Batches of networks of different sizes are padded to the
largest one with boolean masks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

LOG2 = float(np.log(2.0))


@dataclass
class Networks:
    """A padded batch of B networks.

    Attributes:
        tx_mask: (B, T) bool, real transmitters.
        user_mask: (B, U) bool, real users.
        serving: (B, T, U) bool, links that carry data (IC/MIMO: the diagonal; cell-free: the DCC clusters).
        data: scenario tensors (gains, channels, pilot sets...), each with the batch as first dimension.
    """

    tx_mask: torch.Tensor
    user_mask: torch.Tensor
    serving: torch.Tensor
    data: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.tx_mask.shape[0])

    @property
    def valid(self) -> torch.Tensor:
        """(B, T, U) bool: links between a real TX and a real user."""
        return self.tx_mask[:, :, None] & self.user_mask[:, None, :]

    def __getitem__(self, idx: slice) -> Networks:
        return Networks(
            self.tx_mask[idx],
            self.user_mask[idx],
            self.serving[idx],
            {k: v[idx] for k, v in self.data.items()},
        )


#: Size bound of every wireless env (issue 20): the estimated memory of one batch of MEMORY_BATCH networks
#: at the configured maximum sizes (scenario data in float64, GNN inputs and the WMMSE reference's
#: temporaries, :meth:`Scenario.bytes_per_network`) must stay below MEMORY_BUDGET bytes.
MEMORY_BATCH = 250
MEMORY_BUDGET = 8 * 2**30


def as_range(value: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    """``8`` → (8, 8); ``[8, 12]`` → (8, 12); validated (integers only; the error names the fix)."""

    def is_int(v: object) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)

    pair = (value, value) if is_int(value) else tuple(value) if isinstance(value, list | tuple) else ()
    if len(pair) != 2 or not all(is_int(v) for v in pair) or not 1 <= int(pair[0]) <= int(pair[1]):
        raise ValueError(
            f"{name} must be an int >= 1 or a range [min, max] of ints with 1 <= min <= max, got {value!r}"
        )
    return int(pair[0]), int(pair[1])


def check_number(name: str, value: float, positive: bool = True) -> float:
    """A finite float (``positive``: > 0), else a one-line ValueError naming the fix."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not np.isfinite(out) or (positive and out <= 0):
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}, got {value!r}")
    return out


def check_int(name: str, value: int, low: int = 1) -> int:
    """An int >= ``low`` (bools and floats rejected), else a one-line ValueError."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def draw_sizes(rng: np.random.Generator, batch: int, *ranges: tuple[int, int]) -> np.ndarray:
    """(batch, len(ranges)) integer sizes drawn uniformly from each inclusive range."""
    return np.stack([rng.integers(lo, hi + 1, size=batch) for lo, hi in ranges], axis=1)


def pad_to(x: torch.Tensor, shape: tuple[int, ...], value: float = 0.0) -> torch.Tensor:
    """Pad the trailing dims of ``x`` (no batch dim) at the end up to ``shape``."""
    pads: list[int] = []
    for have, want in zip(reversed(x.shape[-len(shape) :]), reversed(shape), strict=True):
        pads += [0, want - have]
    return torch.nn.functional.pad(x, pads, value=value)


def cat_networks(parts: list[Networks], dims: dict[str, str], target: dict[str, int]) -> Networks:
    """Concatenate batches of different sizes, zero/False-padding every sized dimension.

    Args:
        parts: batches to join.
        dims: per data key, one letter per non-batch dim: ``t`` (TX), ``u`` (user), ``a`` (antenna) or ``_``.
        target: padded size per letter, e.g. ``{"t": 40, "u": 16, "a": 8}``.
    """

    def pad(x: torch.Tensor, spec: str) -> torch.Tensor:
        shape = tuple(target.get(c, s) if c != "_" else s for c, s in zip(spec, x.shape[1:], strict=True))
        return pad_to(x, shape, False if x.dtype == torch.bool else 0.0) if shape else x

    return Networks(
        torch.cat([pad(p.tx_mask, "t") for p in parts]),
        torch.cat([pad(p.user_mask, "u") for p in parts]),
        torch.cat([pad(p.serving, "tu") for p in parts]),
        {k: torch.cat([pad(p.data[k], dims[k]) for p in parts]) for k in parts[0].data},
    )


def objective(user_se: torch.Tensor, user_mask: torch.Tensor, kind: str = "sum") -> torch.Tensor:
    """(B,) sum SE or minimum SE over the real users of each network."""
    if kind == "sum":
        return (user_se * user_mask).sum(-1)
    if kind == "maxmin":
        return user_se.masked_fill(~user_mask, float("inf")).min(-1).values
    raise ValueError(f"objective must be 'sum' or 'maxmin', got {kind!r}")


class Scenario:
    """A family of networks: generator, GNN features, action mapping, SE, baselines.

    Subclasses define ``size_ranges`` (one inclusive range per size component), ``_generate`` (networks of
    one size), ``features``, ``allocate`` (raw grid action in [-1, 1] → feasible allocation, differentiable),
    ``user_se`` and ``baselines``. All tensors are float64 on CPU unless a caller moves them.
    """

    #: letters of the sized dims of each data key (see :func:`cat_networks`).
    dims: ClassVar[dict[str, str]] = {}
    #: per-link input features and per-link action channels of the GNN grid.
    num_features: int = 1
    out_channels: int = 1
    #: T = U and the serving links are the diagonal (TX k serves user k): the GNN may merge each pair.
    paired: bool = False

    def size_ranges(self) -> list[tuple[int, int]]:
        raise NotImplementedError

    def bytes_per_network(self, sizes: tuple[int, ...]) -> float:
        """Estimated peak bytes per network of the given sizes (data, GNN inputs, WMMSE temporaries)."""
        raise NotImplementedError

    def check_memory(self, names: str) -> None:
        """Raise a one-line ValueError when the maximum sizes exceed the memory bound (issue 20)."""
        sizes = tuple(hi for _, hi in self.size_ranges())
        need = MEMORY_BATCH * self.bytes_per_network(sizes)
        if need > MEMORY_BUDGET:
            raise ValueError(
                f"{names} = {sizes} need an estimated {need / 2**30:.1f} GiB per batch of {MEMORY_BATCH} "
                f"networks, "
                f"above the bound of {MEMORY_BUDGET / 2**30:.0f} GiB (envs.wireless.common.MEMORY_BUDGET): "
                f"use smaller sizes"
            )

    def pad_target(self, sizes: np.ndarray) -> dict[str, int]:
        """Padded sizes per dim letter for networks of the given (n, len(size_ranges)) sizes."""
        raise NotImplementedError

    def _generate(self, rng: np.random.Generator, n: int, size: tuple[int, ...]) -> Networks:
        raise NotImplementedError

    def sample(
        self, rng: np.random.Generator, batch: int, size: tuple[int, ...] | None = None, pad_max: bool = False
    ) -> Networks:
        """Draw ``batch`` networks (sizes from the configured ranges unless ``size`` fixes them).

        Networks of equal size are generated together; the batch is padded to its largest member, or to the
        configured maximum when ``pad_max`` (what the env's fixed observation space needs).
        """
        if size is not None:
            sizes = np.tile(np.asarray(size, dtype=np.int64), (batch, 1))
        else:
            sizes = draw_sizes(rng, batch, *self.size_ranges())
        keys, inverse = np.unique(sizes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        parts, order = [], []
        for g, key in enumerate(keys):
            idx = np.flatnonzero(inverse == g)
            parts.append(self._generate(rng, len(idx), tuple(int(s) for s in key)))
            order.append(idx)
        ref = np.array([[hi for _, hi in self.size_ranges()]]) if pad_max else sizes
        nets = cat_networks(parts, self.dims, self.pad_target(np.concatenate([sizes, ref])))
        back = torch.as_tensor(np.argsort(np.concatenate(order), kind="stable"))
        return nets[back]

    # -- interface used by envs, learners and the benchmark -------------------------------------------
    def features(self, net: Networks) -> torch.Tensor:
        """(B, T, U, num_features) per-link GNN input features (zero on padding)."""
        raise NotImplementedError

    def allocate(self, net: Networks, grid: torch.Tensor) -> torch.Tensor:
        """Map a raw grid action (B, T, U, out_channels) in [-1, 1] to a feasible allocation."""
        raise NotImplementedError

    def user_se(self, net: Networks, alloc: torch.Tensor) -> torch.Tensor:
        """(B, U) spectral efficiency of every user in bit/s/Hz (zero on padding)."""
        raise NotImplementedError

    def baselines(self, net: Networks) -> dict[str, torch.Tensor]:
        """Classic allocations: name → (B, U) user SE."""
        raise NotImplementedError

    def wmmse(self, net: Networks, iters: int = 100) -> torch.Tensor:
        """(B, U) user SE of the WMMSE reference algorithm."""
        raise NotImplementedError

    @property
    def max_tx(self) -> int:
        raise NotImplementedError

    @property
    def max_users(self) -> int:
        raise NotImplementedError

    # flat env action ↔ GNN grid action
    def action_dim(self) -> int:
        raise NotImplementedError

    def grid_to_action(self, grid: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def action_to_grid(self, action: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def diag_grid(values: torch.Tensor) -> torch.Tensor:
    """(B, K, C) per-user values → (B, K, K, C) grid with them on the diagonal (serving links of IC/MIMO)."""
    eye = torch.eye(values.shape[1], dtype=values.dtype)
    return values[:, :, None, :] * eye[None, :, :, None]


def grid_diag(grid: torch.Tensor) -> torch.Tensor:
    """(B, K, K, C) → (B, K, C) diagonal."""
    return torch.diagonal(grid, dim1=1, dim2=2).transpose(1, 2)
