"""pgsuite's Hydra configs (a package so that ``pkg://agents.conf`` and the console scripts find them)."""
