"""pgsuite's Hydra launchers (Hydra finds launchers only in the ``hydra_plugins`` namespace package).

Thin registrations of :mod:`agents.runtime.launchers`; a module whose engine plugin is not installed
registers nothing. Configs: ``agents/conf/hydra/launcher/{ray,slurm,submitit_local}.yaml``.
"""
