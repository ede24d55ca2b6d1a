"""Run machinery shared by every learner: run directory, logger, progress, checkpoints, seeding, eval."""
