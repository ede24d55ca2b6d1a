"""Multi-agent environments (PettingZoo ``ParallelEnv``) for Bayesian-network MARL (docs/bn_marl.md).

Registration only records string entry points; nothing here imports numpy, pettingzoo or mpe2.
"""

from __future__ import annotations

from envs.registration import register_parallel


def register() -> None:
    """Register the family's PettingZoo parallel ids under ``pgsuite/``."""
    register_parallel("Coordination-v0", "envs.marl.coordination:CoordinationGame", max_cycles=25)
    register_parallel("Climbing-v0", "envs.marl.matrix_games:ClimbingGame", max_cycles=1)
    register_parallel("Penalty-v0", "envs.marl.matrix_games:PenaltyGame", max_cycles=1)
    register_parallel("Copy-v0", "envs.marl.matrix_games:CopyGame", max_cycles=1)
    register_parallel("Aloha-v0", "envs.marl.aloha:Aloha", max_cycles=20)
    register_parallel("MPESpread-v0", "envs.marl.mpe:MPESpread", max_cycles=25)
