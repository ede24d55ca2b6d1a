"""MENTOR learner: perturbation math, the top-k buffer, exact state_dict round trip, CLI smoke runs."""

from __future__ import annotations

import io
import json

import pytest
import torch
from conftest import only_run_dir
from omegaconf import OmegaConf
from torch import nn

from agents.core.config import CONF_DIR
from agents.core.env_factory import EnvConfig, EnvFactory
from agents.visual.mentor import Mentor, MentorConfig
from agents.visual.perturb import TopKBuffer, interpolate_, perturb_factor, task_target

TINY = dict(
    replay_capacity=2000,
    batch_size=8,
    hidden_dim=32,
    feature_dim=16,
    num_experts=4,
    top_k=2,
    moe_hidden_dim=8,
    moe_gate_dim=8,
    num_seed_steps=10,
    num_expl_steps=10,
    log_every=10,
)
TINY_CLI = [f"agent.{k}={v}" for k, v in TINY.items()]
#: MENTOR's Meta-World agent settings, as the env yaml's preset gives them (no env-id sniffing).
MW_PRESET = {
    k: v
    for k, v in OmegaConf.to_container(
        OmegaConf.load(CONF_DIR / "env" / "metaworld-reach.yaml").agent_presets.mentor
    ).items()
    if k not in ("env", "obs")
}


def test_perturb_factor_and_interpolation_math() -> None:
    assert perturb_factor(0.1, 2.0, 0.2, 0.95) == pytest.approx(0.8)
    assert perturb_factor(0.0, 2.0, 0.2, 0.95) == 0.95  # clipped at α_max
    assert perturb_factor(0.7, 2.0, 0.2, 0.95) == 0.2  # clipped at α_min
    net = nn.Linear(3, 2)
    theta = {k: v.detach().clone() for k, v in net.named_parameters()}
    phi = {k: torch.randn_like(v) for k, v in theta.items()}
    interpolate_(net, phi, 0.3)
    for k, p in net.named_parameters():
        torch.testing.assert_close(p.detach(), 0.3 * theta[k] + 0.7 * phi[k])


def test_top_k_buffer_ordering_capacity_and_gaussian() -> None:
    buf, net = TopKBuffer(3), nn.Linear(2, 2)
    for ret in (5.0, 1.0, 9.0, 3.0, 0.5, 7.0):
        with torch.no_grad():
            net.weight.fill_(ret)
        buf.add(ret, {"actor": net})
    assert buf.returns == [9.0, 7.0, 5.0]  # best first, capacity 3, low returns evicted / rejected
    assert not buf.qualifies(5.0) and buf.qualifies(5.5)
    mean, std = buf.stats("actor")["weight"]
    torch.testing.assert_close(mean, torch.full((2, 2), 7.0))
    torch.testing.assert_close(
        std, torch.full((2, 2), torch.tensor([9.0, 7.0, 5.0]).std(unbiased=False).item())
    )
    torch.manual_seed(0)
    samples = torch.stack([task_target(buf.stats("actor"))["weight"] for _ in range(2000)])
    assert abs(samples.mean() - 7.0) < 0.1 and abs(samples.std() - std[0, 0]) < 0.1


def _learner(**over) -> Mentor:
    factory = EnvFactory(
        EnvConfig(name="mw", id="pgsuite/MetaWorld-reach-v0", kwargs={"obs": "state", "horizon": 20})
    )
    return Mentor(MentorConfig(**{**TINY, **MW_PRESET, "perturb_interval": 5, **over}), factory, seed=0)


def test_task_perturbation_moves_moe_layers_toward_top_k_gaussian() -> None:
    torch.manual_seed(0)
    learner = _learner(perturb_interval=10**9)
    list(learner.train_until(40))  # 4 episodes of 10 steps enter S_top
    assert len(learner.topk) == 4 and learner.dormant_ratio < 1.0
    before = {k: v.detach().clone() for k, v in learner.actor.named_parameters()}
    torch.manual_seed(1)
    stats = learner.topk.stats("actor")
    phi = task_target(stats)
    torch.manual_seed(1)
    metrics = learner.perturb()
    alpha = metrics["charts/perturb_alpha"]
    assert metrics["charts/perturb_task_target"] == 1.0 and 0.2 <= alpha <= 0.95
    params = dict(learner.actor.named_parameters())
    for name in ("hidden.experts.0.0.weight", "hidden.gate.3.weight", "policy_in.weight"):
        torch.testing.assert_close(params[name].detach(), alpha * before[name] + (1 - alpha) * phi[name])
    torch.testing.assert_close(params["trunk.1.weight"], before["trunk.1.weight"])  # LayerNorm untouched
    assert len(learner.actor_opt.state) == 0 and len(learner.critic_opt.state) == 0  # Adam reset
    learner.close()


def test_random_perturbation_after_updates_moves_toward_a_fresh_init() -> None:
    """perturb=random (DrM) on the MoE actor after real updates (deep-copying it used to crash)."""
    torch.manual_seed(0)
    learner = _learner(perturb="random", perturb_interval=5)  # inside update(), right after the actor step
    list(learner.train_until(40))
    assert learner.num_perturbations > 0
    before = {k: v.detach().clone() for k, v in learner.actor.named_parameters()}
    metrics = learner.perturb()
    assert metrics["charts/perturb_task_target"] == 0.0 and metrics["charts/perturb_alpha"] < 1.0
    after = dict(learner.actor.named_parameters())
    for name in ("hidden.experts.0.0.weight", "hidden.gate.3.weight", "policy_in.weight"):
        assert not torch.equal(after[name].detach(), before[name]), name
    torch.testing.assert_close(after["trunk.1.weight"], before["trunk.1.weight"])  # LayerNorm untouched
    learner.close()


def test_metaworld_critic_has_dropout_and_layernorm_and_perturbs_linears_only() -> None:
    """MENTOR's ``agents/mentor_mw.py`` critic: Dropout(0.01)+LayerNorm after each hidden Linear on
    Meta-World only."""
    torch.manual_seed(0)
    learner = _learner(perturb_interval=10**9)
    kinds = [type(m) for m in learner.critic.Q1]
    assert kinds == [nn.Linear, nn.Dropout, nn.LayerNorm, nn.ReLU] * 2 + [nn.Linear]
    assert learner.critic.Q1[1].p == 0.01 and learner.critic_target.Q1[1].p == 0.01
    list(learner.train_until(40))
    before = {k: v.detach().clone() for k, v in learner.critic.named_parameters()}
    alpha = learner.perturb()["charts/perturb_alpha"]
    after = dict(learner.critic.named_parameters())
    assert alpha < 1.0 and not torch.equal(after["Q1.0.weight"], before["Q1.0.weight"])
    torch.testing.assert_close(after["Q1.2.weight"], before["Q1.2.weight"])  # hidden LayerNorm untouched
    learner.close()
    plain = _learner(critic_dropout=0.0)
    assert [type(m) for m in plain.critic.Q1] == [nn.Linear, nn.ReLU] * 2 + [nn.Linear]
    plain.close()


def test_state_dict_round_trip_gives_identical_updates() -> None:
    torch.manual_seed(0)
    a = _learner()
    list(a.train_until(40))
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # the runtime's loader: plain containers only
    b = _learner()
    b.load_state_dict(state)
    b.load_arrays(a.arrays())
    assert b.topk.returns == a.topk.returns and a.num_perturbations > 0
    for learner in (a, b):
        torch.manual_seed(123)
        for _ in range(5):  # crosses a perturbation (interval 5)
            learner.update()
    for (name, pa), pb in zip(a.actor.state_dict().items(), b.actor.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, msg=name)
    torch.testing.assert_close(a.critic.Q1[0].weight, b.critic.Q1[0].weight)
    torch.testing.assert_close(a.critic.Q1[2].weight, b.critic.Q1[2].weight)
    a.close(), b.close()


@pytest.mark.mujoco
@pytest.mark.parametrize("obs", ["pixels", "state"])
def test_cli_smoke(train_cli, tmp_path, obs: str) -> None:
    train_cli(
        "env=metaworld-reach",
        "agent=mentor",
        "budget=smoke",
        f"obs={obs}",
        f"run.root={tmp_path}",
        "seed=0",
        "run.progress=false",
        "env.kwargs.fast_render=true",
        "agent.perturb_interval=5",
        *TINY_CLI,
    )
    run = only_run_dir(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["num_updates"] > 0 and summary["num_perturbations"] > 0 and len(summary["expert_usage"]) == 4
    )
    assert (run / "checkpoints" / "last" / "state.pt").exists()


@pytest.mark.mujoco
def test_adroit_preset_one_frame_and_fused_proprio(train_cli, tmp_path) -> None:
    """MENTOR on Adroit as the paper ran it: pixels+state, frame stack 1, the 24-d state through its own
    MLP."""
    train_cli(
        "env=adroit-door",
        "agent=mentor",
        "budget=smoke",
        f"run.root={tmp_path}",
        "seed=0",
        "run.progress=false",
        "env.kwargs.fast_render=true",
        *TINY_CLI,
    )
    run = only_run_dir(tmp_path)
    state = torch.load(run / "checkpoints" / "last" / "state.pt", weights_only=True)["learner"]
    actor = state["actor"]
    assert actor["trunk.0.weight"].shape[1] == 32 * 35 * 35  # conv features of ONE 3×84×84 frame
    assert actor["trunk.proprio.0.weight"].shape == (16, 24)  # hand proprioception → feature_dim
    assert "trunk.proprio.0.weight" in state["critic"] and "trunk.proprio.0.weight" in state["value"]
