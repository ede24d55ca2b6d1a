"""Hydra configs of pgs_reinforce (a package, so that ``pkg://pgs_reinforce.conf`` finds them)."""
