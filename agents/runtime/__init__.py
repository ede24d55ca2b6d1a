"""Run machinery shared by every learner: run directory, logger, progress, checkpoints, evaluation,
the segment loop."""
