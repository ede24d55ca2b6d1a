"""``python -m benchmarks.make_docs``: docs/benchmarks.md from docs/results/*.json, protocol next to
tables."""

from __future__ import annotations

import json

from benchmarks import make_docs


def test_page_from_results_with_protocol(tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "benchmarks.md"
    make_docs.write_result(
        results / "sps.json",
        "Throughput: pgsuite PPO vs SB3 PPO",
        rows=[
            {"env": "cartpole", "agent": "ppo", "sps": 2162.84, "ratio": 0.9312},
            {"env": "pendulum", "sps": None},
        ],
        seeds=[0, 1, 2],
        budgets={"total_steps": 2048},
        command="python -m benchmarks.sps",
        notes="2 shared cores: timings inflated by contention.",
        eval_episodes=10,
    )
    make_docs.write_result(results / "a.json", "A first", rows=[], seeds="none", budgets="n/a", order=0)
    assert make_docs.main(["--results", str(results), "--out", str(out)]) == 0
    page = out.read_text()
    assert page.index("## A first") < page.index("## Throughput")  # order field first
    assert "- seeds: 0, 1, 2" in page and "- budgets: total_steps 2048" in page
    assert "- eval episodes: 10" in page and "- versions: python " in page and "torch " in page
    assert "| env | agent | sps | ratio |" in page
    assert "| cartpole | ppo | 2,163 | 0.9312 |" in page and "| pendulum | — | — | — |" in page
    assert "- reproduce: `python -m benchmarks.sps`" in page and "[sps.json](" in page
    assert (
        "- 2 shared cores" in page
        and "[Throughput: pgsuite PPO vs SB3 PPO](#throughput-pgsuite-ppo-vs-sb3-ppo)" in page
    )
    assert make_docs.main(["--results", str(results), "--out", str(out), "--check"]) == 0
    data = json.loads((results / "sps.json").read_text())
    data["rows"][0]["sps"] = 1.0
    (results / "sps.json").write_text(json.dumps(data))
    assert make_docs.main(["--results", str(results), "--out", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_invalid_results_name_file_and_fix(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "bad.json").write_text(json.dumps({"title": "x", "protocol": {"seeds": [0]}, "rows": []}))
    (results / "cut.json").write_text('{"title": "y", "proto')
    assert make_docs.main(["--results", str(results), "--out", str(tmp_path / "b.md")]) == 1
    err = capsys.readouterr().err
    assert "bad.json: protocol lacks budgets, machine, versions" in err
    assert "cut.json: not valid JSON" in err
    assert not (tmp_path / "b.md").exists()


def test_empty_results_folder_gives_placeholder_page(tmp_path):
    out = tmp_path / "benchmarks.md"
    assert make_docs.main(["--results", str(tmp_path / "none"), "--out", str(out)]) == 0
    assert "No benchmark results yet" in out.read_text()
