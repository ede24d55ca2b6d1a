"""Method figures drawn from the data runs log (N2N, noise mask, BN-MARL, wireless), and their absence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg
from matplotlib.figure import Figure

from agents import report
from agents.analysis import method_figures as mf
from agents.analysis.runs import discover_runs


def method_run(path: Path, agent: str, seed: int) -> None:
    """A run that logged every method's data: N2N columns and students, masks, open ratio, DAGs, SE."""
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(f"env: {{name: toy}}\nagent: {{name: {agent}}}\nseed: {seed}\n")
    with (path / "metrics.csv").open("w") as f:
        f.write(
            "step,time,train/reward,train/compression,train/accuracy_ratio,charts/open_ratio,charts/threshold\n"
        )
        for i in range(1, 6):
            f.write(f"{i * 10},{i},{0.1 * i},{0.15 * i},{1 - 0.02 * i},{1 - 0.2 * i},{1 - 0.25 * i}\n")
    with (path / "eval.jsonl").open("w") as f:
        for i in range(1, 6):
            for student in range(3):
                c, a = 0.1 * i + 0.05 * student, 0.95 - 0.03 * student
                record = {"step": i * 10, "episode": student, "return": c * (2 - c) * a, "length": 4}
                f.write(json.dumps({**record, "compression": c, "accuracy_ratio": a}) + "\n")
    with (path / "students.jsonl").open("w") as f:  # the compression env's info: ratio and acc_ratio
        for i in range(1, 4):
            f.write(json.dumps({"step": i, "compression": 2.0**i, "acc_ratio": 1 - 0.1 * i}) + "\n")
    summary = {
        "example_dags": [[[0, 1, 1], [0, 0, 1], [0, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]],
        "se_vs_size": [
            {"size": k, "method": m, "se": base * k**0.5 + 0.01 * seed}
            for k in (4, 8, 16)
            for m, base in (("ICGNN", 1.0), ("WMMSE", 1.05))
        ],
    }
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "masks").mkdir()
    mpimg.imsave(
        path / "masks" / "sample_mask_0.png", np.random.default_rng(seed).random((16, 16)), cmap="gray"
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("method_runs")
    for agent in ("n2n", "other"):
        for seed in (0, 1):
            method_run(root / agent / f"seed{seed}", agent, seed)
    found, skipped = discover_runs(root)
    assert len(found) == 4 and not skipped
    return root, found


@pytest.mark.parametrize("spec", mf.METHOD_FIGURES, ids=lambda s: s.name)
def test_each_method_figure_draws_from_logged_data(runs, spec):
    fig = spec.draw(runs[1], **spec.kwargs)
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes and any(ax.has_data() for ax in axes)


def test_column_names_are_parameters(runs):
    _, found = runs
    fig = mf.plot_accuracy_compression(
        found, "train/compression", "train/accuracy_ratio", source="metrics.csv"
    )
    scatter = fig.axes[0].collections[0]
    assert len(scatter.get_offsets()) == 2 * 5  # agent "n2n": 2 runs x 5 rows
    fig = mf.plot_accuracy_compression(found, source="students.jsonl")
    assert fig.axes[0].get_xscale() == "log"  # #params ratio, not the fraction C
    assert len(fig.axes[0].collections[0].get_offsets()) == 2 * 3
    fig = mf.plot_se_vs_size(found)
    lines = {bars.get_label(): bars.lines[0] for bars in fig.axes[0].containers}
    np.testing.assert_allclose(
        lines["ICGNN"].get_ydata(), [2.005, 2.0 * 2**0.5 + 0.005, 4.005]
    )  # mean over seeds
    with pytest.raises(mf.NoData, match="train/nothing"):
        mf.plot_open_ratio(found, column="train/nothing")


def test_missing_data_raises_nodata(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.yaml").write_text("env: {name: toy}\nagent: {name: a}\nseed: 0\n")
    (plain / "eval.jsonl").write_text('{"step": 1, "episode": 0, "return": 1.0, "length": 1}\n')
    found, _ = discover_runs(tmp_path)
    for spec in mf.METHOD_FIGURES:
        with pytest.raises(mf.NoData):
            spec.draw(found, **spec.kwargs)


def test_report_embeds_available_method_figures(runs, tmp_path):
    root, _ = runs
    assert report.main([str(root), f"out={tmp_path}", "reps=50", "formats=png"]) == 0
    markdown = (tmp_path / "report.md").read_text()
    assert "## Method figures" in markdown
    for spec in mf.METHOD_FIGURES:
        assert f"![{spec.name}](method_{spec.name}.png)" in markdown
        assert (tmp_path / f"method_{spec.name}.png").stat().st_size > 0
