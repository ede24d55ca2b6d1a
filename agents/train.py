"""Train an agent on an environment: ``python -m agents.train env=<env> agent=<agent> seed=0``.

Examples::

    python -m agents.train env=cartpole agent=sb3-ppo                 # one run
    python -m agents.train -m env=cartpole agent=sb3-ppo seed=0,1,2   # a sweep (Hydra multirun)
    python -m agents.train -m env=cartpole agent=sb3-ppo seed=0,1 hydra/launcher=joblib
    python -m agents.train env=cartpole agent=sb3-ppo resume=auto     # continue the latest run of this seed
    python -m agents.train env=n2n-resnet34                           # the env's default agent

Configs: ``agents/conf`` (groups ``env``, ``agent``, ``budget``, ``logger``, ``data``, ``hydra/launcher``).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco (headless rendering)

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from agents.core.config import CONF_DIR, ConfigError, available, compose_run_config, did_you_mean
from agents.runtime.checkpoint import CheckpointError
from agents.runtime.rundir import RunDirError
from envs.compression.pool import PoolError

_GROUPS = ("env", "agent", "budget", "logger", "data")


def preflight(argv: list[str]) -> list[str]:
    """Check group choices with a "did you mean" error and add the env's default agent when none is named.

    Raises:
        ConfigError: an unknown env/agent/budget/logger/data name.
    """
    choices: dict[str, list[str]] = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in _GROUPS:
            choices[key] = value.split(",")
            for name in choices[key]:
                if name and not (CONF_DIR / key / f"{name}.yaml").exists():
                    raise ConfigError(did_you_mean(key, name))
    if "env" in choices and "agent" not in choices:
        defaults = set()
        for env_name in choices["env"]:
            default = OmegaConf.load(CONF_DIR / "env" / f"{env_name}.yaml").get("default_agent")
            if default is None:
                raise ConfigError(
                    f"env {env_name!r} has no default agent: pass agent=<name>. "
                    f"Available agent configs: {', '.join(available('agent'))}"
                )
            defaults.add(default)
        if len(defaults) > 1:
            raise ConfigError(
                f"the envs of this sweep have different default agents {sorted(defaults)}: pass agent="
            )
        argv = [*argv, f"agent={defaults.pop()}"]
    return argv


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def _hydra_main(cfg: DictConfig) -> str:
    from agents.runtime.loop import train

    overrides = list(HydraConfig.get().overrides.task)
    try:
        run_cfg = compose_run_config(cfg, overrides)
        return str(train(run_cfg))
    except (ConfigError, CheckpointError, RunDirError, PoolError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> None:
    """Console entry point (``pgsuite-train``)."""
    try:
        sys.argv = [sys.argv[0], *preflight(sys.argv[1:])]
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    _hydra_main()


if __name__ == "__main__":
    main()
