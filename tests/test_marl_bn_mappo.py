"""BN-MAPPO learner: stored-DAG ratios, sparsity schedule, evaluation extras, state round trip, CLI smoke."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.marl.bn_mappo import BNMAPPO, BNMAPPOConfig, sparsity_schedule
from tests.conftest import ROOT, run_module


def _learner(env_id: str = "pgsuite/Coordination-v0", seed: int = 0, **kw) -> BNMAPPO:
    factory = EnvFactory(EnvConfig(name="t", id=env_id, kind="parallel", num_envs=2))
    cfg = BNMAPPOConfig(**{"n_steps": 5, "ppo_epochs": 2, **kw})
    learner = BNMAPPO(cfg, factory, seed=seed)
    learner.total_steps = 200
    return learner


def test_ratio_uses_the_rollouts_dag() -> None:
    torch.manual_seed(0)
    # edge_prior 0.5: with the dense default every sampled edge can be present, so |open_ratio − 1| = 0
    # and the penalty's gradient is exactly zero; half-open DAGs exercise the path.
    learner = _learner(graph="learned", anneal=True, edge_prior=0.5)
    batch, metrics = learner.collect_rollout()
    assert 0.0 <= metrics["charts/open_ratio"] <= 1.0
    out = learner.evaluate_minibatch(batch)
    # Before any update the re-relaxed stored DAG reproduces the behaviour log-probs: every ratio is 1.
    torch.testing.assert_close(out["log_prob"], batch["old_log_prob"], atol=1e-5, rtol=0)
    out["aux_loss"].backward()  # the sparsity penalty reaches the DAG generator
    assert learner.policy.dag.edge_net[0].weight.grad.abs().sum() > 0


def test_sparsity_schedule_threshold_and_alpha() -> None:
    e = 1000
    assert sparsity_schedule(0, e, 0.1, 1.0) == (1.0, 0.1)
    assert sparsity_schedule(399, e, 0.1, 1.0)[0] == 1.0
    thresholds = [sparsity_schedule(u, e, 0.1, 1.0)[0] for u in range(e)]
    assert all(a >= b for a, b in itertools.pairwise(thresholds))  # non-increasing
    assert 0.0 < sparsity_schedule(550, e, 0.1, 1.0)[0] < 1.0
    assert sparsity_schedule(710, e, 0.1, 1.0)[0] == 0.0  # reaches 0 at ~70 % of training
    assert sparsity_schedule(699, e, 0.1, 1.0)[1] == 0.1
    assert sparsity_schedule(999, e, 0.1, 1.0)[1] == 1.0  # α ramped to its cap


@pytest.mark.parametrize("env_id", ["pgsuite/Coordination-v0", "pgsuite/Climbing-v0"])
def test_evaluate_runs_pettingzoo_episodes_with_exact_extras(env_id: str) -> None:
    torch.manual_seed(0)
    learner = _learner(env_id, graph="full", n_steps=1 if "Climbing" in env_id else 5)
    episodes = learner.evaluate(2, seed=123)
    assert len(episodes) == 2
    for ep in episodes:
        assert {"return", "length", "open_ratio", "return_decentralized", "j_over_jstar", "optimal"} <= set(
            ep
        )
        assert ep["j_over_jstar"] <= 1.0 + 1e-9  # may be negative: climbing pays −30 for miscoordination
        assert ep["open_ratio"] == 1.0
    assert episodes == learner.evaluate(2, seed=123)  # deterministic evaluation


def test_state_dict_round_trip_resumes_exactly() -> None:
    torch.manual_seed(0)
    a = _learner(graph="learned", anneal=True)
    list(a.train_until(20))
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    rng = torch.get_rng_state()
    a.on_segment_end(0)
    rest_a = list(a.train_until(40))

    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # the runtime's checkpoint loading
    torch.manual_seed(123)
    b = _learner(graph="learned", anneal=True, seed=0)
    b.load_state_dict(state)
    torch.set_rng_state(rng)
    b.on_segment_end(0)
    rest_b = list(b.train_until(40))
    assert rest_a == rest_b and a.num_steps == b.num_steps == 40
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(pa, pb)


@pytest.mark.skipif(not (ROOT / "agents" / "train.py").exists(), reason="the CLI is not built yet")
@pytest.mark.parametrize(
    ("env", "extra"),
    [
        ("marl-coordination", ["graph=learned"]),
        ("marl-aloha", ["graph=learned", "anneal=true"]),
        pytest.param("marl-climbing", ["graph=empty"], marks=pytest.mark.slow),
        pytest.param("marl-penalty", ["graph=full"], marks=pytest.mark.slow),
        pytest.param("mpe-spread", ["graph=full"], marks=pytest.mark.slow),
    ],
)
def test_cli_smoke(env: str, extra: list[str], tmp_path: Path) -> None:
    args = ["agents.train", f"env={env}", "agent=bn-mappo", "budget=smoke", f"run.root={tmp_path}", "seed=0"]
    run_module(*args, "run.progress=false", *extra, timeout=120)
    (run_dir,) = [p.parent for p in tmp_path.rglob("summary.json")]
    episodes = [json.loads(line) for line in (run_dir / "eval.jsonl").read_text().splitlines()]
    assert episodes and all(
        {"return", "length", "open_ratio", "return_decentralized"} <= set(e) for e in episodes
    )
    if env in ("marl-coordination", "marl-climbing", "marl-penalty"):
        assert all("j_over_jstar" in e for e in episodes)
    assert (run_dir / "checkpoints" / "last" / "state.pt").exists()
