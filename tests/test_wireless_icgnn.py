"""ICGNN policy and learners: permutation equivariance, padding, state round trip, CLI smoke (issue 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.icgnn_pg import PolicyGradientConfig, PolicyGradientICGNN
from agents.runtime.env_factory import EnvConfig, EnvFactory
from agents.unsupervised import UnsupervisedConfig, UnsupervisedICGNN, graph_inputs
from envs.wireless.cellfree import CellFree
from policies.icgnn import ICGNN

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def _graph(seed=0, b=3, t=6, u=4, f=3):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, t, u, f, generator=g),
        (torch.rand(b, t, u, generator=g) > 0.5).float(),
        torch.ones(b, t),
        torch.ones(b, u),
    )


def test_permuting_links_permutes_outputs():
    torch.manual_seed(0)
    model = ICGNN(3, 2, hidden=16, layers=3)
    links, serving, tx, us = _graph()
    out = model(links, serving, tx, us)
    pt, pu = torch.randperm(6), torch.randperm(4)
    out_perm = model(links[:, pt][:, :, pu], serving[:, pt][:, :, pu], tx, us)
    torch.testing.assert_close(out[:, pt][:, :, pu], out_perm, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_real_outputs():
    torch.manual_seed(0)
    model = ICGNN(3, 1, hidden=16, layers=2)
    links, serving, tx, us = _graph()
    pad = torch.nn.functional.pad
    tx2, us2 = pad(tx, (0, 3)), pad(us, (0, 2))
    out = model(
        pad(links, (0, 0, 0, 2, 0, 3), value=5.0), pad(serving, (0, 2, 0, 3), value=1.0), tx2, us2
    ).detach()
    torch.testing.assert_close(out[:, :6, :4], model(links, serving, tx, us), atol=1e-6, rtol=1e-6)
    assert float(out[:, 6:].abs().max()) == 0.0 and float(out[:, :, 4:].abs().max()) == 0.0


def test_variable_size_batch_equals_per_network_outputs():
    torch.manual_seed(0)
    sc = CellFree((4, 9), (2, 7), (1, 3))
    net = sc.sample(np.random.default_rng(0), 5)
    model = ICGNN(sc.num_features, 1, hidden=16, layers=2)
    out = model(*graph_inputs(sc, net))
    for i in range(5):
        t, u = int(net.tx_mask[i].sum()), int(net.user_mask[i].sum())
        one = net[i : i + 1]
        links, serving, tx, us = graph_inputs(sc, one)
        single = model(links[:, :t, :u], serving[:, :t, :u], tx[:, :t], us[:, :u])
        torch.testing.assert_close(out[i : i + 1, :t, :u], single, atol=1e-5, rtol=1e-5)


def _factory(env_id, **kwargs):
    return EnvFactory(EnvConfig(name="t", id=env_id, kwargs=kwargs))


@pytest.mark.parametrize(
    ("cls", "cfg", "env_id", "kwargs"),
    [
        (
            UnsupervisedICGNN,
            UnsupervisedConfig,
            "pgsuite/WirelessMIMO-v0",
            {"num_antennas": [3, 5], "num_users": [2, 4]},
        ),
        (
            PolicyGradientICGNN,
            PolicyGradientConfig,
            "pgsuite/WirelessCellFree-v0",
            {"num_aps": [4, 6], "num_users": [2, 4]},
        ),
    ],
)
def test_learner_trains_and_state_dict_round_trip(cls, cfg, env_id, kwargs, tmp_path):
    config = cfg(hidden=16, layers=2, batch_size=8, wmmse_iters=10, final_eval_networks=8)
    learner = cls(config, _factory(env_id, **kwargs), seed=0)
    metrics = list(learner.train_until(32))
    assert learner.num_steps >= 32 and all(np.isfinite(v) for m in metrics for v in m.values())
    path = tmp_path / "state.pt"
    torch.save(learner.state_dict(), path)
    clone = cls(config, _factory(env_id, **kwargs), seed=0)  # a resume rebuilds with the run's seed
    with torch.no_grad():
        for p in clone.model.parameters():
            p.add_(1.0)  # load_state_dict must overwrite everything
    clone.load_state_dict(torch.load(path, weights_only=True))
    # identical continuation: same batches (keyed by update count) and same weights
    torch.manual_seed(5)
    a = list(learner.train_until(64))
    torch.manual_seed(5)
    b = list(clone.train_until(64))
    assert a == b
    env = _factory(env_id, **kwargs).make(seed=3)
    obs, _ = env.reset(seed=3)
    action = learner.act(obs)
    assert env.action_space.contains(action)
    rows = learner.evaluate(4, seed=0)
    assert len(rows) == 4 and all({"return", "wmmse", "pct_wmmse"} <= set(r) for r in rows)
    assert "markdown" in learner.finish()


@pytest.mark.skipif(not (ROOT / "agents" / "train.py").exists(), reason="the CLI is not built yet")
@pytest.mark.parametrize(
    "args",
    [
        ["env=wireless-ic"],
        pytest.param(["env=wireless-cellfree"], marks=pytest.mark.slow),
        pytest.param(["env=wireless-mimo"], marks=pytest.mark.slow),
        ["env=wireless-cellfree", "agent=icgnn-pg"],
    ],
)
def test_cli_smoke(args, tmp_path):
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        *args,
        "budget=smoke",
        f"run.root={tmp_path}",
        "seed=0",
        "run.progress=false",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = list(tmp_path.rglob("summary.json"))
    assert summaries and "pct_wmmse" in summaries[0].read_text()
