"""Visual control: DrQ-v2 (Yarats et al. 2022) and MENTOR (Huang et al. 2025) with its perturbation."""
