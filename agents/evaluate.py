"""Re-evaluate a finished or running run: ``python -m agents.evaluate run=runs/<...> episodes=10 video=true``.

Loads the run's ``config.yaml`` and a checkpoint (``checkpoint=best`` by default; ``last`` or
``step_<N>``) and runs the evaluation protocol (agents/runtime/evaluation.py) on a fresh eval env.
Results are printed and appended to ``<run>/evaluations/<checkpoint>_<time>.jsonl``; videos go to
``<run>/videos/``. Options: ``episodes=<n>``, ``video=true|false``, ``deterministic=true|false``,
``seed=<n>`` (default: the run's eval seed), ``checkpoint=best|last|step_<N>|<N>``
(an unknown name lists the existing checkpoints).

Classification learners (the noise mask) also take ``split=<name>`` (``train``, ``val``, ``test``,
``unseen_test``... whatever the env holds): the metrics of each classifier in the checkpoint on that data
split (:meth:`agents.core.base.Learner.evaluate_split`), printed as a table and written to
``<run>/evaluations/<checkpoint>_<split>_<time>.jsonl``. With ``split=`` the default checkpoint is
``last`` (``best`` is ranked by the per-phase episode score) and the episode options do not apply.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")


from agents import callable_module
from agents.runtime.checkpoint import load_checkpoint, resolve_checkpoint
from agents.runtime.errors import CheckpointError, report
from agents.runtime.rundir import read_config

USAGE = (
    "usage: python -m agents.evaluate run=<run dir> [checkpoint=best|last|step_<N>|<N>] [episodes=10] "
    "[video=false] [deterministic=true] [seed=<n>]\n"
    "       python -m agents.evaluate run=<run dir> split=<train|val|test|...> "
    "[checkpoint=last|best|step_<N>]"
)
EPISODE_KEYS = ("episodes", "video", "deterministic", "seed")


def parse_args(argv: list[str]) -> dict[str, str]:
    """``key=value`` arguments; unknown keys are an error naming the valid ones."""
    valid = {"run", "checkpoint", "split", *EPISODE_KEYS}
    args: dict[str, str] = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in valid:
            raise SystemExit(f"error: bad argument {arg!r}\n{USAGE}")
        args[key] = value
    if "run" not in args:
        raise SystemExit(f"error: run=<run dir> is required\n{USAGE}")
    mixed = [k for k in EPISODE_KEYS if k in args]
    if "split" in args and mixed:
        raise SystemExit(f"error: {', '.join(mixed)} apply to episode evaluation, not split=\n{USAGE}")
    return args


def _bool(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise SystemExit(f"error: expected true/false, got {value!r}")


def evaluate_run(
    run: str | Path,
    checkpoint: str = "best",
    episodes: int | None = None,
    video: bool = False,
    deterministic: bool | None = None,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Evaluate a checkpoint of a run directory; returns the per-episode results."""
    from agents.runtime.evaluation import Evaluator, summarize

    run = Path(run)
    cfg, ckpt, learner = _load(run, checkpoint)
    eval_seed = seed if seed is not None else int(cfg.seed) + int(cfg.eval.seed_offset)
    evaluator = Evaluator(
        learner.env_factory,
        episodes or int(cfg.eval.episodes),
        eval_seed,
        deterministic=cfg.eval.deterministic if deterministic is None else deterministic,
        video=video,
    )
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    try:
        results = evaluator(
            learner, video_path=run / "videos" / f"evaluate_{ckpt.name}_{stamp}.mp4" if video else None
        )
    finally:
        evaluator.close()
        learner.close()
    out = run / "evaluations" / f"{ckpt.name}_{stamp}.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        "".join(
            json.dumps({"step": learner.num_steps, "episode": i, **r}) + "\n" for i, r in enumerate(results)
        )
    )
    summary = summarize(results)
    print(
        f"{run} [{ckpt.name}, step {learner.num_steps}]: "
        + "  ".join(f"{k}={v:.4g}" for k, v in summary.items())
    )
    print(f"episodes written to {out}")
    return results


def evaluate_run_split(run: str | Path, split: str, checkpoint: str = "last") -> list[dict[str, Any]]:
    """Classification metrics on data split ``split`` of each model in a checkpoint; one dict per model."""
    run = Path(run)
    _, ckpt, learner = _load(run, checkpoint)
    try:
        rows = learner.evaluate_split(split)
    finally:
        learner.close()
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = run / "evaluations" / f"{ckpt.name}_{split}_{stamp}.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(json.dumps({"step": learner.num_steps, "split": split, **r}) + "\n" for r in rows))
    print(f"{run} [{ckpt.name}, step {learner.num_steps}], split {split}:")
    print(format_table(rows))
    print(f"results written to {out}")
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of ``rows``; columns in first-seen order, floats to 4 decimals."""
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _load(run: Path, checkpoint: str) -> tuple[Any, Path, Any]:
    """The run's config, the resolved checkpoint directory and a learner restored from it."""
    from agents.runtime.loop import build_learner, class_path, learner_class

    cfg = read_config(run)
    if checkpoint == "best" and not (run / "checkpoints" / "best" / "state.pt").exists():
        checkpoint = "last"
    ckpt = resolve_checkpoint(run / "checkpoints", checkpoint)
    state, _ = load_checkpoint(ckpt, with_arrays=False)
    expected = class_path(learner_class(cfg))
    if state.get("learner_class") != expected:
        raise CheckpointError(
            f"{ckpt / 'state.pt'} was written by learner {state.get('learner_class') or 'unknown'}, not "
            f"{expected} of this run's config.yaml; pass the run directory the checkpoint belongs to"
        )
    learner = build_learner(cfg)
    try:
        learner.load_state_dict(state["learner"])
    except (KeyError, RuntimeError, ValueError, TypeError) as err:
        learner.close()
        raise CheckpointError(
            f"{ckpt / 'state.pt'} does not fit the learner of {run / 'config.yaml'} ({type(err).__name__})"
        ) from None
    learner.num_steps = int(state["step"])
    return cfg, ckpt, learner


def main() -> None:
    """Console entry point (``pgsuite-evaluate``)."""
    if len(sys.argv) < 2 or any(a in ("-h", "--help") for a in sys.argv[1:]):  # issue 14: usage, exit 0
        print(f"{USAGE}\n\n{__doc__.strip()}")
        raise SystemExit(0)
    args = parse_args(sys.argv[1:])
    try:
        if "split" in args:
            evaluate_run_split(args["run"], args["split"], checkpoint=args.get("checkpoint", "last"))
        else:
            evaluate_run(
                args["run"],
                checkpoint=args.get("checkpoint", "best"),
                episodes=int(args["episodes"]) if "episodes" in args else None,
                video=_bool(args.get("video", "false")),
                deterministic=_bool(args["deterministic"]) if "deterministic" in args else None,
                seed=int(args["seed"]) if "seed" in args else None,
            )
    except Exception as err:  # one line for user errors, the traceback for bugs (agents/runtime/errors.py)
        raise SystemExit(report(err)) from None


callable_module(__name__)  # issue 14: `from agents import evaluate` calls agents.api.evaluate

if __name__ == "__main__":
    main()
