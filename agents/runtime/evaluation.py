"""The evaluation protocol (README, "Evaluation").

A separate evaluation environment, ``eval.episodes`` episodes, deterministic actions by default. Episode
``k`` of every evaluation resets with the same seed ``derive_seed(seed + eval.seed_offset, "eval", k)``, so
evaluations at different steps score the policy on the same episodes. Success is read from the last step's
``info["is_success"]`` (each env family documents its episode-level rule). The first episode can be
recorded to ``videos/eval_<step>.mp4``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.core.base import Learner
from agents.core.env_factory import EnvFactory
from agents.core.seeding import derive_seed


class Evaluator:
    """Runs the evaluation protocol for a learner, keeping its eval env between evaluations."""

    def __init__(
        self, factory: EnvFactory, episodes: int, seed: int, deterministic: bool = True, video: bool = False
    ):
        if episodes < 1:
            raise ValueError(f"eval.episodes must be >= 1, got {episodes}")
        self.factory = factory
        self.episodes = episodes
        self.seed = seed
        self.deterministic = deterministic
        self.video = video
        self._env: Any = None

    def _get_env(self) -> Any:
        if self._env is None:
            render_mode = None
            if self.video:
                probe = self.factory.make()
                modes = probe.metadata.get("render_modes", [])
                probe.close()
                render_mode = "rgb_array" if "rgb_array" in modes else None
            self._env = self.factory.make(render_mode=render_mode)
        return self._env

    def __call__(self, learner: Learner, video_path: Path | None = None) -> list[dict[str, Any]]:
        """Evaluate; returns one dict per episode (``return``, ``length``, ``success`` when reported)."""
        custom = learner.evaluate(self.episodes, self.seed)
        if custom is not None:
            return custom
        if self.factory.cfg.kind != "gym":
            raise NotImplementedError(
                f"{type(learner).__name__} must implement evaluate() for {self.factory.cfg.kind} environments"
            )
        env = self._get_env()
        results = []
        for k in range(self.episodes):
            record = video_path is not None and k == 0 and env.render_mode == "rgb_array"
            frames: list[np.ndarray] = []
            obs, info = env.reset(seed=derive_seed(self.seed, "eval", k))
            ep_return, length, done = 0.0, 0, False
            while not done:
                if record:
                    frames.append(env.render())
                action = learner.act(obs, deterministic=self.deterministic)
                obs, reward, terminated, truncated, info = env.step(action)
                ep_return += float(reward)
                length += 1
                done = terminated or truncated
            episode: dict[str, Any] = {"return": ep_return, "length": length}
            if "is_success" in info:
                episode["success"] = bool(info["is_success"])
            results.append(episode)
            if record and frames:
                _write_video(video_path, frames, fps=env.metadata.get("render_fps", 30))
        return results

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def summarize(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """``eval/`` metrics from per-episode results: mean/std return, mean length, success rate."""
    returns = np.array([e["return"] for e in episodes], dtype=float)
    out = {
        "eval/return_mean": float(returns.mean()),
        "eval/return_std": float(returns.std()),
        "eval/length_mean": float(np.mean([e.get("length", 0) for e in episodes])),
    }
    successes = [float(e["success"]) for e in episodes if "success" in e]
    if successes:
        out["eval/success_rate"] = float(np.mean(successes))
    for key in sorted({k for e in episodes for k in e} - {"return", "length", "success"}):
        values = [e[key] for e in episodes if isinstance(e.get(key), (int, float, bool))]
        if values:
            out[f"eval/{key}"] = float(np.mean(values))
    return out


def _write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, [np.asarray(f, dtype=np.uint8) for f in frames], fps=fps, macro_block_size=1)
