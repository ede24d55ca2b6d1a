"""N2N policies over a network's layer-descriptor sequence (Ashok et al. 2018, Sec. 3.2-3.3, Fig. 2).

* :class:`RemovalPolicy`: 2-layer bidirectional LSTM (30 hidden) → Linear(60 → 2) → softmax over
  {remove, keep} per layer (Fig. 2a; official ``controllers/LSTM.py``). Index 1 = keep.
* :class:`ShrinkPolicy`: autoregressive stack of two LSTMCells (30 hidden) → Linear(30 → 11) → softmax over
  the reduction ratios, one decision per free (layer, field) (Fig. 2b). The cells live in an
  ``nn.ModuleList`` so every parameter is trained (the official ``LSTMAutoParams`` kept them in a plain list,
  so Adam only updated the head: official LSTMAutoParams, github.com/anubhavashok/N2N at 544f5dd).

Both are length-agnostic, so a policy trained on ResNet-18 can start the search on ResNet-34 (Sec. 4.3).
Fixed layers/fields are not sampled: they are set to "keep" / ratio 1.0 and excluded from ``log_prob``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Categorical

#: Descriptor columns the shrink fields act on: kernel, padding, outputs (see ``envs.compression.arch``).
SHRINK_FEATURE_COLUMNS = (1, 3, 4)


class RemovalPolicy(nn.Module):
    """π_remove(a_t | h_{t−1}, h_{t+1}, x_t): a bidirectional LSTM reads all layers, then one keep/remove
    softmax per layer.

    Args:
        input_dim: descriptor size (7). hidden: LSTM width (30). num_layers: stacked LSTM layers (2).
    """

    def __init__(self, input_dim: int = 7, hidden: int = 30, num_layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden, num_layers, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, 2)  # forward ⊕ backward hidden state (the official 60 by accident)

    def logits(self, desc: torch.Tensor) -> torch.Tensor:
        """(B, L, 7) descriptors → (B, L, 2) logits over {remove, keep}; zero initial states."""
        out, _ = self.lstm(desc)
        return self.head(out)

    def sample(
        self, desc: torch.Tensor, free: torch.Tensor, num: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw ``num`` removal vectors for one network.

        Args:
            desc: (L, 7) normalized descriptors. free: (L,) bool, layers the policy may remove.
        Returns:
            actions (num, L) int64 (1 keep, 0 remove; fixed layers 1), their log-probabilities (num,) and the
            mean entropy per free layer (num,).
        """
        dist = Categorical(logits=self.logits(desc.expand(num, *desc.shape)))
        actions = torch.where(free, dist.sample(), torch.ones_like(free, dtype=torch.long))
        log_prob = (dist.log_prob(actions) * free).sum(dim=1)
        entropy = (dist.entropy() * free).sum(dim=1) / free.sum().clamp(min=1)
        return actions, log_prob, entropy

    def log_prob(self, desc: torch.Tensor, actions: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
        """Σ over free layers of log π(a_t); ``actions`` (B, L) → (B,)."""
        dist = Categorical(logits=self.logits(desc.expand(actions.shape[0], *desc.shape)))
        return (dist.log_prob(actions) * free).sum(dim=1)

    @torch.no_grad()
    def mode(self, desc: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
        """The most likely action per layer, (L,)."""
        greedy = self.logits(desc[None])[0].argmax(dim=-1)
        return torch.where(free, greedy, torch.ones_like(greedy))


class ShrinkPolicy(nn.Module):
    """π_shrink(a_t | a_{t−1}, h_{t−1}, x_t): an autoregressive LSTM over (layer, field) decisions.

    The input of each step is the layer's descriptor in which the fields already decided for this layer are
    multiplied by their chosen ratios (official ``AutoregressiveParam``), a one-hot of the field being
    decided, and the previous ratio (the paper's a_{t−1}). The hidden state runs across layers.

    Args:
        ratios: the action set (11 ratios). input_dim: descriptor size (7). hidden: 30. num_layers: 2.
        init_keep: None (the official, near-uniform initial distribution) or the initial probability of
            ratio 1.0 ("leave this field as it is"): the head's bias is set to log-probabilities with
            ``init_keep`` on the last ratio and the rest spread evenly, and its weights scaled by 0.1, so
            the first students are mild shrinkages of the parent instead of near-uniform ones (issue 19:
            uniform ratios compound over all layers into degenerate students on some teachers).
    """

    def __init__(
        self,
        ratios: tuple[float, ...],
        input_dim: int = 7,
        hidden: int = 30,
        num_layers: int = 2,
        init_keep: float | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("ratios", torch.tensor(ratios, dtype=torch.float32))
        self.num_fields = len(SHRINK_FEATURE_COLUMNS)
        step_dim = input_dim + self.num_fields + 1
        self.cells = nn.ModuleList(
            [nn.LSTMCell(step_dim if i == 0 else hidden, hidden) for i in range(num_layers)]
        )
        self.head = nn.Linear(hidden, len(ratios))
        self.hidden = hidden
        if init_keep is not None:
            if not 0 < init_keep < 1:
                raise ValueError(f"init_keep must be in (0, 1), got {init_keep}")
            k = len(ratios)
            with torch.no_grad():
                self.head.weight.mul_(0.1)
                self.head.bias.fill_(math.log((1 - init_keep) / (k - 1)))
                self.head.bias[k - 1] = math.log(init_keep)

    @property
    def keep_index(self) -> int:
        """Action index of ratio 1.0 (the last entry), used for frozen fields."""
        return len(self.ratios) - 1

    def _unroll(
        self,
        desc: torch.Tensor,
        free: torch.Tensor,
        batch: int,
        actions: torch.Tensor | None,
        greedy: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample (``actions`` None) or score given actions. Returns actions (B, L·3), log_prob (B,),
        entropy (B,)."""
        num_layers = desc.shape[0]
        out = torch.full((batch, num_layers * self.num_fields), self.keep_index, dtype=torch.long)
        log_prob = desc.new_zeros(batch)
        entropy = desc.new_zeros(batch)
        state = [(desc.new_zeros(batch, self.hidden), desc.new_zeros(batch, self.hidden)) for _ in self.cells]
        prev_ratio = desc.new_ones(batch, 1)
        for t in range(num_layers):
            x_t = desc[t].expand(batch, -1).clone()
            for j, col in enumerate(SHRINK_FEATURE_COLUMNS):
                if not bool(free[t, j]):
                    continue
                field = desc.new_zeros(batch, self.num_fields)
                field[:, j] = 1.0
                h = torch.cat([x_t, field, prev_ratio], dim=1)
                new_state = []
                for cell, (hx, cx) in zip(self.cells, state, strict=True):
                    hx, cx = cell(h, (hx, cx))
                    new_state.append((hx, cx))
                    h = hx
                state = new_state
                dist = Categorical(logits=self.head(h))
                if actions is not None:
                    a = actions[:, t * self.num_fields + j]
                elif greedy:
                    a = dist.probs.argmax(dim=-1)
                else:
                    a = dist.sample()
                out[:, t * self.num_fields + j] = a
                log_prob = log_prob + dist.log_prob(a)
                entropy = entropy + dist.entropy()
                ratio = self.ratios[a].unsqueeze(1)
                x_t = x_t.clone()
                x_t[:, col] = x_t[:, col] * ratio[:, 0]
                prev_ratio = ratio
        return out, log_prob, entropy

    def sample(
        self, desc: torch.Tensor, free: torch.Tensor, num: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``num`` shrink actions for one network: desc (L, 7), free (L, 3) → actions (num, L·3) (frozen
        fields: ratio 1.0), log-probabilities (num,) and mean entropy per free decision (num,)."""
        actions, log_prob, entropy = self._unroll(desc, free, num, None)
        return actions, log_prob, entropy / free.sum().clamp(min=1)

    def log_prob(self, desc: torch.Tensor, actions: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (B,) of given actions (B, L·3) (teacher forcing)."""
        return self._unroll(desc, free, actions.shape[0], actions)[1]

    @torch.no_grad()
    def mode(self, desc: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
        """Greedy decoding (most likely ratio at each step, fed back autoregressively), (L·3,)."""
        return self._unroll(desc, free, 1, None, greedy=True)[0][0]
