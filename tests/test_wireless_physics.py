"""Wireless simulators: SE formulas by hand, WMMSE ascent, CG vs inverse, budgets (issue 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from envs.wireless.cellfree import CellFree, cellfree_se, wmmse_cellfree
from envs.wireless.cg import conjugate_gradient
from envs.wireless.common import Networks
from envs.wireless.ic import InterferenceChannel, ic_rates, wmmse_ic
from envs.wireless.mimo import (
    MultiUserMISO,
    linear_precoder,
    mimo_sum_rate,
    miso_se,
    rzf_reg,
    total_power_precoder,
    wmmse_mimo,
)

torch.set_num_threads(1)


def test_ic_rates_by_hand():
    # gain[j, k] = |h_kj|^2: TX 0 → RX 0: 2, TX 1 → RX 0: 0.5, TX 0 → RX 1: 1, TX 1 → RX 1: 3
    gain = torch.tensor([[[2.0, 1.0], [0.5, 3.0]]], dtype=torch.float64)
    power = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    expected = [math.log2(1 + 2.0 / (0.5 * 0.5 + 1.0)), math.log2(1 + 1.5 / (1.0 + 1.0))]
    assert torch.allclose(ic_rates(gain, power, 1.0)[0], torch.tensor(expected, dtype=torch.float64))


def test_cellfree_se_by_hand():
    # 2 APs (N = 2, 1), 2 UEs sharing one pilot; AP 0 serves both, AP 1 serves UE 1.
    beta = torch.tensor([[[1.0, 0.5], [0.2, 2.0]]], dtype=torch.float64)  # (1, L, K)
    gamma = torch.tensor([[[0.8, 0.3], [0.1, 1.5]]], dtype=torch.float64)
    ant = torch.tensor([[2.0, 1.0]], dtype=torch.float64)
    same = torch.ones(1, 2, 2, dtype=torch.float64)
    serving = torch.tensor([[[True, True], [False, True]]])
    net = Networks(
        torch.ones(1, 2, dtype=torch.bool),
        torch.ones(1, 2, dtype=torch.bool),
        serving,
        {"beta": beta, "gamma": gamma, "antennas": ant, "same_pilot": same},
    )
    rho = torch.tensor([[[0.3, 0.7], [0.0, 1.0]]], dtype=torch.float64)
    noise, tau_p, tau_c = 0.1, 1, 10
    coh = lambda i, k: sum(math.sqrt(rho[0, ap, i] * ant[0, ap] * gamma[0, ap, k]) for ap in range(2))  # noqa: E731
    expected = []
    for k in range(2):
        incoh = sum(float(rho[0, ap, i] * beta[0, ap, k]) for ap in range(2) for i in range(2))
        sinr = coh(k, k) ** 2 / (incoh + coh(1 - k, k) ** 2 + noise)
        expected.append(0.9 * math.log2(1 + sinr))
    got = cellfree_se(net, rho, tau_p, tau_c, noise)[0]
    assert torch.allclose(got, torch.tensor(expected, dtype=torch.float64))


def test_miso_se_by_hand():
    h = torch.tensor([[[1.0 + 0j, 0.0], [0.5j, 2.0]]], dtype=torch.complex128)  # rows h_k
    v = torch.tensor([[[1.0 + 0j, 0.0], [0.0, 0.5]]], dtype=torch.complex128)  # columns v_k
    s0 = math.log2(1 + 1.0 / (0.0 + 0.1))
    s1 = math.log2(1 + 1.0 / (0.25 + 0.1))  # |h_1 v_1|² = |2·0.5|², |h_1 v_0|² = |0.5j|²
    assert torch.allclose(miso_se(h, v, 0.1)[0], torch.tensor([s0, s1], dtype=torch.float64))
    assert torch.allclose(
        mimo_sum_rate(h[:, :, None, :], v.transpose(1, 2)[..., None], 0.1)[0],
        torch.tensor(s0 + s1, dtype=torch.float64),
    )


def test_wmmse_ic_monotone_and_reference():
    sc = InterferenceChannel(10, 0.0)
    net = sc.sample(np.random.default_rng(0), 300)
    power, hist = wmmse_ic(net.data["gain"], net.user_mask, sc.noise, sc.p_max, 50, trace=True)
    steps = torch.stack(hist)
    assert (steps[1:] - steps[:-1]).min() > -1e-9
    assert float(power.max()) <= sc.p_max + 1e-12 and float(power.min()) >= 0
    # an independent numpy WMMSE (TSP-DNN @ 674df88 algorithm) gives 2.822 bit/s/Hz (2000 networks); 300
    # networks → allow sampling error
    assert abs(float(steps[-1].mean()) - 2.822) < 0.12


def test_wmmse_cellfree_monotone_and_budget():
    sc = CellFree((6, 10), (3, 14), (1, 4))
    net = sc.sample(np.random.default_rng(1), 40)
    rho, hist = wmmse_cellfree(net, sc.rho_max, sc.noise, 30, trace=True, tau_p=sc.tau_p, tau_c=sc.tau_c)
    steps = torch.stack(hist)
    assert (steps[1:] - steps[:-1]).min() > -1e-7
    assert float(rho.sum(2).max()) <= sc.rho_max * (1 + 1e-9)
    assert float((rho * ~net.serving).abs().max()) == 0.0


def test_wmmse_mimo_monotone_multi_antenna_users():
    g = torch.Generator().manual_seed(0)
    h = torch.complex(
        torch.randn(20, 3, 2, 6, generator=g, dtype=torch.float64),
        torch.randn(20, 3, 2, 6, generator=g, dtype=torch.float64),
    )
    v, hist = wmmse_mimo(h, torch.ones(20, 3, dtype=torch.bool), 1.0, 0.1, iters=30, trace=True)
    steps = torch.stack(hist)
    assert (steps[1:] - steps[:-1]).min() > -1e-7
    assert float((v.abs() ** 2).sum((1, 2, 3)).max()) <= 1.0 + 1e-6


def test_cg_matches_exact_inverse():
    g = torch.Generator().manual_seed(0)
    x = torch.complex(
        torch.randn(5, 6, 9, generator=g, dtype=torch.float64),
        torch.randn(5, 6, 9, generator=g, dtype=torch.float64),
    )
    a = x @ x.mH + 0.1 * torch.eye(6, dtype=torch.complex128)
    b = torch.complex(
        torch.randn(5, 6, 3, generator=g, dtype=torch.float64), torch.zeros(5, 6, 3, dtype=torch.float64)
    )
    exact = torch.linalg.solve(a, b)
    assert torch.allclose(conjugate_gradient(a, b, 6), exact, atol=1e-8)  # exact in n = 6 steps
    errs = [float((conjugate_gradient(a, b, t) - exact).abs().max()) for t in (1, 3, 5)]
    assert errs[0] > errs[1] > errs[2]


def test_cg_precoder_padding_and_rzf():
    sc = MultiUserMISO((4, 8), (2, 6), snr_db=10.0, cg_iters=6)
    net = sc.sample(np.random.default_rng(2), 16)
    h, mask = net.data["h"], net.user_mask
    power = torch.full(mask.shape, 1.0 / 6, dtype=torch.float64)
    exact = linear_precoder(h, mask, rzf_reg(mask, 1.0, sc.noise), power)
    cg = linear_precoder(h, mask, rzf_reg(mask, 1.0, sc.noise), power, cg_iters=6)
    assert torch.allclose(exact, cg, atol=1e-6)
    assert float(exact[~mask[:, None, :].expand_as(exact)].abs().max()) == 0.0


def test_rzf_power_conventions():
    """Issue 17: per-user P/K (columns normalised) and total-power scaling (one β) of the same direction."""
    sc = MultiUserMISO((4, 8), (2, 6), snr_db=10.0, cg_iters=4)
    net = sc.sample(np.random.default_rng(5), 16)
    h, mask = net.data["h"], net.user_mask
    reg = rzf_reg(mask, 1.0, sc.noise)
    total = total_power_precoder(h, mask, reg, 1.0)
    per_user = linear_precoder(h, mask, reg, torch.where(mask, 1.0 / mask.sum(1, keepdim=True), 0.0))
    power = total.abs().pow(2).sum(1)  # (B, K) column powers
    torch.testing.assert_close(power.sum(1), torch.ones(16, dtype=torch.float64))
    assert float(power[~mask].abs().max()) == 0.0 and float(power.std(1).max()) > 1e-3  # unequal per user
    direction = total / total.norm(dim=1, keepdim=True).clamp_min(1e-30)
    torch.testing.assert_close(direction * per_user.norm(dim=1, keepdim=True), per_user)
    base = sc.baselines(net)
    assert {"RZF", "RZF-CG4", "RZF total-P", "RZF-CG4 total-P"} <= set(base)
    assert not torch.allclose(base["RZF"], base["RZF total-P"])


@pytest.mark.parametrize(
    "sc", [InterferenceChannel((3, 7)), CellFree((4, 9), (2, 12), (1, 3)), MultiUserMISO((3, 9), (2, 7))]
)
def test_budgets_never_violated(sc):
    net = sc.sample(np.random.default_rng(3), 32)
    g = torch.Generator().manual_seed(1)
    t, u = net.serving.shape[1:]
    for scale in (1.0, 1e3):  # raw actions are clipped to [-1, 1] before the mapping
        grid = (torch.rand(32, t, u, sc.out_channels, generator=g, dtype=torch.float64) * 2 - 1) * scale
        alloc = sc.allocate(net, grid)
        if isinstance(sc, InterferenceChannel):
            assert float(alloc.max()) <= sc.p_max and float(alloc.min()) >= 0
        elif isinstance(sc, CellFree):
            assert float(alloc.sum(2).max()) <= sc.rho_max * (1 + 1e-12) and float(alloc.min()) >= 0
        else:
            assert float((alloc.abs() ** 2).sum((1, 2)).max()) <= sc.p_total * (1 + 1e-9)
        assert torch.isfinite(sc.user_se(net, alloc)).all()


def test_variable_size_batch_matches_single_networks():
    sc = CellFree((4, 9), (2, 12), 2)
    net = sc.sample(np.random.default_rng(4), 6)
    grid = torch.zeros(6, *net.serving.shape[1:], 1, dtype=torch.float64)
    batched = sc.user_se(net, sc.allocate(net, grid))
    for i in range(6):
        t, u = int(net.tx_mask[i].sum()), int(net.user_mask[i].sum())
        one = Networks(
            net.tx_mask[i : i + 1, :t],
            net.user_mask[i : i + 1, :u],
            net.serving[i : i + 1, :t, :u],
            {
                "beta": net.data["beta"][i : i + 1, :t, :u],
                "gamma": net.data["gamma"][i : i + 1, :t, :u],
                "antennas": net.data["antennas"][i : i + 1, :t],
                "same_pilot": net.data["same_pilot"][i : i + 1, :u, :u],
            },
        )
        single = sc.user_se(one, sc.allocate(one, grid[i : i + 1, :t, :u]))
        assert torch.allclose(batched[i, :u], single[0]) and float(batched[i, u:].abs().sum()) == 0


@pytest.mark.parametrize(
    "sc", [InterferenceChannel((3, 7)), CellFree((4, 9), (2, 12), (1, 3)), MultiUserMISO((3, 9), (2, 7))]
)
def test_se_gradient_is_finite_with_padding_and_zero_power(sc):
    net = sc.sample(np.random.default_rng(5), 8)
    t, u = net.serving.shape[1:]
    grid = torch.zeros(8, t, u, sc.out_channels, dtype=torch.float64)
    grid[:, : t // 2] = -1.0  # some links at exactly zero power
    grid.requires_grad_(True)
    sc.user_se(net, sc.allocate(net, grid)).sum().backward()
    assert torch.isfinite(grid.grad).all()
