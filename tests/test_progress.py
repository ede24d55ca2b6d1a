"""The ETA counts evaluations and skips the warm-up rate; the early estimate warns past a day (issue 20)."""

from __future__ import annotations

import pytest

from agents.runtime import progress as progress_mod
from agents.runtime.progress import Progress, warmup_steps


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = _Clock()
    monkeypatch.setattr(progress_mod.time, "perf_counter", fake)
    return fake


def test_eta_uses_post_warmup_rate_plus_remaining_evaluations(clock, capsys):
    bar = Progress(1000, 0, "run", enabled=False, eval_every=500, warmup=100, estimate_after=1e9)
    with bar:
        bar.update(0)
        clock.t += 1  # warm-up: 100 steps/s, no updates yet
        bar.update(100)
        clock.t += 20  # after warm-up: 10 steps/s
        bar.update(300)
        assert bar.eta() == pytest.approx(70.0)  # 700 steps at 10/s; warm-up speed ignored
        with bar.phase("eval"):
            clock.t += 60
        # two evaluations still to come (at 500 and 1000), 60 s each
        assert bar.eta() == pytest.approx(70.0 + 2 * 60.0)
    out = capsys.readouterr().out
    assert "Estimated total time:" in out and "eval 60.0 s each" in out  # printed after the first evaluation


def test_estimate_over_a_day_names_the_faster_budget(clock, capsys):
    bar = Progress(10_000_000, 0, "run", enabled=False, faster_budget="default", estimate_after=20)
    with bar:
        bar.update(0)
        clock.t += 30
        bar.update(30)  # 1 step/s for 10M steps
    out = capsys.readouterr().out
    assert "Estimated total time: 115.7 days" in out
    assert "more than a day" in out and "budget=default" in out


def test_warmup_steps_of_learners():
    class Cfg:
        num_seed_steps = 2000

    class Visual:
        cfg = Cfg()

    class Declared:
        warmup_steps = 7

    assert warmup_steps(Visual()) == 2000 and warmup_steps(Declared()) == 7 and warmup_steps(object()) == 0


def test_a_long_warmup_is_announced_with_its_remaining_time(clock, capsys):
    bar = Progress(100_000, 0, "run", enabled=False, warmup=2000)
    with bar:
        bar.update(0)
        clock.t += 61
        bar.update(1000)  # 1000 of 2000 seed steps in 61 s
    out = capsys.readouterr().out
    assert "Warm-up (no updates yet): 1000/2000 env steps, about 61 s more" in out
    assert "Estimated total time" not in out
