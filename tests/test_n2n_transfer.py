"""N2N search benchmarks (issue 19): transfer command line and bookkeeping, one tiny seed end to end, and the
per-teacher summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import n2n_search, n2n_transfer
from benchmarks.make_docs import load_results, render
from benchmarks.n2n_settings import TINY


def test_part_and_seed_arguments() -> None:
    args = n2n_search.parse_args(["--part", "transfer", "--seeds", "3"])
    assert (args.part, args.seed_list) == ("transfer", [0, 1, 2])
    assert n2n_search.parse_args(["--seed-list", "4", "7"]).seed_list == [4, 7]
    assert n2n_search.parse_args([]).part == "all"
    with pytest.raises(SystemExit):
        n2n_search.parse_args(["--part", "nope"])
    with pytest.raises(SystemExit):
        n2n_search.parse_args(["--seeds", "0"])


def test_updates_to_reach_is_the_first_update_at_or_above_the_target() -> None:
    assert n2n_transfer.updates_to_reach([0.1, 0.5, 0.5, 0.9], 0.5) == 2
    assert n2n_transfer.updates_to_reach([0.6, 0.7], 0.5) == 1
    assert n2n_transfer.updates_to_reach([0.1, 0.2], 0.5) is None


def test_seed_rows_and_summary() -> None:
    a = n2n_transfer.seed_row(0, [0.8], [0.5, 0.8, 0.9], [0.85, 0.9, 0.95], wall_s=10.0)
    b = n2n_transfer.seed_row(1, [0.7], [0.6, 0.9, 1.0], [0.6, 0.7, 0.8], wall_s=20.0)
    assert a["transfer reaches scratch best at update"] == 2
    assert a["transfer / scratch"] == pytest.approx(0.95 / 0.9)
    assert b["transfer reaches scratch best at update"] is None
    summary = n2n_transfer.summary_row([a, b])
    assert summary["scratch final best"] == "0.9500 ± 0.0707"  # sample s.d. of (0.9, 1.0)
    assert summary["transfer reaches scratch best at update"] == "2.0 ± 0.0 (1/2 seeds)"
    assert summary["wall s"] == pytest.approx(15.0)
    assert n2n_transfer.summary_row([b])["transfer reaches scratch best at update"] == "never (0/1 seeds)"
    with pytest.raises(ValueError, match="same non-zero length"):
        n2n_transfer.seed_row(2, [], [0.5], [0.5, 0.6], wall_s=1.0)


def test_milestones_average_the_arms_over_seeds() -> None:
    curves = {
        0: {"scratch": [0.1, 0.2, 0.3], "transfer": [0.5, 0.5, 0.6]},
        1: {"scratch": [0.3, 0.4, 0.5], "transfer": [0.7, 0.7, 0.8]},
    }
    text = n2n_transfer.milestones(curves, updates=(1, 10))
    assert text == (
        "Mean best reward over 2 seed(s) after 1: scratch 0.2000, transfer 0.6000; "
        "after 3: scratch 0.4000, transfer 0.7000."
    )


def test_one_tiny_seed_end_to_end_writes_a_make_docs_result(tmp_path: Path) -> None:
    kwargs = {**TINY, "cache_dir": str(tmp_path / "teachers")}
    fac18, fac34 = n2n_search.factory("resnet18", kwargs), n2n_search.factory("resnet34", kwargs)
    row, curves = n2n_transfer.run_seed(0, fac18, fac34, updates=2, rollouts=2, workers=1, tmp=tmp_path)
    assert set(curves) == {"source_resnet18", "scratch", "transfer"}
    assert all(len(c) == 2 and c[0] <= c[1] for c in curves.values())  # best-so-far per update
    assert row["scratch final best"] == curves["scratch"][-1]
    out = tmp_path / "docs/results/n2n_transfer.json"
    n2n_transfer.save(out, [row], {0: curves}, kwargs, updates=2, rollouts=2)
    result = json.loads(out.read_text())
    assert "cache_dir" not in result["protocol"]["budgets"]["env_kwargs"]
    assert [r["seed"] for r in result["rows"]] == [0, "mean ± s.d. (1)"]
    assert json.loads((tmp_path / "docs" / result["raw"]).read_text())["0"] == curves
    assert "policy transfer ResNet-18 → ResNet-34" in render(load_results(out.parent), tmp_path / "docs")


def test_per_teacher_summary_lines() -> None:
    from benchmarks.n2n_teachers import per_teacher

    def row(seed: int, comp: float, ratio: float) -> dict:
        return {
            "teacher": "vgg11",
            "init": "0.5",
            "seed": seed,
            "compression": comp,
            "test_acc_ratio": ratio,
            "meets_10x": comp >= 10,
            "meets_99": ratio >= 0.99,
        }

    (line,) = per_teacher([row(1, 12.0, 0.995), row(0, 8.0, 0.90)])
    assert line == (
        "vgg11 init 0.5, seeds [0, 1]: compression 10.0 ± 2.8x (8.0, 12.0), test acc / teacher 94.8 ± 6.7 % "
        "(90.0, 99.5); >= 10x: 1/2, >= 99 %: 1/2, both: 1/2"
    )
