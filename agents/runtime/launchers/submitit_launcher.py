"""``hydra/launcher=slurm`` and ``hydra/launcher=submitit``: hydra-submitit-launcher's launchers
that collect every job (a failed one does not stop the collection) and write the sweep report.

Without SLURM accounting (``sacct`` disabled, as on a single-node SLURM), submitit cannot learn that a
job died without a result; here a job that has left ``squeue`` for three polls without a result is
reported failed instead of being waited for forever.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra_plugins.hydra_submitit_launcher import submitit_launcher as plugin
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import OmegaConf

from agents.runtime.launchers import (
    ExitAsError,
    JobOutcome,
    failed_return,
    first_line,
    outcome_of,
    write_sweep_report,
)

log = logging.getLogger(__name__)

POLL_S = 2.0
GONE_POLLS = 3  # polls a job may be missing from squeue without a result before it counts as failed


class _Reporting(plugin.BaseSubmititLauncher):
    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        super().setup(hydra_context=hydra_context, task_function=ExitAsError(task_function), config=config)

    def _executor(self) -> Any:
        """The plugin's executor set-up (hydra-submitit-launcher 1.2.0, ``launch``)."""
        import submitit

        init_keys = {"max_num_timeout"}
        init = {f"{self._EXECUTOR}_{k}": v for k, v in self.params.items() if k in init_keys}
        executor = submitit.AutoExecutor(
            cluster=self._EXECUTOR, folder=self.params["submitit_folder"], **init
        )
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                k if k in base else f"{self._EXECUTOR}_{k}": v
                for k, v in self.params.items()
                if k not in init_keys | {"submitit_folder"}
            }
        )
        return executor

    def launch(self, job_overrides: Any, initial_job_idx: int) -> list[JobReturn]:
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        executor = self._executor()
        params, overrides_of = [], []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            params.append(
                (list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state())
            )
            overrides_of.append(list(filter_overrides(overrides)))
        jobs = executor.map_array(self, *zip(*params, strict=True))
        gone = self._wait(jobs)
        returns, outcomes = [], []
        for k, job in enumerate(jobs):
            num, ovr = initial_job_idx + k, overrides_of[k]
            if k in gone:
                err: BaseException = RuntimeError(gone[k])
                returns.append(failed_return(ovr, err))
                outcomes.append(JobOutcome(num, ovr, "failed", gone[k], None, str(job.job_id)))
                continue
            try:
                ret = job.results()[0]
            except Exception as exc:  # submitit's FailedJobError / UncompletedJobError
                returns.append(failed_return(ovr, exc))
                outcomes.append(JobOutcome(num, ovr, "failed", first_line(str(exc)), None, str(job.job_id)))
                continue
            returns.append(ret)
            outcomes.append(outcome_of(num, ovr, ret, str(job.job_id)))
        write_sweep_report(sweep_dir, f"submitit/{self._EXECUTOR}", outcomes)
        return returns

    def _wait(self, jobs: list[Any]) -> dict[int, str]:
        """Wait for every job; returns {index: cause} of SLURM jobs that vanished without a result."""
        pending, missing, gone = set(range(len(jobs))), dict.fromkeys(range(len(jobs)), 0), {}
        while pending:
            queued = _squeue_ids() if self._EXECUTOR == "slurm" else None
            for k in sorted(pending):
                job = jobs[k]
                if job.done():
                    pending.discard(k)
                elif queued is not None and str(job.job_id) not in queued:
                    missing[k] += 1
                    if missing[k] >= GONE_POLLS:
                        tail = first_line(job.stderr() or "") if job.paths.stderr.exists() else ""
                        gone[k] = (
                            "left the SLURM queue without a result (killed, out of memory or past its time "
                        )
                        gone[k] += f"limit?){': ' + tail if tail else ''}"
                        pending.discard(k)
            if pending:
                time.sleep(POLL_S)
        return gone


def _squeue_ids() -> set[str] | None:
    """Ids of this user's queued or running SLURM jobs (array tasks as ``<job>_<task>``); None on error."""
    try:
        out = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%i", "-u", str(os.getuid())],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {line.strip() for line in out.splitlines() if line.strip()}


class SlurmLauncher(_Reporting, plugin.SlurmLauncher):
    """Jobs on SLURM (``hydra/launcher=slurm``); see the module docstring."""


class LocalLauncher(_Reporting, plugin.LocalLauncher):
    """Jobs as local processes through submitit (``hydra/launcher=submitit``)."""
