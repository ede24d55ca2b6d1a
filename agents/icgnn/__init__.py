"""ICGNN wireless resource allocation: the unsupervised (-SE) learner and the REINFORCE variant."""
