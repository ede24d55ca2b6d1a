"""Wireless resource allocation (ICGNN, issue 4): interference channel, cell-free and MU-MIMO envs.

Registration only records string entry points; torch and the simulators load on ``gym.make``.
"""

from __future__ import annotations

from envs.registration import register_gym


def register() -> None:
    """Register ``pgsuite/WirelessIC-v0``, ``pgsuite/WirelessCellFree-v0`` and ``pgsuite/WirelessMIMO-v0``."""
    register_gym("WirelessIC-v0", "envs.wireless.env:WirelessICEnv")
    register_gym("WirelessCellFree-v0", "envs.wireless.env:WirelessCellFreeEnv")
    register_gym("WirelessMIMO-v0", "envs.wireless.env:WirelessMIMOEnv")
