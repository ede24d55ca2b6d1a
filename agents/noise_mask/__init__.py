"""Policy-gradient noise mask: mask-policy pretraining, heated-classifier fine-tune, report."""
