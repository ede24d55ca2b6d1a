"""The noise-mask learner: plan, resume exactness through a weights_only checkpoint, table, figure, CLI,
split=."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.core.seeding import get_rng_state, seed_everything, set_rng_state
from agents.noise_mask.learner import NoiseMaskConfig, NoiseMaskLearner
from tests.conftest import run_module

ROOT = Path(__file__).resolve().parents[1]
KWARGS = {"image_size": 16, "grid": 4, "held_out_classes": [8, 9]}
TINY = {
    "replicates": 1,
    "pretrain_epochs": 2,
    "finetune_epochs": 1,
    "baseline_epochs": 1,
    "average_last": 2,
    "finetune_warmup_epochs": 0,
    "transfer_epochs": 1,
    "few_shot": 3,
    "figure_samples": 4,
}


def _learner(**overrides) -> NoiseMaskLearner:
    factory = EnvFactory(EnvConfig(name="nm", id="pgsuite/NoiseMask-v0", kwargs=KWARGS))
    return NoiseMaskLearner(NoiseMaskConfig(**(TINY | overrides)), factory, seed=0)


def _run(learner: NoiseMaskLearner, step: int) -> list[dict]:
    return list(learner.train_until(step))


def _checkpoint(learner: NoiseMaskLearner) -> bytes:
    buffer = io.BytesIO()
    torch.save({"learner": learner.state_dict(), "step": learner.num_steps, "rng": get_rng_state()}, buffer)
    return buffer.getvalue()


def _resume(blob: bytes) -> NoiseMaskLearner:
    state = torch.load(io.BytesIO(blob), weights_only=True)  # the runtime's loading rule
    learner = _learner()
    learner.load_state_dict(state["learner"])
    learner.num_steps = state["step"]
    set_rng_state(state["rng"])
    return learner


def test_resume_mid_pretraining_and_mid_transfer_is_exact():
    seed_everything(0)
    reference = _learner()
    assert reference.plan_steps == 6000 and len(reference.phases) == 5
    _run(reference, 1500)  # inside pretraining epoch 2: policy, optimisers, baseline, averager all live
    mid_pretrain = _checkpoint(reference)
    _run(reference, 4500)  # inside the heated-init transfer
    mid_transfer = _checkpoint(reference)
    _run(reference, reference.plan_steps)
    assert reference.phase_index == len(reference.phases)
    for blob in (mid_pretrain, mid_transfer):
        resumed = _resume(blob)
        _run(resumed, resumed.plan_steps)
        assert resumed.results == reference.results
        for name, weights in reference.weights.items():
            for key, value in weights.items():
                assert torch.equal(resumed.weights[name][key], value), f"{name}.{key} differs after resume"
        assert torch.equal(resumed.figure, reference.figure)


def test_finish_reports_table_figure_and_artifacts():
    seed_everything(0)
    learner = _learner(objective="paper")
    metrics = _run(learner, learner.plan_steps + 10)
    assert learner.num_steps == learner.plan_steps + 10  # plan done: jumps to the requested step
    assert any("losses/pretrain_policy_loss" in m for m in metrics)
    assert any("train/baseline_val_accuracy" in m for m in metrics)
    out = learner.finish()
    assert out["complete"] is True
    for row in ("baseline", "heated", "heated_finetuned"):
        assert set(out["main"][row]) == {
            "accuracy",
            "precision",
            "recall",
            "f1",
            "balanced_accuracy",
            "roc_auc",
        }
        assert 0.0 <= out["main"][row]["accuracy"]["mean"] <= 1.0
    assert set(out["transfer"]) >= {
        "transfer_baseline",
        "transfer_heated",
        "transfer_heated_minus_transfer_baseline",
    }
    # per-class scores of the real models (issue 19): per seed, and summarised with 95 % intervals
    per_class = out["per_seed"]["0"]["heated_finetuned"]["per_class"]
    assert per_class["class"] == list(range(8)) and sum(per_class["support"]) > 0
    assert out["per_seed"]["0"]["transfer_heated"]["per_class"]["class"] == [8, 9]
    assert len(out["main_per_class"]["baseline"]["f1"]) == 8
    assert len(out["transfer_per_class"]["transfer_heated_minus_transfer_baseline"]["f1"]) == 2
    md = out["markdown"]
    assert "heated + fine-tuned" in md and "Unseen-concept transfer" in md and "Δ paired" in md
    assert "| class (F1) |" in md
    figure = out["figures"]["masks.png"]
    assert figure.dtype == torch.uint8 and figure.shape == (3 * 48, 4 * 48, 3)
    assert set(out["artifacts"]) == {"heated", "heated_finetuned", "baseline", "policy"}
    json.dumps({k: v for k, v in out.items() if k not in ("figures", "artifacts")})
    episodes = learner.evaluate(5, seed=1)
    assert len(episodes) == 5 and all(e["return"] <= 0 and e["length"] == 1 for e in episodes)
    action = learner.act(learner.env.splits["val"][0][0].numpy())
    assert action.shape == (4, 4) and action.dtype == np.float32 and np.abs(action).max() <= 1.0


def test_incomplete_budget_is_flagged_and_bad_config_is_refused():
    learner = _learner()
    _run(learner, 2000)
    out = learner.finish()
    assert out["complete"] is False and "run.total_steps=6000" in out["markdown"]
    with pytest.raises(ValueError, match="objective"):
        _learner(objective="ppo")
    with pytest.raises(ValueError, match="average_last"):
        _learner(average_last=5)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """One smoke-budget run through the CLI, shared by the tests that read its directory."""
    if not (ROOT / "agents" / "train.py").exists():
        pytest.skip("agents/train.py not written yet")
    root = tmp_path_factory.mktemp("noise_mask_cli")
    # The explicit env.kwargs below equal what the yaml interpolates (${data.name}, ${data.root}, ${model},
    # ${device}); they keep this smoke run independent of how the runtime resolves root interpolations.
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        "env=noise-mask-digits",
        "budget=smoke",
        f"run.root={root}",
        "seed=0",
        "run.progress=false",
        "env.kwargs.image_size=16",
        "env.kwargs.data=digits",
        "env.kwargs.root=null",
        "env.kwargs.model=null",
        "env.kwargs.device=cpu",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return next(p.parent for p in root.rglob("summary.json"))


def test_cli_smoke_run_writes_table_and_figure(smoke_run):
    summary = json.loads((smoke_run / "summary.json").read_text())
    assert summary["complete"] is True and "heated_finetuned" in summary["main"]
    assert "heated + fine-tuned" in (smoke_run / "summary.md").read_text()
    assert (smoke_run / "masks.png").stat().st_size > 0
    assert (smoke_run / "checkpoints" / "last" / "state.pt").exists()


def test_evaluate_split_scores_the_checkpoint_classifiers(smoke_run):
    proc = run_module("agents.evaluate", f"run={smoke_run}", "split=test")
    assert "| heated_finetuned |" in proc.stdout
    [out] = (smoke_run / "evaluations").glob("last_test_*.jsonl")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["model"] for r in rows] == ["baseline", "heated", "heated_finetuned"]
    per_seed = json.loads((smoke_run / "summary.json").read_text())["per_seed"]["0"]
    for row in rows:
        assert row["split"] == "test" and row["step"] == 10000 and row["replicate"] == 0
        for metric in ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc"):
            assert 0.0 <= row[metric] <= 1.0
            assert row[metric] == pytest.approx(per_seed[row["model"]][metric])  # the run's own test scores

    # mid-run (inside the baseline phase): the saved heated weights plus the classifier being trained
    run_module("agents.evaluate", f"run={smoke_run}", "split=val", "checkpoint=step_0000005000")
    [out] = (smoke_run / "evaluations").glob("step_0000005000_val_*.jsonl")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["model"] for r in rows] == ["heated", "heated_finetuned", "current baseline"]
    assert rows[-1]["epochs_done"] == 2

    bad = run_module("agents.evaluate", f"run={smoke_run}", "split=nope", check=False)
    assert bad.returncode == 2 and "unknown split 'nope'" in bad.stderr
    assert "train, val, test, unseen_train, unseen_val, unseen_test" in bad.stderr
    gone = run_module("agents.evaluate", f"run={smoke_run}", "split=unseen_test", check=False)
    assert gone.returncode == 2 and "no classifier for 'unseen_test'" in gone.stderr
    mixed = run_module("agents.evaluate", f"run={smoke_run}", "split=test", "episodes=3", check=False)
    assert mixed.returncode != 0 and "not split=" in mixed.stderr


def test_env_yaml_reads_data_model_and_device_shorthands():
    from hydra import compose, initialize_config_dir

    from agents.core.config import compose_run_config

    overrides = [
        "env=noise-mask-digits",
        "agent=noise-mask",
        "data=medmnist",
        "data.root=/x.npz",
        "model=resnet18",
    ]
    with initialize_config_dir(str(ROOT / "agents" / "conf"), version_base="1.3"):
        cfg = compose_run_config(compose("config", overrides=overrides), overrides)
    kwargs = OmegaConf.to_container(cfg.env, resolve=True)["kwargs"]
    assert (kwargs["data"], kwargs["root"], kwargs["model"], kwargs["device"]) == (
        "medmnist",
        "/x.npz",
        "resnet18",
        "cpu",
    )
    for env_name in ("noise-mask-digits", "noise-mask"):  # each budget's total_steps fits its plan exactly
        names = [f"env={env_name}", "agent=noise-mask"]
        with initialize_config_dir(str(ROOT / "agents" / "conf"), version_base="1.3"):
            cfg = compose_run_config(compose("config", overrides=names), names)
        transfer = 2 if cfg.env.kwargs.held_out_classes else 0
        for budget in ("smoke", "default", "paper"):
            b = cfg.env.budgets[budget]
            a = NoiseMaskConfig(**(OmegaConf.to_container(cfg.agent, resolve=True) | dict(b.agent)))
            base = a.baseline_epochs or a.pretrain_epochs + a.finetune_epochs
            epochs = a.pretrain_epochs + a.finetune_epochs + base + transfer * a.transfer_epochs
            assert b.run.total_steps == 1000 * a.replicates * epochs, (env_name, budget)
