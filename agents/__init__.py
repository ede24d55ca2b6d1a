"""pgsuite learners, the command line (``python -m agents.train``) and the run machinery."""
