"""Torch modules mapping observations to action distributions (imports only ``envs`` below it)."""
