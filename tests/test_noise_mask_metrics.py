"""Per-class metrics, confidence intervals and the noise-mask benchmark's tables (issue 19, item 8)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm

from agents.noise_mask.report import mean_std, paired, per_class_summary, t_interval
from benchmarks.make_docs import validate
from benchmarks.noise_mask import write_results
from benchmarks.noise_mask_table import EVALUATIONS, SHOWN, paired_results, rows, summarize
from envs.classifier import classification_metrics, per_class_metrics

# 4 logit columns; class 3 never occurs in the labels, class 2 is never predicted
LABELS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 0, 1])
PRED = torch.tensor([0, 0, 1, 1, 1, 0, 1, 3, 0, 1])


def _logits(pred: torch.Tensor, k: int = 4) -> torch.Tensor:
    return torch.nn.functional.one_hot(pred, k).float() * 3.0 + 0.1 * torch.arange(k)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")  # class 3 predicted, absent
def test_per_class_metrics_match_scikit_learn():
    out = per_class_metrics(_logits(PRED), LABELS, classes=[5, 6, 7, 9])
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        LABELS.numpy(), PRED.numpy(), labels=[0, 1, 2, 3], zero_division=0
    )
    assert out["class"] == [5, 6, 7, 9]  # original ids name the re-indexed columns
    np.testing.assert_allclose(out["precision"], precision)
    np.testing.assert_allclose(out["recall"], recall)
    np.testing.assert_allclose(out["f1"], f1)
    assert out["support"] == [4, 3, 3, 0]
    # by hand: class 0 predicted 4 times, 3 right, of 4 true; class 2 never predicted -> 0 (zero_division)
    assert out["precision"][0] == pytest.approx(0.75) and out["recall"][0] == pytest.approx(0.75)
    assert out["precision"][2] == 0.0 and out["f1"][2] == 0.0
    # the macro F1 of the run's table is the mean over the classes present in the labels
    macro = classification_metrics(_logits(PRED), LABELS)["f1"]
    assert macro == pytest.approx(np.mean(out["f1"][:3]))


def test_per_class_metrics_reject_a_wrong_class_list():
    with pytest.raises(ValueError, match="4 columns"):
        per_class_metrics(_logits(PRED), LABELS, classes=[0, 1])


def test_t_interval_is_the_student_t_interval_of_the_mean():
    values = np.array([0.91, 0.95, 0.93, 0.97, 0.90])
    low, high = t_interval(values)
    ref = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert (low, high) == pytest.approx(ref)
    assert low < values.mean() < high and values.mean() - low == pytest.approx(high - values.mean())
    assert t_interval(values, 0.99)[1] > high  # wider at higher confidence
    wide = t_interval(values[:3])
    assert wide[1] - wide[0] > high - low  # fewer seeds, wider
    assert t_interval(np.full(4, 0.5)) == (0.5, 0.5)
    assert all(math.isnan(x) for x in t_interval(np.array([0.5])))


def test_t_interval_covers_a_normal_mean_at_the_nominal_rate_with_five_seeds():
    rng = np.random.default_rng(0)
    hits = [lo <= 0.0 <= hi for lo, hi in (t_interval(rng.normal(0, 1, 5)) for _ in range(2000))]
    assert 0.93 <= np.mean(hits) <= 0.97


def _row(f1: list[float], accuracy: float) -> dict:
    per_class = {"class": [5, 7], "precision": f1, "recall": f1, "f1": f1, "support": [10, 10]}
    return {
        m: accuracy for m in ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc")
    } | {"per_class": per_class}


def test_summaries_carry_intervals_and_paired_differences_per_class():
    results = {
        str(s): {
            "baseline": _row([0.8, 0.9 + d], 0.85),
            "heated_finetuned": _row([0.7, 0.9 + 2 * d], 0.8 + d),
        }
        for s, d in enumerate([0.0, 0.01, 0.02])
    }
    summary = per_class_summary(results, "heated_finetuned")
    assert summary["class"] == [5, 7] and len(summary["f1"]) == 2
    assert summary["f1"][1]["mean"] == pytest.approx(0.92)
    assert summary["f1"][0]["ci_low"] == pytest.approx(0.7)  # constant over seeds: a zero-width interval
    diff = per_class_summary(results, "heated_finetuned", "baseline")
    assert diff["f1"][0]["mean"] == pytest.approx(-0.1) and diff["f1"][0]["wins"] == 0
    assert diff["f1"][1]["mean"] == pytest.approx(0.01) and diff["f1"][1]["wins"] == 2
    assert diff["f1"][1]["ci_low"] < 0.01 < diff["f1"][1]["ci_high"]
    macro = paired(results, "heated_finetuned", "baseline", "accuracy")
    assert macro["mean"] == pytest.approx(-0.04) and macro["ci_high"] < 0  # CI of the paired difference
    assert set(mean_std(np.array([0.1, 0.2]))) == {"mean", "std", "n", "ci_low", "ci_high"}


def _raw(seeds: int = 3) -> dict:
    """A benchmark per-seed file: two objectives, digits (main) and digits-unseen (main + transfer)."""

    def results(objective: str, transfer: bool) -> dict:
        shift = 0.1 if objective == "paper" else 0.0
        out = {}
        for s in range(seeds):
            noise = 0.01 * s
            res = {
                "baseline": _row([0.9, 0.9 + noise], 0.9),
                "heated_finetuned": _row([0.9, 0.6 + shift + noise], 0.8),
            }
            if transfer:
                res |= {"transfer_baseline": _row([0.5, 0.6], 0.55), "transfer_heated": _row([0.4, 0.6], 0.5)}
            out[str(s)] = res
        return out

    tasks = {
        task: {
            o: {"results": results(o, task == "digits-unseen"), "seconds": 1.0}
            for o in ("reinforce", "paper")
        }
        for task in ("digits", "digits-unseen")
    }
    args = {
        "seeds": seeds,
        "seed": 0,
        "image_size": 16,
        "pretrain_epochs": 15,
        "finetune_epochs": 3,
        "transfer_epochs": 30,
        "few_shot": 5,
    }
    return {"args": args, "tasks": tasks}


def test_benchmark_summary_rows_and_results_file(tmp_path):
    raw = _raw()
    summary = summarize(raw)
    assert set(summary) == {"digits", "digits-unseen"}
    assert set(summary["digits"]) == {"main"} and set(summary["digits-unseen"]) == set(EVALUATIONS)
    main = summary["digits"]["main"]
    assert set(main["per_class"]) == {"baseline", "reinforce", "paper"}
    assert set(main["paired"]) == {"reinforce - baseline", "paper - baseline", "paper - reinforce"}
    # class 7: paper's F1 is 0.1 above reinforce's on every seed, with tight intervals
    assert [d["class"] for d in main["distinct_f1_classes"]] == [7]
    assert main["paired"]["paper - reinforce"]["per_class"]["f1"][1]["mean"] == pytest.approx(0.1)
    table = rows(summary)
    assert len(table) == 3 * (len(SHOWN) + 2)  # three evaluations × (macro metrics + two classes' F1)
    assert {"task", "evaluation", "metric", "baseline", "reinforce", "paper", "Δ paper − reinforce"} <= set(
        table[0]
    )
    assert table[len(SHOWN)]["metric"] == "F1 class 5"
    assert table[len(SHOWN) + 1]["paper"].startswith("0.7100 [")  # mean of 0.70, 0.71, 0.72 with its CI
    out = tmp_path / "noise_mask.json"
    write_results(raw, str(out), str(tmp_path / "raw" / "noise_mask_per_seed.json"))
    result = json.loads(out.read_text())
    validate(result, str(out))
    assert result["rows"] == json.loads(json.dumps(table))
    assert result["protocol"]["budgets"]["baseline_epochs"] == 18 and "machine" in result["protocol"]
    assert result["command"] == "python -m benchmarks.noise_mask --seeds 3"  # only non-default flags
    assert "digits / main: classes where the objectives' F1 95 % CIs do not overlap: 7" in result["notes"]
    strict = {"parse_constant": lambda name: pytest.fail(f"{name} in a results file: not strict JSON")}
    saved = json.loads((tmp_path / "raw" / "noise_mask_summary.json").read_text(), **strict)
    assert saved["digits"]["main"]["paired"]["paper - baseline"]["macro"]["accuracy"]["p_value"] is None
    assert saved["digits-unseen"]["transfer"]["macro"]["accuracy"]["paper"]["ci_low"] == 0.5


def test_benchmark_refuses_unpaired_baselines():
    raw = _raw()
    raw["tasks"]["digits"]["paper"]["results"]["1"]["baseline"] = _row([0.1, 0.1], 0.1)
    with pytest.raises(ValueError, match="baseline differs"):
        paired_results(raw["tasks"]["digits"], "heated_finetuned", "baseline")
