"""``pgsuite/NoiseMask-v0``: masked image classification as a contextual bandit (Yavuz & Yang, 2024)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from envs.classifier import ClassifierTrainer, OptimSettings
from envs.data import load_dataset
from envs.noise_mask.models import make_classifier
from envs.noise_mask.pipeline import apply_mask, mask_figure, scaled_blur, scaled_grid, upsample_mask
from envs.noise_mask.sampler import EpochSampler


class NoiseMaskEnv(gym.Env):
    """Masked image classification with a classifier that learns while you mask (Yavuz & Yang, arXiv
    2406.14568).

    ## Description
    A contextual bandit. Each episode shows one training image; the agent answers with a grid of mask values;
    the env upsamples the grid to the image (nearest), blurs it with a Gaussian and multiplies it into the
    normalised image (official ``train_one_epoch.py``), then scores the wrapped classifier on the masked
    image.
    **The reward is non-stationary**: the classifier trains inside the env on the masked images it is shown
    (one SGD step per ``batch_size`` episodes), so the same mask on the same image earns a different reward
    later. This is the paper's setting: the policy is trained jointly with the classifier it regularises.
    Learners that want the paper's batched joint update use :meth:`next_batch` / :meth:`train_classifier`,
    the same pipeline on whole batches.

    ## Action Space
    ``Box(-1, 1, (grid, grid), float32)``; cell value ``m = (a + 1) / 2`` ∈ [0, 1] (SB3 wants [-1, 1] boxes).
    ``m = 1`` keeps a cell, ``m = 0`` replaces it by the data-set mean. Values outside [-1, 1] or NaN raise.

    ## Observation Space
    ``Box(0, 255, (C, image_size, image_size), uint8)``: the raw image, channel-first.

    ## Rewards
    ``−CE(classifier(normalise(x) · blur(upsample(m))), y)`` with the classifier in eval mode, before the SGD
    step that this image contributes to. Always ≤ 0.

    ## Starting State
    Images are drawn without replacement from the training split of the seen classes in a seeded random
    order (a new permutation each epoch). ``reset(seed=s)`` reseeds that order; it never resets the
    classifier.

    ## Episode End
    Every episode terminates after one step (``terminated=True``). ``info["is_success"]`` is whether the
    classifier's prediction on the masked image was right; ``info`` also has ``label``, ``ce`` and ``epoch``.

    ## Arguments
    * ``data``, ``root``, ``data_kwargs``, ``data_seed``: passed to :func:`envs.data.load_dataset`.
    * ``image_size``: images are resized (bilinear) to this side; ``None`` keeps the data set's size.
    * ``held_out_classes``: classes kept out of training (the unseen-concept task); labels are re-indexed.
    * ``model``: ``small_cnn`` (default, ``None``) or ``resnet18``; ``classifier_seed`` seeds its weights.
    * ``grid``: mask cells per side (default: the paper's 64 at 224 px scaled to ``image_size``).
    * ``kernel_size``, ``sigma``: Gaussian blur (default: the paper's 13 / 6 at 224 px scaled).
    * ``batch_size``, ``lr``, ``momentum``, ``weight_decay``, ``epochs``, ``schedule``: the classifier's SGD
      (paper: lr 0.1, momentum 0.9, wd 1e-4, StepLR at a third and two thirds of ``epochs``).
    * ``train_classifier``: ``False`` freezes the classifier (a stationary bandit).
    * ``device``: torch device of the classifier.

    ## Version History
    * v0: first version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        data: str = "digits",
        root: str | None = None,
        data_kwargs: dict[str, Any] | None = None,
        data_seed: int = 0,
        image_size: int | None = 36,
        held_out_classes: list[int] | tuple[int, ...] = (),
        model: str | None = None,
        classifier_seed: int = 0,
        grid: int | None = None,
        kernel_size: int | None = None,
        sigma: float | None = None,
        batch_size: int = 64,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        epochs: int = 90,
        schedule: str = "step",
        train_classifier: bool = True,
        render_mode: str | None = None,
        device: str = "cpu",
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.device = torch.device(device)
        self.dataset = load_dataset(data, root=root, seed=data_seed, **(data_kwargs or {}))
        self.splits, self.seen_classes, self.unseen_classes = _prepare_splits(
            self.dataset, image_size, held_out_classes
        )
        self.num_classes = len(self.seen_classes)
        if self.num_classes < 2:
            raise ValueError(
                f"need at least 2 seen classes, got {self.seen_classes} (check held_out_classes)"
            )
        images, _ = self.splits["train"]
        self.channels, self.image_size = int(images.shape[1]), int(images.shape[-1])
        train01 = images.float() / 255.0
        self.mean = train01.mean(dim=(0, 2, 3)).view(1, -1, 1, 1).to(self.device)
        self.std = train01.std(dim=(0, 2, 3)).clamp_min(1e-3).view(1, -1, 1, 1).to(self.device)

        self.grid = grid or scaled_grid(self.image_size)
        default_kernel, default_sigma = scaled_blur(self.image_size)
        self.kernel_size = kernel_size or default_kernel
        self.sigma = sigma or default_sigma
        if not 1 <= self.grid <= self.image_size:
            raise ValueError(f"grid must be in [1, image_size={self.image_size}], got {self.grid}")
        self.model_name = model or "small_cnn"
        self.batch_size = batch_size
        self.train_classifier_enabled = train_classifier
        self.settings = OptimSettings(
            lr=lr, momentum=momentum, weight_decay=weight_decay, epochs=epochs, schedule=schedule
        )
        self.trainer = self.new_trainer(self.num_classes, self.settings, classifier_seed)
        self.sampler = EpochSampler(len(self.splits["train"][1]), seed=data_seed)

        self.observation_space = spaces.Box(
            0, 255, (self.channels, self.image_size, self.image_size), np.uint8
        )
        self.action_space = spaces.Box(-1.0, 1.0, (self.grid, self.grid), np.float32)
        self._current: int | None = None
        self._buffer: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- the batched pipeline (learners) ------------------------------------------------------------------
    def new_trainer(self, num_classes: int, settings: OptimSettings, seed: int) -> ClassifierTrainer:
        """A fresh classifier (weights seeded by ``seed``, global RNG untouched) with its optimiser."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = make_classifier(self.model_name, self.channels, num_classes, self.image_size)
        return ClassifierTrainer(net.to(self.device), settings)

    def next_batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The next training images of the epoch: (obs uint8 (B, C, H, W), labels (B,), epoch_ended).

        A remainder smaller than ``batch_size`` is folded into the epoch's last batch (no tiny batches).
        """
        idx, ended = self.sampler.take(batch_size)
        images, labels = self.splits["train"]
        return images[idx].to(self.device), labels[idx].to(self.device), ended

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 (B, C, H, W) observations → the classifier's normalised float input (official
        ``train_one_epoch.py``)."""
        return (obs.to(self.device).float() / 255.0 - self.mean) / self.std

    def masked_inputs(self, obs: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        """Normalised images times the upsampled, blurred masks (``masks=None``: no mask)."""
        x = self.normalize(obs)
        if masks is None:
            return x
        return apply_mask(x, masks.to(self.device), self.kernel_size, self.sigma)

    def train_classifier(
        self,
        obs: torch.Tensor,
        labels: torch.Tensor,
        masks: torch.Tensor | None,
        loss_scale: torch.Tensor | float = 1.0,
    ) -> torch.Tensor:
        """One SGD step of the wrapped classifier on masked images; returns per-sample CE (rewards are
        −CE)."""
        return self.trainer.train_step(self.masked_inputs(obs, masks), labels.to(self.device), loss_scale)

    def figure(self, obs: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
        """uint8 (H, W, 3) figure: images, their masks, the masked images (shown de-normalised)."""
        images01 = obs.float().cpu() / 255.0
        pixel = upsample_mask(
            masks.float().cpu(), (self.image_size, self.image_size), self.kernel_size, self.sigma
        )
        masked01 = (self.masked_inputs(obs, masks).cpu() * self.std.cpu() + self.mean.cpu()).clamp(0, 1)
        return mask_figure(images01.numpy(), pixel[:, 0].numpy(), masked01.numpy())

    # -- gymnasium API (one image per episode) -------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.sampler.reseed(seed)
        idx, _ = self.sampler.take(1)
        self._current = int(idx[0])
        images, labels = self.splits["train"]
        return images[self._current].numpy().copy(), {
            "label": int(labels[self._current]),
            "epoch": self.sampler.epoch,
        }

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._current is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape} (the mask grid), got {action.shape}"
            )
        if not np.all(np.isfinite(action)) or np.abs(action).max() > 1.0 + 1e-6:
            raise ValueError("action values must be finite and in [-1, 1] (mask = (action + 1) / 2)")
        images, labels = self.splits["train"]
        obs, label = images[self._current : self._current + 1], labels[self._current : self._current + 1]
        mask = torch.from_numpy((np.clip(action, -1.0, 1.0) + 1.0) / 2.0)[None]
        with torch.no_grad():
            self.trainer.model.eval()
            logits = self.trainer.model(self.masked_inputs(obs, mask))
            ce = float(F.cross_entropy(logits, label.to(self.device)))
        correct = bool(logits.argmax(1).item() == int(label))
        self._last = (obs, mask)
        if self.train_classifier_enabled:
            self._buffer.append((obs, label, mask))
            if len(self._buffer) >= self.batch_size:
                batch = [torch.cat(t) for t in zip(*self._buffer, strict=True)]
                self._buffer.clear()
                self.train_classifier(*batch)
        info = {"label": int(label), "ce": ce, "epoch": self.sampler.epoch, "is_success": correct}
        self._current = None
        return obs[0].numpy().copy(), -ce, True, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._last is None:
            images, _ = self.splits["train"]
            obs, mask = images[:1], torch.ones(1, self.grid, self.grid)
        else:
            obs, mask = self._last
        return self.figure(obs, mask)

    # -- state (for learners' checkpoints) -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Classifier, optimiser, schedule and data order (tensors and numbers only)."""
        return {"trainer": self.trainer.state_dict(), "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.trainer.load_state_dict(state["trainer"])
        self.sampler.load_state_dict(state["sampler"])


def _prepare_splits(
    dataset: Any, image_size: int | None, held_out: list[int] | tuple[int, ...]
) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], list[int], list[int]]:
    """uint8 image tensors per split; ``train``/``val``/``test`` hold the seen classes, ``unseen_*`` the
    rest."""
    held = sorted(int(c) for c in held_out)
    bad = [c for c in held if not 0 <= c < dataset.num_classes]
    if bad:
        raise ValueError(
            f"held_out_classes {bad} are not classes of {dataset.name} (0..{dataset.num_classes - 1})"
        )
    seen = [c for c in range(dataset.num_classes) if c not in held]
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for prefix, classes in (("", seen), ("unseen_", held)):
        if not classes:
            continue
        remap = torch.full((dataset.num_classes,), -1, dtype=torch.int64)
        remap[classes] = torch.arange(len(classes))
        for name in ("train", "val", "test"):
            split = getattr(dataset, name).classes_subset(classes)
            x = torch.from_numpy(split.images)
            if image_size is not None and x.shape[-1] != image_size:
                x = F.interpolate(
                    x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
                )
            splits[prefix + name] = (
                (x.clamp(0, 1) * 255).round().to(torch.uint8),
                remap[torch.from_numpy(split.labels)],
            )
    return splits, seen, held
