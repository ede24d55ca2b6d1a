"""Train an agent on an environment: ``python -m agents.train env=<env> agent=<agent> seed=0``.

Examples::

    python -m agents.train env=cartpole agent=sb3-ppo                 # one run
    python -m agents.train -m env=cartpole agent=sb3-ppo seed=0,1,2   # a sweep (Hydra multirun)
    python -m agents.train -m env=cartpole agent=sb3-ppo seed=0,1 hydra/launcher=joblib
    python -m agents.train env=cartpole agent=sb3-ppo resume=auto     # continue the latest run of this seed
    python -m agents.train env=n2n-resnet34                           # the env's default agent

Configs: ``agents/conf`` (groups ``env``, ``agent``, ``budget``, ``logger``, ``data``, ``suite``,
``hydra/launcher``), plus ``hydra.searchpath`` entries and installed plugins (docs/extending.md). The
pre-check
(:mod:`agents.core.precheck`) runs before Hydra; ``--help`` prints the usage and every group's names.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco (headless rendering)

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from agents import callable_module
from agents.core.config import ConfigError, compose_run_config
from agents.core.precheck import preflight, usage
from agents.runtime.errors import report

__all__ = ["main", "preflight"]


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def _hydra_main(cfg: DictConfig) -> str:
    from agents.runtime.loop import train

    overrides = list(HydraConfig.get().overrides.task)
    try:
        run_cfg = compose_run_config(cfg, overrides)
        return str(train(run_cfg))
    except Exception as err:  # one line for user errors, the traceback for bugs (agents/runtime/errors.py)
        raise SystemExit(report(err)) from None


def main() -> None:
    """Console entry point (``pgsuite-train``)."""
    if len(sys.argv) < 2 or any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        try:
            print(usage(sys.argv[1:]))
        except ConfigError as err:
            raise SystemExit(report(err)) from None
        raise SystemExit(0)
    try:
        sys.argv = [sys.argv[0], *preflight(sys.argv[1:])]
    except ConfigError as err:
        raise SystemExit(report(err)) from None
    _hydra_main()


callable_module(__name__)  # issue 14: `from agents import train` calls agents.api.train

if __name__ == "__main__":
    main()
