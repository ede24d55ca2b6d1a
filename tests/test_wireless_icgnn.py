"""ICGNN policies and learners: equivariance, padding, variable sizes, factorised vs masked aggregation
(issue 17), state round trip, CLI smoke (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.analysis.method_figures import plot_se_vs_size
from agents.analysis.runs import discover_runs
from agents.core.env_factory import EnvConfig, EnvFactory
from agents.icgnn.pg import PolicyGradientConfig, PolicyGradientICGNN
from agents.icgnn.unsupervised import UnsupervisedConfig, UnsupervisedICGNN, graph_inputs
from envs.wireless.cellfree import CellFree
from envs.wireless.ic import InterferenceChannel
from policies.icgnn import ICGNN, build_icgnn, flops_per_network
from policies.icgnn_grid import LinkGridICGNN, aggregate, aggregate_masked

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


MODELS = {
    "entity": lambda f, o, paired=False: ICGNN(
        f, o, hidden=16, layers=3, channels=4, message=4, paired=paired
    ),
    "grid": lambda f, o, paired=False: LinkGridICGNN(f, o, hidden=16, layers=3),
}


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_permuting_links_permutes_outputs(arch):
    torch.manual_seed(0)
    model = MODELS[arch](3, 2)
    links, serving, tx, us = _graph()
    out = model(links, serving, tx, us)
    pt, pu = torch.randperm(6), torch.randperm(4)
    out_perm = model(links[:, pt][:, :, pu], serving[:, pt][:, :, pu], tx, us)
    torch.testing.assert_close(out[:, pt][:, :, pu], out_perm, atol=1e-5, rtol=1e-5)
    assert out.abs().sum() > 0


def test_paired_model_is_equivariant_to_permuting_pairs_and_decodes_the_diagonal():
    torch.manual_seed(0)
    model = MODELS["entity"](2, 2, paired=True)
    links, _, tx, _ = _graph(b=3, t=5, u=5, f=2)
    serving = torch.eye(5).expand(3, 5, 5).clone()
    out = model(links, serving, tx, tx)
    perm = torch.randperm(5)
    out_perm = model(links[:, perm][:, :, perm], serving, tx, tx)
    torch.testing.assert_close(out[:, perm][:, :, perm], out_perm, atol=1e-5, rtol=1e-5)
    out = out.detach()
    off_diagonal = out * (1 - torch.eye(5))[None, :, :, None]
    assert float(off_diagonal.abs().max()) == 0.0 and float(out.abs().max()) > 0
    with pytest.raises(ValueError, match="square"):
        model(links[:, :, :4], serving[:, :, :4], tx, tx[:, :4])


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_padding_does_not_change_real_outputs(arch):
    torch.manual_seed(0)
    model = MODELS[arch](3, 1)
    links, serving, tx, us = _graph()
    pad = torch.nn.functional.pad
    tx2, us2 = pad(tx, (0, 3)), pad(us, (0, 2))
    out = model(
        pad(links, (0, 0, 0, 2, 0, 3), value=5.0), pad(serving, (0, 2, 0, 3), value=1.0), tx2, us2
    ).detach()
    torch.testing.assert_close(out[:, :6, :4], model(links, serving, tx, us), atol=1e-5, rtol=1e-5)
    assert float(out[:, 6:].abs().max()) == 0.0 and float(out[:, :, 4:].abs().max()) == 0.0


@pytest.mark.parametrize(
    ("arch", "sc"),
    [
        ("entity", CellFree((4, 9), (2, 7), (1, 3))),
        ("grid", CellFree((4, 9), (2, 7), (1, 3))),
        ("entity", InterferenceChannel((2, 7))),
    ],
)
def test_variable_size_batch_equals_per_network_outputs(arch, sc):
    torch.manual_seed(0)
    net = sc.sample(np.random.default_rng(0), 5)
    model = MODELS[arch](sc.num_features, 1, paired=sc.paired)
    out = model(*graph_inputs(sc, net))
    for i in range(5):
        t, u = int(net.tx_mask[i].sum()), int(net.user_mask[i].sum())
        one = net[i : i + 1]
        links, serving, tx, us = graph_inputs(sc, one)
        single = model(links[:, :t, :u], serving[:, :t, :u], tx[:, :t], us[:, :u])
        torch.testing.assert_close(out[i : i + 1, :t, :u], single, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padded", [False, True])
def test_factorised_grid_aggregation_equals_masked_reference(padded):
    """Issue 17: the matmul/mask-free aggregation computes exactly the issue-4 masked one."""
    g = torch.Generator().manual_seed(1)
    b, t, u, d = 3, 5, 4, 6
    h = torch.randn(b, t, u, d, generator=g)
    valid = torch.ones(b, t, u)
    if padded:
        valid[0, 3:] = 0.0
        valid[1, :, 2:] = 0.0
        valid[2] = 0.0  # an empty network
    serv = (torch.rand(b, t, u, generator=g) > 0.5).float() * valid
    masks = torch.stack([valid, serv], -1)
    for dim in (1, 2):
        ref = aggregate_masked(h, valid[..., None], serv[..., None], dim)
        inv = (1.0 / masks.sum(dim).clamp_min(1.0))[..., None]
        fast = aggregate(h, masks, inv, dim, dense=not padded)
        real = valid.amax(dim, keepdim=True)[..., None] > 0  # aggregates of empty rows/columns are unused
        torch.testing.assert_close(fast * real, ref * real, atol=1e-6, rtol=1e-6)
    torch.manual_seed(0)
    model = LinkGridICGNN(3, 2, hidden=8, layers=2)
    links, serving, tx, us = _graph()
    if padded:
        tx[0, 4:] = 0.0
    reference = LinkGridICGNN(3, 2, hidden=8, layers=2, reference_aggregation=True)
    reference.load_state_dict(model.state_dict())
    torch.testing.assert_close(
        model(links, serving, tx, us), reference(links, serving, tx, us), atol=1e-5, rtol=1e-5
    )


def test_flop_model_orders_the_architectures():
    entity, grid = ICGNN(1, 1, paired=True), LinkGridICGNN(1, 1, 64, 4)
    assert flops_per_network(grid, 10, 10, 1) > 10 * flops_per_network(entity, 10, 10, 1) > 0
    with pytest.raises(ValueError, match="arch"):
        build_icgnn("dense", 1, 1, hidden=8, layers=1)


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
    config = cfg(
        hidden=16, layers=2, batch_size=8, wmmse_iters=10, final_eval_networks=8, size_eval_networks=4
    )
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
    results = learner.finish()
    assert "SE vs network size" in results["markdown"]
    _assert_se_vs_size(results["se_vs_size"], [2 * 1.5, 2 * 3.0, 2 * 6.0])  # mean users of [2, 4] x f


def _assert_se_vs_size(records, users):
    """One finite record per (size, method), at ``users`` = mean users of 1x, 2x, 4x the training sizes."""
    methods = {r["method"] for r in records}
    assert {"ICGNN", "WMMSE"} < methods  # and the env's classic baselines
    assert sorted({r["size"] for r in records}) == pytest.approx(sorted(users))
    assert len(records) == len(users) * len(methods)
    assert all(np.isfinite(r["se"]) and r["se"] >= 0 for r in records)


def _smoke_run(args, root):
    """A ``budget=smoke`` CLI run under ``root``; returns its run directory."""
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "agents.train", *args, "budget=smoke", f"run.root={root}", "seed=0"]
    cmd.append("run.progress=false")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = list(root.rglob("summary.json"))
    assert summaries and "pct_wmmse" in summaries[0].read_text()
    return summaries[0].parent


CLI_BUILT = pytest.mark.skipif(not (ROOT / "agents" / "train.py").exists(), reason="the CLI is not built yet")


@CLI_BUILT
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["env=wireless-cellfree"], marks=pytest.mark.slow),
        pytest.param(["env=wireless-mimo"], marks=pytest.mark.slow),
        # the smoke budget's agent settings are for the env's default agent (icgnn) only
        ["env=wireless-cellfree", "agent=icgnn-pg", "agent.size_eval_networks=16"],
    ],
)
def test_cli_smoke(args, tmp_path):
    _smoke_run(args, tmp_path)


@CLI_BUILT
def test_cli_smoke_ic_reports_and_draws_se_vs_size(tmp_path):
    """IC smoke run: summary.json holds SE vs size (K = 10, 20, 40) and the wireless method figure draws
    it."""
    run_dir = _smoke_run(["env=wireless-ic"], tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    _assert_se_vs_size(summary["se_vs_size"], [10, 20, 40])
    runs, skipped = discover_runs(tmp_path)
    assert len(runs) == 1 and not skipped
    fig = plot_se_vs_size(runs)
    lines = {bars.get_label(): bars.lines[0] for bars in fig.axes[0].containers}
    assert {"ICGNN", "WMMSE"} < set(lines)
    np.testing.assert_allclose(lines["ICGNN"].get_xdata(), [10, 20, 40])
