"""The training loop every learner runs in: segments, evaluation, checkpoints, resume, summary.

Training is cut at multiples of ``run.eval_every`` (evaluate) and ``run.checkpoint_every`` (checkpoint, then
``Learner.on_segment_end``). A resumed run restores the learner, the replay arrays and the global RNG states
from ``checkpoints/last`` and continues at that step, in the same run directory and on the same metric
axis; on CPU it ends identical to an uninterrupted run (tests/test_resume.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import hydra.utils
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from agents.core.base import Learner
from agents.core.config import build_learner_config
from agents.core.env_factory import EnvConfig, EnvFactory
from agents.core.seeding import get_rng_state, seed_everything, set_rng_state
from agents.runtime import rundir
from agents.runtime.checkpoint import CheckpointManager, load_checkpoint, save_checkpoint
from agents.runtime.evaluation import Evaluator, summarize
from agents.runtime.logger import Logger
from agents.runtime.progress import Progress


def build_learner(cfg: DictConfig) -> Learner:
    """Instantiate the learner named by ``cfg.agent._target_`` on the env of ``cfg.env``."""
    env_node = OmegaConf.to_container(
        cfg.env, resolve=True
    )  # env kwargs may interpolate root keys (${data.name})
    env_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EnvConfig), env_node))
    assert isinstance(env_cfg, EnvConfig)
    factory = EnvFactory(env_cfg)
    learner_cls = hydra.utils.get_class(cfg.agent._target_)
    if not (isinstance(learner_cls, type) and issubclass(learner_cls, Learner)):
        raise TypeError(f"agent._target_ {cfg.agent._target_} is not a pgsuite Learner")
    learner_cfg = build_learner_config(learner_cls, cfg.agent)
    return learner_cls(learner_cfg, env=factory, seed=int(cfg.seed), device=str(cfg.device))


def train(cfg: DictConfig) -> Path:
    """Run (or resume) one training run; returns its run directory."""
    resume_dir = rundir.resolve_resume(cfg)
    current = OmegaConf.to_container(cfg, resolve=True)
    if resume_dir is not None:
        saved = OmegaConf.to_container(rundir.read_config(resume_dir), resolve=True)
        rundir.check_compatible(saved, current)  # type: ignore[arg-type]
        run_dir = resume_dir
    elif str(cfg.resume) == "auto" and cfg.run.name and (Path(cfg.run.root) / cfg.run.name).is_dir():
        run_dir = Path(cfg.run.root) / cfg.run.name  # killed before its first checkpoint: start it over
    else:
        run_dir = rundir.new_run_dir(cfg.run.root, cfg.env.name, cfg.agent.name, int(cfg.seed), cfg.run.name)
    rundir.write_config(run_dir, cfg)
    rundir.write_run_info(
        run_dir,
        env=cfg.env.name,
        agent=cfg.agent.name,
        seed=int(cfg.seed),
        budget=cfg.budget.name,
        status="running",
        started=rundir.utc_now(),
        finished=None,
    )

    seed_everything(int(cfg.seed), bool(cfg.deterministic))
    learner = build_learner(cfg)
    learner.total_steps = int(cfg.run.total_steps)
    checkpoints = CheckpointManager(run_dir / "checkpoints", keep=cfg.run.keep_checkpoints)
    segment, best_score = 0, -math.inf
    if resume_dir is not None:
        state, arrays = load_checkpoint(checkpoints.last, with_arrays=True)
        learner.load_state_dict(state["learner"])
        learner.load_arrays(arrays)
        learner.num_steps = int(state["step"])
        segment, best_score = int(state["segment"]), float(state["best_score"])
        set_rng_state(state["rng"])
        learner.on_segment_end(segment - 1)
        print(f"Resuming {run_dir} at step {learner.num_steps}")

    logger = Logger(
        run_dir,
        csv_enabled=cfg.logger.csv,
        tensorboard=cfg.logger.tensorboard,
        wandb=cfg.logger.wandb,
        start_step=learner.num_steps,
        wandb_kwargs={
            "project": cfg.logger.wandb_project,
            "entity": cfg.logger.wandb_entity,
            "config": current,
        },
    )
    evaluator = Evaluator(
        learner.env_factory,
        int(cfg.eval.episodes),
        int(cfg.seed) + int(cfg.eval.seed_offset),
        deterministic=cfg.eval.deterministic,
        video=cfg.eval.video,
    )
    total, eval_every, ckpt_every = (
        int(cfg.run.total_steps),
        int(cfg.run.eval_every),
        int(cfg.run.checkpoint_every),
    )
    print(f"Run directory: {run_dir}")
    try:
        with Progress(
            total, learner.num_steps, f"{cfg.env.name} · {cfg.agent.name}", cfg.run.progress
        ) as bar:
            next_eval = (learner.num_steps // eval_every + 1) * eval_every
            next_ckpt = (learner.num_steps // ckpt_every + 1) * ckpt_every
            while learner.num_steps < total:
                target = min(next_eval, next_ckpt, total)
                for metrics in learner.train_until(target):
                    bar.update(learner.num_steps)
                    logger.log({**metrics, "time/sps": bar.sps()}, learner.num_steps)
                bar.update(learner.num_steps)
                step = learner.num_steps
                if step >= next_eval or step >= total:
                    next_eval = (step // eval_every + 1) * eval_every
                    score = _evaluate(learner, evaluator, logger, run_dir, step, cfg, bar)
                    if score > best_score:
                        best_score = score
                        save_checkpoint(checkpoints.best, _state(learner, segment, best_score))
                if step >= next_ckpt or step >= total:
                    next_ckpt = (step // ckpt_every + 1) * ckpt_every
                    segment += 1
                    arrays = learner.arrays() if cfg.run.save_arrays else None
                    checkpoints.save(step, _state(learner, segment, best_score), arrays, is_best=False)
                    logger.flush()
                    learner.on_segment_end(segment - 1)
        results = learner.finish()
        _write_summary(run_dir, results, learner.num_steps, best_score)
        rundir.write_run_info(run_dir, status="finished", finished=rundir.utc_now(), steps=learner.num_steps)
    except KeyboardInterrupt:
        rundir.write_run_info(run_dir, status="interrupted")
        print(f"\nInterrupted. Continue with: python -m agents.train ... resume={run_dir}")
        raise
    finally:
        logger.close()
        evaluator.close()
        learner.close()
    return run_dir


def _state(learner: Learner, segment: int, best_score: float) -> dict[str, Any]:
    return {
        "learner": learner.state_dict(),
        "learner_class": f"{type(learner).__module__}.{type(learner).__qualname__}",
        "step": learner.num_steps,
        "segment": segment,
        "best_score": best_score,
        "rng": get_rng_state(),
    }


def _evaluate(
    learner: Learner, evaluator: Evaluator, logger: Logger, run_dir: Path, step: int, cfg: Any, bar: Any
) -> float:
    video = run_dir / "videos" / f"eval_{step:010d}.mp4" if cfg.eval.video else None
    episodes = evaluator(learner, video_path=video)
    metrics = summarize(episodes)
    logger.log(metrics, step)
    logger.log_eval_episodes(episodes, step)
    shown = "  ".join(
        f"{k.removeprefix('eval/')}={v:.4g}" for k, v in metrics.items() if k != "eval/length_mean"
    )
    bar.print(f"[step {step}] eval: {shown}")
    if "eval/score" in metrics:
        return metrics["eval/score"]
    return metrics["eval/return_mean"]


def _write_summary(run_dir: Path, results: dict[str, Any], steps: int, best_score: float) -> None:
    results = dict(results)
    artifacts = results.pop("artifacts", {}) or {}
    figures = results.pop("figures", {}) or {}
    markdown = results.pop("markdown", None)
    if artifacts:
        from safetensors.torch import save_file

        (run_dir / "artifacts").mkdir(exist_ok=True)
        for name, tensors in artifacts.items():
            save_file(
                {k: v.contiguous() for k, v in tensors.items()},
                str(run_dir / "artifacts" / f"{name}.safetensors"),
            )
    for name, image in figures.items():
        import imageio.v2 as imageio

        imageio.imwrite(
            run_dir / name, np.asarray(image.numpy() if torch.is_tensor(image) else image, dtype=np.uint8)
        )
    summary = {
        "steps": steps,
        "best_eval_score": best_score if math.isfinite(best_score) else None,
        **results,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    if markdown:
        (run_dir / "summary.md").write_text(markdown)
        print(markdown)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
