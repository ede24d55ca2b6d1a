"""``hydra/launcher=ray``: hydra-ray-launcher's local/cluster launcher that collects every job (a failed
one does not stop the collection) and writes the sweep report.

``ray.init.address: null`` starts a private Ray on this machine bound to 127.0.0.1
(:func:`envs.compression.pool.ray_init`) and shuts it down after the sweep; an address joins that
cluster (checked first: an unreachable head is a one-line error naming the address).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra_plugins.hydra_ray_launcher import ray_launcher as plugin
from omegaconf import OmegaConf, open_dict

from agents.runtime.launchers import ExitAsError, failed_return, outcome_of, write_sweep_report

log = logging.getLogger(__name__)


class RayLauncher(plugin.RayLauncher):
    """Jobs as Ray tasks; see the module docstring."""

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        super().setup(hydra_context=hydra_context, task_function=ExitAsError(task_function), config=config)

    def launch(self, job_overrides: Any, initial_job_idx: int) -> list[JobReturn]:
        import ray
        from hydra_plugins.hydra_ray_launcher._launcher_util import launch_job_on_ray

        from envs.compression.pool import ray_init

        assert self.config is not None and self.hydra_context is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        init = OmegaConf.to_container(self.ray_cfg.init, resolve=True) or {}
        address = init.pop("address", None)
        started_here = not ray.is_initialized()
        if started_here:
            ray_init(address, **init)
        refs, overrides_of = [], []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = f"job_id_for_{idx}"
                sweep_config.hydra.job.num = idx
            refs.append(
                launch_job_on_ray(
                    self.hydra_context,
                    self.ray_cfg.remote,
                    sweep_config,
                    self.task_function,
                    Singleton.get_state(),
                )
            )
            overrides_of.append(list(filter_overrides(overrides)))
        returns, outcomes = [], []
        for k, ref in enumerate(refs):
            num, ovr = initial_job_idx + k, overrides_of[k]
            try:
                ret = ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker died, the node was lost, ...
                returns.append(failed_return(ovr, exc))
                outcomes.append(outcome_of(num, ovr, exc, ref.task_id().hex()))
                continue
            returns.append(ret)
            outcomes.append(outcome_of(num, ovr, ret, ref.task_id().hex()))
        write_sweep_report(sweep_dir, "ray", outcomes)
        if started_here:
            ray.shutdown()
        return returns
