"""The N2N learner end to end on a tiny configuration: updates, resume exactness, transfer, finish."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.n2n.learner import N2NConfig, N2NLearner
from agents.runtime.checkpoint import load_checkpoint, save_checkpoint
from benchmarks.n2n_settings import TINY
from envs.compression import load_student


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> EnvFactory:
    kwargs = {**TINY, "cache_dir": str(tmp_path_factory.mktemp("teachers"))}
    return EnvFactory(EnvConfig(name="n2n-resnet18", id="pgsuite/N2NRemoval-ResNet18-v0", kwargs=kwargs))


def _learner(factory: EnvFactory, **overrides) -> N2NLearner:
    cfg = N2NConfig(
        **{
            "stage1_iterations": 2,
            "stage2_iterations": 2,
            "rollouts": 2,
            "workers": 0,
            "finetune_epochs": 1,
            "finetune_top_k": 2,
            **overrides,
        }
    )
    learner = N2NLearner(cfg, factory, seed=0)
    learner.total_steps = 8
    return learner


def _run(learner: N2NLearner, step: int) -> list[dict]:
    return list(learner.train_until(step))


def test_every_policy_parameter_gets_a_gradient(factory: EnvFactory) -> None:
    learner = _learner(factory)
    _run(learner, 2)  # one stage-1 update
    assert all(p.grad is not None for p in learner.removal_policy.parameters())
    _run(learner, 6)  # stage 2 starts at iteration 2
    assert learner.stage == 2
    # the official code left the LSTMCells out of the optimizer; here all of them are updated
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in learner.shrink_policy.cells.parameters()
    )
    learner.close()


def test_state_dict_round_trip_resumes_identically(factory: EnvFactory) -> None:
    torch.manual_seed(0)
    a = _learner(factory)
    _run(a, 4)
    state = copy.deepcopy(a.state_dict())
    rng = torch.get_rng_state()
    rest_a = _run(a, 8)

    torch.manual_seed(123)  # a fresh learner, then restore the checkpoint and the RNG
    b = _learner(factory)
    buf = Path(factory.cfg.kwargs["cache_dir"]) / "resume"
    save_checkpoint(buf, {"learner": state})
    b.load_state_dict(load_checkpoint(buf)[0]["learner"])
    torch.set_rng_state(rng)
    rest_b = _run(b, 8)
    assert [m["train/reward_mean"] for m in rest_a] == [m["train/reward_mean"] for m in rest_b]
    for (k, v), (_, w) in zip(
        a.state_dict()["shrink_policy"].items(), b.state_dict()["shrink_policy"].items(), strict=True
    ):
        assert torch.equal(v, w), k
    assert a.num_steps == b.num_steps == 8

    # policy transfer from b's checkpoint
    ckpt = save_checkpoint(buf.parent / "ckpt", {"learner": b.state_dict()})
    c = _learner(factory, init_from=str(ckpt))
    assert torch.equal(next(c.removal_policy.parameters()), next(b.removal_policy.parameters()))
    with pytest.raises(FileNotFoundError):
        _learner(factory, init_from=str(buf.parent / "missing"))

    # finish: table, JSON fields, reloadable best student
    out = b.finish()
    assert "| **final student**" in out["markdown"]
    assert out["teacher_params"] > out["student_params"] and out["students_evaluated"] >= 1
    assert out["compression"] == pytest.approx(out["teacher_params"] / out["student_params"])
    # the best unconstrained student of the run is reported next to the final one (issue 19)
    assert out["unconstrained_params"] == b.unconstrained.params and 0 <= out["unconstrained_test_acc"] <= 1
    assert "best unconstrained student" in out["markdown"]
    from safetensors.torch import save_file

    path = buf.parent / "best_student.safetensors"
    save_file(out["artifacts"]["best_student"], str(path))
    model = load_student(path)
    assert sum(p.numel() for p in model.parameters()) == out["student_params"]
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    for learner in (a, b, c):
        learner.close()


def test_act_and_evaluate(factory: EnvFactory) -> None:
    learner = _learner(factory)
    env = factory.make(seed=0)
    obs, _ = env.reset(seed=0)
    action = learner.act(obs)
    assert env.action_space.contains(action)
    assert action[learner.removal_env.fixed_mask].all()
    episodes = learner.evaluate(2, seed=0)
    assert len(episodes) == 2 and episodes[0]["length"] == 1 and np.isfinite(episodes[0]["return"])
    with pytest.raises(ValueError, match="advantage"):
        _learner(factory, advantage="bogus")
    learner.close()


def test_same_seed_same_search(factory: EnvFactory) -> None:
    """Reproducibility: the same root seed gives the same rollouts and rewards (students, KD, policies)."""
    curves = []
    for _ in range(2):
        torch.manual_seed(0)
        learner = _learner(factory)
        learner.core.cache.clear()  # the process-wide reward cache would hide a non-deterministic student
        trained = learner.core.students_trained
        curves.append([(m["train/reward_mean"], m["train/best_reward"]) for m in _run(learner, 4)])
        assert learner.core.students_trained > trained
        learner.close()
    assert curves[0] == curves[1] and len(curves[0]) == 2
