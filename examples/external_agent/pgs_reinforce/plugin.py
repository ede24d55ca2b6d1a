"""The ``pgsuite.plugins`` entry point: register the toy env, return the config search path."""

from __future__ import annotations


def pgsuite_plugin() -> str:
    """Called once per process by pgsuite; returns where this package's configs live."""
    from envs import register

    register("byo/PointReach-v0", "pgs_reinforce.point_env:PointReach", max_episode_steps=50)
    return "pkg://pgs_reinforce.conf"
