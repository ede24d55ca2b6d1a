"""The N2N reward (paper Sec. 3.4) and the annealed constraint penalty of the official code.

R = R_c · R_a with R_c = C(2 − C), C = 1 − #params(student)/#params(teacher), and R_a = A/A_teacher
(validation accuracies). Degenerate students (forward fails, ≥ the parent's parameters) get R = −1.
"""

from __future__ import annotations

#: Reward of a degenerate student (official ``rl.py::rollout_batch``).
DEGENERATE_REWARD = -1.0


def compression_reward(params_student: int, params_teacher: int) -> float:
    """R_c = C(2 − C) with C = 1 − params_student/params_teacher (non-linear on purpose, Sec. 3.4)."""
    c = 1.0 - params_student / params_teacher
    return c * (2.0 - c)


def n2n_reward(params_student: int, params_teacher: int, acc_student: float, acc_teacher: float) -> float:
    """R = C(2 − C) · A_student / A_teacher."""
    if params_teacher <= 0 or acc_teacher <= 0:
        raise ValueError(f"teacher params and accuracy must be positive, got {params_teacher}, {acc_teacher}")
    return compression_reward(params_student, params_teacher) * (acc_student / acc_teacher)


def anneal_epsilon(iteration: int, anneal_iterations: int = 15) -> float:
    """ε(e) = clip((1 − e/E)^4, 0, 1), E = 15 in the official ``getConstrainedReward``."""
    if anneal_iterations <= 0:
        return 0.0
    return min(max((1.0 - iteration / anneal_iterations), 0.0), 1.0) ** 4


def constrained_reward(reward: float, violated: bool, iteration: int, anneal_iterations: int = 15) -> float:
    """If a size/accuracy constraint is violated, R ← (ε − 1) + ε·R: the plain reward at iteration 0,
    annealed to a hard −1 from iteration ``anneal_iterations`` on (Ashok et al. 2018, Sec. 3.4 constraints;
    ε(e) as in github.com/anubhavashok/N2N at 544f5dd, ``rl.py``)."""
    if not violated:
        return reward
    eps = anneal_epsilon(iteration, anneal_iterations)
    return (eps - 1.0) + eps * reward
