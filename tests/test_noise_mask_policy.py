"""Beta-mask policy, the joint REINFORCE step (both objectives) and weight averaging."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from agents.core.reinforce import RunningMeanBaseline
from agents.noise_mask.phases import WeightAverager, few_shot_indices, joint_step
from envs.noise_mask.env import NoiseMaskEnv
from policies.beta_mask import BetaMaskPolicy


@pytest.fixture(scope="module")
def env():
    return NoiseMaskEnv(image_size=16, grid=4, batch_size=8)


def test_mixing_and_base_ema_follow_the_paper():
    torch.manual_seed(0)
    policy = BetaMaskPolicy(1, grid=3, width=4, hidden=8)
    obs = torch.randint(0, 256, (5, 1, 12, 12), dtype=torch.uint8)
    base_a, base_b = policy.base_log_alpha.clone(), policy.base_log_beta.clone()
    assert base_a.shape == (1, 9) and 0 <= base_a.min() and base_a.max() <= 1  # U(0, 1) initialisation
    h = policy.features(policy.preprocess(obs))
    head_a, head_b = policy.alpha_head(h), policy.beta_head(h)  # (BN in train mode: same batch, same values)
    log_a, log_b = policy(obs)
    torch.testing.assert_close(log_a, 0.9 * base_a + 0.1 * head_a)
    torch.testing.assert_close(log_b, 0.9 * base_b + 0.1 * head_b)
    torch.testing.assert_close(
        policy.base_log_alpha, 0.99 * base_a + 0.01 * head_a.mean(0, keepdim=True).detach()
    )
    torch.testing.assert_close(
        policy.base_log_beta, 0.99 * base_b + 0.01 * head_b.mean(0, keepdim=True).detach()
    )
    policy.eval()
    frozen = policy.base_log_alpha.clone()
    dist = policy.distribution(obs[:1])
    assert torch.equal(policy.base_log_alpha, frozen)  # no EMA update at evaluation
    assert dist.batch_shape == (1, 9) and "base_log_alpha" in policy.state_dict()
    sample = policy.base_distribution().sample((4,))
    assert sample.shape == (4, 1, 9) and 0 <= sample.min() and sample.max() <= 1


def test_beta_log_prob_gradients_reach_every_policy_parameter(env):
    torch.manual_seed(1)
    policy = BetaMaskPolicy(env.channels, env.grid, width=4, hidden=8)
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.0)  # lr 0: keep weights, inspect gradients
    obs, labels, _ = env.next_batch(8)
    for objective in ("reinforce", "paper"):
        metrics = joint_step(env, policy, optimizer, RunningMeanBaseline(0.9), obs, labels, objective)
        assert 0.0 <= metrics["mask_mean"] <= 1.0 and metrics["classifier_ce"] > 0
        for name, p in policy.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{objective}: no gradient reaches {name}"
        assert not policy.base_log_alpha.requires_grad


def test_paper_objective_split_matches_the_original_single_backward(env):
    """Classifier step with loss_scale = mean LSE plus reinforce_loss(LSE, −CE) == ∇[mean_b LSE_b × CE]
    (official train_one_epoch.py)."""
    torch.manual_seed(2)
    policy = BetaMaskPolicy(env.channels, env.grid, width=4, hidden=8)
    obs, labels, _ = env.next_batch(8)
    model0 = copy.deepcopy(env.trainer.model)
    policy0 = copy.deepcopy(policy)
    state = torch.get_rng_state()
    # the original: one loss, one backward through both networks
    dist = policy0.distribution(obs)
    masks = dist.sample()
    lse = torch.logsumexp(policy0.cell_log_prob(dist, masks), dim=1)
    model0.train()
    ce = F.cross_entropy(model0(env.masked_inputs(obs, policy0.as_grid(masks))), labels)
    (lse.mean() * ce).backward()
    # ours: the split update, learning rates 0 so we can read the gradients
    for g in env.trainer.optimizer.param_groups:
        g["lr"], g["momentum"], g["weight_decay"] = 0.0, 0.0, 0.0
    torch.set_rng_state(state)
    joint_step(
        env, policy, torch.optim.SGD(policy.parameters(), lr=0.0), RunningMeanBaseline(), obs, labels, "paper"
    )
    for (name, a), b in zip(policy0.named_parameters(), policy.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, msg=f"policy {name}")
    for (name, a), b in zip(model0.named_parameters(), env.trainer.model.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, msg=f"classifier {name}")


def test_weight_averaging_is_the_mean_of_the_snapshots():
    snaps = [
        {"w": torch.full((2, 2), float(i)), "bn.num_batches_tracked": torch.tensor(10 * i)} for i in (1, 2, 6)
    ]
    avg = WeightAverager()
    for s in snaps:
        avg.add(s)
    out = avg.average()
    torch.testing.assert_close(out["w"], torch.full((2, 2), 3.0))
    assert out["w"].dtype == torch.float32 and int(out["bn.num_batches_tracked"]) == 60
    restored = WeightAverager()
    restored.load_state_dict(avg.state_dict())
    torch.testing.assert_close(restored.average()["w"], out["w"])
    with pytest.raises(RuntimeError):
        WeightAverager().average()


def test_few_shot_indices_take_k_per_class():
    labels = torch.tensor([0, 1, 0, 1, 0, 2, 2, 0, 1])
    idx = few_shot_indices(labels, 2, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [2, 2, 2]
    assert torch.equal(idx, few_shot_indices(labels, 2, seed=0))


def test_paper_budget_matches_docs_table() -> None:
    """Issue 19 item 7: ``budget=paper`` composes every setting the docs' table lists for it."""
    import re
    from pathlib import Path

    import yaml
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from agents.core.config import compose_run_config
    from envs.noise_mask.pipeline import scaled_blur, scaled_grid

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "noise_mask.md").read_text()
    section = doc.split("## `budget=paper`", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line.split("|")[2]]
    assert len(rows) >= 12
    for env_name in ("noise-mask", "noise-mask-digits"):
        overrides = [f"env={env_name}", "agent=noise-mask", "budget=paper"]
        with initialize_config_dir(config_dir=str(root / "agents" / "conf"), version_base="1.3"):
            cfg = compose_run_config(compose(config_name="config", overrides=overrides), overrides)
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            keys = re.findall(r"`([^`]+)`", cells[1])
            values = re.findall(r"`([^`]+)`", cells[3])
            prefix = keys[0].rsplit(".", 1)[0]
            keys = [k if "." in k else f"{prefix}.{k}" for k in keys]
            if len(values) == 1 and len(keys) > 1:
                values = values * len(keys)
            assert len(keys) == len(values), row
            for key, value in zip(keys, values, strict=True):
                composed = OmegaConf.select(cfg, key)
                assert composed == yaml.safe_load(value), (
                    f"{env_name}: {key} = {composed!r}, docs say {value}"
                )
        size = cfg.env.kwargs.image_size
        assert scaled_grid(size) == 64 and scaled_blur(size) == (13, 6.0)


def test_resnet10t_policy_backbone() -> None:
    """The paper's policy: timm resnet10t features (4.9M parameters, 512-d) under 512-wide heads."""
    torch.manual_seed(0)
    policy = BetaMaskPolicy(3, grid=4, hidden=512, backbone="resnet10t")
    assert sum(p.numel() for p in policy.features.parameters()) == 4_922_488
    log_alpha, log_beta = policy(torch.zeros(2, 3, 64, 64, dtype=torch.uint8))
    assert log_alpha.shape == log_beta.shape == (2, 16)
    with pytest.raises(ValueError, match="backbone"):
        BetaMaskPolicy(3, grid=4, backbone="resnet50")
