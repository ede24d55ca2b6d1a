"""DrQ-v2 / DrM / MENTOR networks: random-shift augmentation, encoders, actor, twin critic, value net.

Provenance: facebookresearch/drqv2 @ c0c650b, ``drqv2.py`` (``RandomShiftsAug``, ``Encoder``, ``Actor``,
``Critic``) and ``utils.py`` (``weight_init``, ``TruncatedNormal``, ``schedule``); XuGW-Kevin/DrM
``agents/drm.py`` (``value_predictor``: :class:`ValueNet`). The actor's middle layer is a separate module
(``Actor.hidden``) so MENTOR can swap in its mixture of experts. ``state_dim > 0`` (pixels+state) fuses
the proprioceptive state as MENTOR does on Adroit (Huang et al. 2025, Adroit setup; official
``agents/mentor_adroit.py``): features ← trunk(conv features) + MLP(state), in the actor, critic and V.
"""

from __future__ import annotations

import re

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import nn


def weight_init(module: nn.Module) -> None:
    """Orthogonal init, zero bias (DrQ-v2 ``utils.weight_init``; conv gain = ReLU gain)."""
    if isinstance(module, nn.Linear):
        nn.init.orthogonal_(module.weight.data)
        if module.bias is not None:
            module.bias.data.fill_(0.0)
    elif isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.orthogonal_(module.weight.data, nn.init.calculate_gain("relu"))
        if module.bias is not None:
            module.bias.data.fill_(0.0)


def schedule(spec: str | float, step: int) -> float:
    """DrQ-v2 schedule strings: a number, ``linear(init,final,duration)`` or
    ``step_linear(i,f1,d1,f2,d2)``."""
    try:
        return float(spec)
    except ValueError:
        pass
    match = re.match(r"linear\((.+),(.+),(.+)\)", str(spec))
    if match:
        init, final, duration = (float(g) for g in match.groups())
        mix = min(max(step / duration, 0.0), 1.0)
        return (1.0 - mix) * init + mix * final
    match = re.match(r"step_linear\((.+),(.+),(.+),(.+),(.+)\)", str(spec))
    if match:
        init, final1, duration1, final2, duration2 = (float(g) for g in match.groups())
        if step <= duration1:
            mix = min(max(step / duration1, 0.0), 1.0)
            return (1.0 - mix) * init + mix * final1
        mix = min(max((step - duration1) / duration2, 0.0), 1.0)
        return (1.0 - mix) * final1 + mix * final2
    raise ValueError(f"bad schedule {spec!r}: use a number, 'linear(1.0,0.1,500000)' or 'step_linear(...)'")


class RandomShiftsAug(nn.Module):
    """Random shifts of up to ``pad`` pixels: replicate-pad, then bilinear ``grid_sample`` at an integer
    offset.

    Each sample gets its own shift in ``[0, 2·pad]`` (DrQ-v2 ``RandomShiftsAug``, pad 4); draws from torch's
    global RNG.
    """

    def __init__(self, pad: int = 4) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if h != w:
            raise ValueError(f"RandomShiftsAug expects square images, got {h}x{w}")
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        eps = 1.0 / (h + 2 * self.pad)
        arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * self.pad, device=x.device, dtype=x.dtype)[:h]
        arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
        base_grid = torch.cat([arange, arange.transpose(1, 0)], dim=2)
        base_grid = base_grid.unsqueeze(0).repeat(n, 1, 1, 1)
        shift = torch.randint(0, 2 * self.pad + 1, size=(n, 1, 1, 2), device=x.device, dtype=x.dtype)
        shift *= 2.0 / (h + 2 * self.pad)
        return F.grid_sample(x, base_grid + shift, padding_mode="zeros", align_corners=False)


class ConvEncoder(nn.Module):
    """Four 3×3 convs with 32 channels (the first with stride 2), ReLU; input scaled to ``x/255 − 0.5``.

    84×84 input → 32×35×35 = 39,200 features (DrQ-v2 ``Encoder``).
    """

    def __init__(self, obs_shape: tuple[int, ...], channels: int = 32) -> None:
        super().__init__()
        if len(obs_shape) != 3:
            raise ValueError(f"ConvEncoder expects (C, H, W) observations, got shape {obs_shape}")
        self.convnet = nn.Sequential(
            nn.Conv2d(obs_shape[0], channels, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=1),
            nn.ReLU(),
        )
        with torch.no_grad():
            self.repr_dim = int(self.convnet(torch.zeros(1, *obs_shape)).numel())
        self.apply(weight_init)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.convnet(obs / 255.0 - 0.5)
        return h.reshape(h.shape[0], -1)


class Encoder(nn.Module):
    """Observation → representation: pixels → conv features, state → itself, pixels+state → both
    concatenated (conv features first, the ``state_dim`` state entries last)."""

    def __init__(self, obs_space: gym.Space) -> None:
        super().__init__()
        self.conv: ConvEncoder | None = None
        self.state_dim = 0
        if isinstance(obs_space, gym.spaces.Dict):
            self.conv = ConvEncoder(obs_space["pixels"].shape)
            self.state_dim = int(obs_space["state"].shape[0])
        elif len(obs_space.shape) == 3:
            self.conv = ConvEncoder(obs_space.shape)
        else:
            self.state_dim = int(obs_space.shape[0])
        self.repr_dim = (self.conv.repr_dim if self.conv is not None else 0) + self.state_dim

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = []
        if self.conv is not None:
            parts.append(self.conv(obs["pixels"]))
        if self.state_dim:
            parts.append(obs["state"])
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


class Trunk(nn.Sequential):
    """``Linear→LayerNorm→Tanh`` to ``feature_dim`` (DrQ-v2's trunk; same parameter names). With
    ``state_dim > 0`` the last ``state_dim`` inputs bypass it through ``proprio`` = ``Linear→ReLU→Linear``
    and are added: h ← trunk(conv) + MLP(state) (MENTOR's Adroit state encoder; layer widths ours)."""

    def __init__(self, repr_dim: int, feature_dim: int, state_dim: int = 0) -> None:
        if not 0 <= state_dim < repr_dim:
            raise ValueError(f"Trunk needs 0 <= state_dim < repr_dim, got {state_dim} and {repr_dim}")
        super().__init__(nn.Linear(repr_dim - state_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
        self.state_dim = state_dim
        self.proprio = (
            nn.Sequential(nn.Linear(state_dim, feature_dim), nn.ReLU(), nn.Linear(feature_dim, feature_dim))
            if state_dim
            else None
        )

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        return self[2](self[1](self[0](h)))  # not Sequential.forward: ``proprio`` is a child module too

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.proprio is None:
            return self._trunk(h)
        return self._trunk(h[:, : -self.state_dim]) + self.proprio(h[:, -self.state_dim :])


class TruncatedNormal:
    """Normal(loc, scale) whose samples are clipped to [-1, 1] with a straight-through gradient.

    ``sample(clip)`` clips the noise to ``[-clip, clip]`` first (DrQ-v2 ``utils.TruncatedNormal``; target
    policy smoothing as in TD3).
    """

    def __init__(self, loc: torch.Tensor, scale: float | torch.Tensor, eps: float = 1e-6) -> None:
        self.loc, self.scale, self.eps = loc, scale, eps

    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    def sample(self, clip: float | None = None) -> torch.Tensor:
        noise = torch.randn_like(self.loc) * self.scale
        if clip is not None:
            noise = noise.clamp(-clip, clip)
        x = self.loc + noise
        clamped = x.clamp(-1.0 + self.eps, 1.0 - self.eps)
        return x - x.detach() + clamped.detach()


class Actor(nn.Module):
    """Trunk ``Linear→LayerNorm→Tanh`` then ``Linear→ReLU→hidden→ReLU→Linear→tanh`` mean; std given.

    ``hidden`` (default ``Linear(hidden_dim, hidden_dim)``) is the pluggable middle layer MENTOR replaces by
    a mixture of experts; a subclass can override :meth:`policy_mean` if its middle returns extra outputs.
    """

    def __init__(
        self,
        repr_dim: int,
        action_dim: int,
        feature_dim: int,
        hidden_dim: int,
        hidden: nn.Module | None = None,
        state_dim: int = 0,
    ) -> None:
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim, state_dim)
        self.policy_in = nn.Linear(feature_dim, hidden_dim)
        self.hidden = hidden if hidden is not None else nn.Linear(hidden_dim, hidden_dim)
        self.policy_out = nn.Linear(hidden_dim, action_dim)
        self.apply(weight_init)

    def policy_mean(self, h: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.policy_in(h))
        x = F.relu(self.hidden(x))
        return torch.tanh(self.policy_out(x))

    def forward(self, obs: torch.Tensor, std: float) -> TruncatedNormal:
        return TruncatedNormal(self.policy_mean(self.trunk(obs)), std)


class Critic(nn.Module):
    """Twin Q: shared trunk ``Linear→LayerNorm→Tanh``, then two ``(feature+action)→hidden→hidden→1`` MLPs.

    ``hidden_dropout > 0`` gives MENTOR's Meta-World critic (suninghuang19/mentor @ f4fa81f
    ``agents/mentor_mw.py``):
    ``Dropout(p)`` then ``LayerNorm`` after each hidden Linear of Q1 and Q2 (DroQ-style), before the ReLU.
    """

    def __init__(
        self,
        repr_dim: int,
        action_dim: int,
        feature_dim: int,
        hidden_dim: int,
        hidden_dropout: float = 0.0,
        state_dim: int = 0,
    ) -> None:
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim, state_dim)

        def hidden(in_dim: int) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim)]
            if hidden_dropout > 0:
                layers += [nn.Dropout(hidden_dropout), nn.LayerNorm(hidden_dim)]
            return [*layers, nn.ReLU(inplace=True)]

        def q_net() -> nn.Sequential:
            return nn.Sequential(
                *hidden(feature_dim + action_dim), *hidden(hidden_dim), nn.Linear(hidden_dim, 1)
            )

        self.Q1, self.Q2 = q_net(), q_net()
        self.apply(weight_init)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h_action = torch.cat([self.trunk(obs), action], dim=-1)
        return self.Q1(h_action), self.Q2(h_action)


class ValueNet(nn.Module):
    """DrM's V(s) (``value_predictor``): trunk ``Linear→LayerNorm→Tanh``, then ``hidden→hidden→1``."""

    def __init__(self, repr_dim: int, feature_dim: int, hidden_dim: int, state_dim: int = 0) -> None:
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim, state_dim)
        self.net = nn.Sequential(
            nn.Linear(feature_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, 1),
        )
        self.apply(weight_init)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(self.trunk(h))
