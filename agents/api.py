"""The Python API: train, evaluate and report from a script or a notebook (issue 14).

Same configs and the same composition as the command line (pre-check, suites, search path, plugins,
presets, budgets), without Hydra's process-level machinery::

    from agents import train, evaluate, report

    run = train(env="pendulum", agent="sb3-sac", seed=0, overrides=["budget=smoke"])
    run.path, run.summary, run.final_eval          # run directory, summary.json, last evaluation
    evaluate(run.path, episodes=5)                 # re-evaluate its best checkpoint
    runs = train_suite("dmc-easy", agents=["drqv2", "sb3-sac"], seeds=[0, 1], overrides=["budget=smoke"])
    report("runs/suites/dmc-easy")                 # report.json as a dict; prints the aggregate

``agents.train``/``agents.evaluate``/``agents.report`` are also the modules behind ``python -m``; calling
the module object calls the function here, so ``from agents import train`` works either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunResult:
    """A finished run: its directory, ``summary.json``, the last evaluation and the resolved config."""

    path: Path
    summary: dict[str, Any]
    final_eval: dict[str, float]
    config: dict[str, Any] = field(repr=False)


def compose(
    env: str | None = None, agent: str | None = None, seed: int = 0, overrides: list[str] | None = None
):
    """The run config the command line would build for these arguments (after the pre-check).

    Raises:
        agents.core.config.ConfigError: what the command line reports as ``error: ...`` (exit 2).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from agents.core.config import CONF_DIR, ConfigError, compose_run_config
    from agents.core.precheck import preflight

    argv = [*([f"env={env}"] if env else []), *([f"agent={agent}"] if agent else []), f"seed={seed}"]
    argv = [a for a in preflight([*argv, *(overrides or [])]) if a != "-m"]  # a suite adds -m
    sweep = [a for a in argv if a.partition("=")[0] in ("env", "agent", "seed") and "," in a]
    if sweep:
        raise ConfigError("train() runs one config; use train_suite() or the command line's -m for sweeps")
    task = [a for a in argv if not a.lstrip("+").startswith("hydra.")]
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=argv)
    return compose_run_config(cfg, task)


def train(
    env: str | None = None, agent: str | None = None, seed: int = 0, overrides: list[str] | None = None
) -> RunResult:
    """Train one run (like ``python -m agents.train env=... agent=... seed=... <overrides>``).

    Args:
        env: env config name (``pendulum``, ``dmc-walker-walk``...); see ``python -m agents.list``.
        agent: agent config name; the env's default agent when ``None``.
        seed: the root seed.
        overrides: further command-line overrides (``budget=smoke``, ``obs=state``,
            ``hydra.searchpath=[file:///...]``, ``run.root=...``).
    """
    from agents.runtime.loop import train as run_training

    cfg = compose(env, agent, seed, overrides)
    return load_result(run_training(cfg))


def train_suite(
    suite: str,
    agents: list[str] | None = None,
    seeds: list[int] | None = None,
    overrides: list[str] | None = None,
) -> list[RunResult]:
    """Every task of ``suite`` × ``agents`` × ``seeds`` (the suite's seeds by default), one after another."""
    from agents.core.precheck import preflight

    argv = preflight(
        [f"suite={suite}", *([f"agent={','.join(agents)}"] if agents else []), *(overrides or [])]
        + ([f"seed={','.join(map(str, seeds))}"] if seeds is not None else [])
    )
    values = {a.partition("=")[0]: a.partition("=")[2] for a in argv if "=" in a}
    rest = [a for a in argv if a != "-m" and a.partition("=")[0] not in ("env", "agent", "seed")]
    results = []
    for env in values["env"].split(","):
        for agent in values["agent"].split(","):
            for seed in values["seed"].split(","):
                results.append(train(env, agent, int(seed), rest))
    return results


def load_result(path: str | Path) -> RunResult:
    """A :class:`RunResult` read back from a run directory."""
    from agents.analysis.runs import load_run, run_curve

    path = Path(path)
    run = load_run(path)
    summary_file = path / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    final = {}
    for metric in ("eval/return", "eval/success"):
        curve = run_curve(run, metric)
        if curve is not None:
            final[metric] = curve.final()
    return RunResult(path, summary, final, run.config)


def evaluate(
    run: str | Path, episodes: int | None = None, checkpoint: str = "best", **kwargs: Any
) -> dict[str, float]:
    """Re-evaluate a run's checkpoint (like ``python -m agents.evaluate``); returns the summary metrics.

    Keyword arguments: ``video``, ``deterministic``, ``seed`` (see :func:`agents.evaluate.evaluate_run`).
    """
    from agents.evaluate import evaluate_run
    from agents.runtime.evaluation import summarize

    return summarize(evaluate_run(run, checkpoint=checkpoint, episodes=episodes, **kwargs))


def report(folder: str | Path, **options: Any) -> dict[str, Any]:
    """Write the report of a folder of runs (like ``python -m agents.report``); returns report.json.

    Options are those of ``python -m agents.report --help`` (``suite=``, ``refs=``, ``reps=``...).

    Raises:
        ValueError: the report could not be written (the reason was printed).
    """
    from agents.report import main as report_main

    argv = [str(folder), *(f"{k}={v}" for k, v in options.items())]
    try:
        status = report_main(argv)
    except SystemExit as exit_:
        raise ValueError(f"agents.report {' '.join(argv)} failed (exit {exit_.code})") from None
    if status != 0:
        raise ValueError(f"agents.report {' '.join(argv)}: no run with data")
    out = Path(options.get("out") or Path(folder) / "report")
    return json.loads((out / "report.json").read_text())
