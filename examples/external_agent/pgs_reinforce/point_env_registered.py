"""Importing this module registers ``byo/PointReach-v0`` (the env yaml's ``id: <this module>:<id>``), so the
env works through ``hydra.searchpath`` alone, without the installed plugin."""

from envs import register

register("byo/PointReach-v0", "pgs_reinforce.point_env:PointReach", max_episode_steps=50)
