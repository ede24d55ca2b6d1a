"""The training loop every learner runs in: segments, evaluation, checkpoints, resume, summary.

Training is cut at multiples of ``run.eval_every`` (evaluate) and ``run.checkpoint_every`` (checkpoint, then
``Learner.on_segment_end``). A resumed run restores the learner, the replay arrays and the global RNG states
from its newest intact checkpoint and continues at that step, in the same run directory and on the same
metric axis; on CPU it ends identical to an uninterrupted run (tests/test_resume.py).

Guarantees (issue 20; README "Checkpoints and resume"): one process per run directory (:mod:`.lock`);
everything a resume needs is read and checked before ``run.json``/``config.yaml`` are touched; the learner is
built before a new run directory is created; every run ends ``finished``, ``failed`` (with its cause) or
``interrupted``, and a run found ``running`` with a free lock is recorded as ``killed``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra.utils
import numpy as np
from omegaconf import DictConfig, OmegaConf

from agents.core.base import Learner
from agents.core.config import build_learner_config
from agents.core.env_factory import EnvConfig, EnvFactory
from agents.core.seeding import get_rng_state, seed_everything, set_rng_state
from agents.core.validate import build_checked
from agents.runtime import rundir
from agents.runtime.checkpoint import CheckpointManager, cleanup, load_newest_intact, save_checkpoint
from agents.runtime.errors import CheckpointError, RunDirError, cause
from agents.runtime.evaluation import Evaluator, summarize
from agents.runtime.lock import RunLock
from agents.runtime.logger import Logger
from agents.runtime.progress import Progress
from agents.runtime.summary import write_summary


def learner_class(cfg: DictConfig) -> type[Learner]:
    """The learner class named by ``cfg.agent._target_``."""
    learner_cls = hydra.utils.get_class(cfg.agent._target_)
    if not (isinstance(learner_cls, type) and issubclass(learner_cls, Learner)):
        raise TypeError(f"agent._target_ {cfg.agent._target_} is not a pgsuite Learner")
    return learner_cls


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def build_learner(cfg: DictConfig) -> Learner:
    """Instantiate the learner named by ``cfg.agent._target_`` on the env of ``cfg.env``."""
    env_node = OmegaConf.to_container(cfg.env, resolve=True)  # env kwargs may interpolate root keys
    env_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EnvConfig), env_node))
    assert isinstance(env_cfg, EnvConfig)
    factory = EnvFactory(env_cfg)
    learner_cls = learner_class(cfg)
    learner_cfg = build_learner_config(learner_cls, cfg.agent)
    return build_checked(
        lambda: learner_cls(learner_cfg, env=factory, seed=int(cfg.seed), device=str(cfg.device)),
        cfg,
        factory,
    )


@dataclass
class _ResumePoint:
    checkpoint: Path
    state: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _resume_point(run_dir: Path, cfg: DictConfig) -> _ResumePoint | None:
    """Read and check the newest intact checkpoint of ``run_dir`` (writes nothing but crash leftovers)."""
    saved = OmegaConf.to_container(rundir.read_config(run_dir), resolve=True)
    rundir.check_compatible(saved, OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    ckpt_dir = run_dir / "checkpoints"
    notes = [f"removed leftovers of an interrupted checkpoint write: {n}" for n in cleanup(ckpt_dir)]
    found = load_newest_intact(ckpt_dir)
    if found is None:
        return None
    path, state, arrays, problems = found
    notes += [f"skipped unreadable checkpoint {p}" for p in problems]
    expected = class_path(learner_class(cfg))
    saved_cls = state.get("learner_class")
    if saved_cls != expected:
        raise CheckpointError(
            f"{path / 'state.pt'} was written by learner {saved_cls or 'unknown'}, not {expected} "
            f"(agent={cfg.agent.name}); resume it with its own agent or start a new run (resume=never)"
        )
    for key in ("learner", "step", "segment", "best_score", "rng"):
        if key not in state:
            raise CheckpointError(f"{path / 'state.pt'} lacks {key!r}; it is not a run checkpoint")
    return _ResumePoint(path, state, arrays, notes)


def _restore(learner: Learner, point: _ResumePoint) -> None:
    try:
        learner.load_state_dict(point.state["learner"])
        learner.load_arrays(point.arrays)
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError, AttributeError) as err:
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"{point.checkpoint / 'state.pt'} does not fit this learner ({type(err).__name__}: {first}); "
            f"resume with the run's own settings or start a new run (resume=never)"
        ) from None
    learner.num_steps = int(point.state["step"])
    set_rng_state(point.state["rng"])


def train(cfg: DictConfig) -> Path:
    """Run (or resume) one training run; returns its run directory."""
    started = time.perf_counter()  # setup (data, teachers) counts in the time estimate
    resume_dir = rundir.resolve_resume(cfg)
    restart_dir = None
    if resume_dir is None and str(cfg.resume) == "auto" and cfg.run.name:
        candidate = Path(cfg.run.root) / cfg.run.name
        restart_dir = candidate if candidate.is_dir() else None  # killed before its first checkpoint
    lock = RunLock(resume_dir or restart_dir) if (resume_dir or restart_dir) else None
    if lock is not None:
        lock.acquire()
    try:
        return _train_locked(cfg, resume_dir, restart_dir, lock, started)
    finally:
        if lock is not None:
            lock.release()


def _train_locked(
    cfg: DictConfig,
    resume_dir: Path | None,
    restart_dir: Path | None,
    lock: RunLock | None,
    started: float,
) -> Path:
    point = _resume_point(resume_dir, cfg) if resume_dir is not None else None
    if resume_dir is not None and point is None:
        restart_dir = resume_dir  # only leftovers of a crashed first write: start over in place
    previous = rundir.read_run_info(resume_dir or restart_dir) if (resume_dir or restart_dir) else {}

    seed_everything(int(cfg.seed), bool(cfg.deterministic))
    learner = build_learner(cfg)  # before the run directory is created: bad agent/env pairs leave nothing
    try:
        if point is not None:
            _restore(learner, point)
        run_dir = resume_dir or restart_dir
        if run_dir is None:
            if str(cfg.resume) == "auto" and cfg.run.name:  # exactly this run, not a suffixed sibling
                run_dir = Path(cfg.run.root) / cfg.run.name
                run_dir.mkdir(parents=True, exist_ok=True)
            else:
                run_dir = rundir.new_run_dir(
                    cfg.run.root, cfg.env.name, cfg.agent.name, int(cfg.seed), cfg.run.name
                )
            lock = RunLock(run_dir).acquire()
            if (run_dir / "run.json").exists():
                raise RunDirError(
                    f"{run_dir} was started by another process while this one prepared; "
                    f"continue it with resume=auto or choose another run.name"
                )
        try:
            _start_record(run_dir, cfg, previous, point)
            return _run(cfg, learner, run_dir, point, started)
        finally:
            if resume_dir is None and restart_dir is None and lock is not None:
                lock.release()
    finally:
        learner.close()


def _start_record(
    run_dir: Path, cfg: DictConfig, previous: dict[str, Any], point: _ResumePoint | None
) -> None:
    history = list(previous.get("history", []))
    if previous.get("status"):
        # We hold the lock, so a run that still says "running" died without recording it: it was killed.
        status = "killed" if previous["status"] == "running" else previous["status"]
        history.append({k: previous.get(k) for k in ("started", "finished", "error")} | {"status": status})
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
        error=None,
        history=history,
        resumed_from=None if point is None else f"{point.checkpoint.name} (step {int(point.state['step'])})",
    )


def _run(
    cfg: DictConfig, learner: Learner, run_dir: Path, point: _ResumePoint | None, started: float
) -> Path:
    learner.total_steps = int(cfg.run.total_steps)
    learner.log_every = int(cfg.run.log_every)  # type: ignore[attr-defined]
    arrays_in_steps = bool(getattr(learner, "arrays_in_steps", True))
    checkpoints = CheckpointManager(
        run_dir / "checkpoints",
        keep=cfg.run.keep_checkpoints,
        arrays_in_steps=arrays_in_steps,
        compress=not arrays_in_steps,
    )
    segment, best_score = 0, -math.inf
    if point is not None:
        segment, best_score = int(point.state["segment"]), float(point.state["best_score"])
        learner.on_segment_end(segment - 1)
        for note in point.notes:
            print(note)
        if not arrays_in_steps and point.checkpoint.name != "last":
            print(f"note: {point.checkpoint.name} holds no replay arrays; continuing with an empty buffer")
        print(f"Resuming {run_dir} at step {learner.num_steps} from checkpoints/{point.checkpoint.name}")

    logger = Logger(
        run_dir,
        csv_enabled=cfg.logger.csv,
        tensorboard=cfg.logger.tensorboard,
        wandb=cfg.logger.wandb,
        start_step=learner.num_steps,
        wandb_kwargs={
            "project": cfg.logger.wandb_project,
            "entity": cfg.logger.wandb_entity,
            "config": OmegaConf.to_container(cfg, resolve=True),
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
    bar = Progress(
        total,
        learner.num_steps,
        f"{cfg.env.name} · {cfg.agent.name}",
        cfg.run.progress,
        eval_every=eval_every,
        checkpoint_every=ckpt_every,
        faster_budget=_faster_budget(cfg),
        started=started,
    )
    try:
        with bar:
            bar.watch(learner)
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
                    with bar.phase("eval"):
                        score = _evaluate(learner, evaluator, logger, run_dir, step, cfg, bar)
                        if score > best_score:
                            best_score = score
                            save_checkpoint(checkpoints.best, _state(learner, segment, best_score))
                if step >= next_ckpt or step >= total:
                    next_ckpt = (step // ckpt_every + 1) * ckpt_every
                    segment += 1
                    with bar.phase("checkpoint"):
                        arrays = learner.arrays() if cfg.run.save_arrays else None
                        checkpoints.save(step, _state(learner, segment, best_score), arrays, is_best=False)
                        logger.flush()
                    learner.on_segment_end(segment - 1)
        results = learner.finish()
        own_markdown = bool(results.get("markdown"))
        title = f"{cfg.env.name} · {cfg.agent.name} · seed {cfg.seed} ({cfg.budget.name} budget)"
        markdown = write_summary(run_dir, results, learner.num_steps, best_score, title)
        if own_markdown:
            print(markdown)
        rundir.write_run_info(run_dir, status="finished", finished=rundir.utc_now(), steps=learner.num_steps)
    except KeyboardInterrupt:
        rundir.write_run_info(run_dir, status="interrupted", finished=rundir.utc_now())
        print(f"\nInterrupted. Continue with: python -m agents.train ... resume={run_dir}")
        raise
    except BaseException as err:
        _mark_failed(run_dir, err)
        raise
    finally:
        logger.close()
        evaluator.close()
    return run_dir


def _mark_failed(run_dir: Path, err: BaseException) -> None:
    try:
        rundir.write_run_info(run_dir, status="failed", finished=rundir.utc_now(), error=cause(err))
    except OSError:
        pass  # e.g. the disk is full: the next start records the run as killed


def _faster_budget(cfg: DictConfig) -> str | None:
    """The next faster budget of this env than the current one (paper → default → smoke)."""
    order = ["paper", "default", "smoke"]
    budgets = set(cfg.env.get("budgets") or {})
    current = "default" if cfg.budget.name == "cpu" else cfg.budget.name
    if current not in order:
        return None
    faster = [b for b in order[order.index(current) + 1 :] if b in budgets]
    return faster[0] if faster else None


def _state(learner: Learner, segment: int, best_score: float) -> dict[str, Any]:
    return {
        "learner": learner.state_dict(),
        "learner_class": class_path(type(learner)),
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
