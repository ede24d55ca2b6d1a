"""``hydra/launcher=slurm`` and ``hydra/launcher=submitit`` (need hydra-submitit-launcher); see
:mod:`agents.runtime.launchers`."""

try:
    from agents.runtime.launchers import submitit_launcher as _impl
except ImportError:  # hydra-submitit-launcher is not installed: nothing to register
    _impl = None

if _impl is not None:

    class PgsuiteSlurmLauncher(_impl.SlurmLauncher):
        """SLURM jobs that always finish the sweep and write ``sweep.json``/``sweep.md``."""

    class PgsuiteSubmititLocalLauncher(_impl.LocalLauncher):
        """Local submitit jobs that always finish the sweep and write ``sweep.json``/``sweep.md``."""
