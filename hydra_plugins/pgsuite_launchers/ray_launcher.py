"""``hydra/launcher=ray`` (needs ``pip install -e '.[ray]'``); see :mod:`agents.runtime.launchers`."""

try:
    from agents.runtime.launchers.ray_launcher import RayLauncher as _RayLauncher
except ImportError:  # hydra-ray-launcher is not installed: nothing to register
    _RayLauncher = None

if _RayLauncher is not None:

    class PgsuiteRayLauncher(_RayLauncher):
        """Ray jobs that always finish the sweep and write ``sweep.json``/``sweep.md``."""
