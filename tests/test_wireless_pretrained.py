"""Shipped ICGNN weights (issue 17): every file loads through ``agent.pretrained`` and reaches the quality
recorded in its header on the fixed, seeded test set."""

from __future__ import annotations

import pytest
import torch

from agents.core.env_factory import EnvConfig, EnvFactory
from agents.icgnn.pretrained import PRETRAINED_DIR, SPECS, fixed_test_quality, read_metadata
from agents.icgnn.unsupervised import UnsupervisedConfig, UnsupervisedICGNN

torch.set_num_threads(1)
SHIPPED = sorted(p.stem for p in PRETRAINED_DIR.glob("*.safetensors"))


def _learner(name: str, **cfg) -> UnsupervisedICGNN:
    spec = SPECS[name]
    factory = EnvFactory(EnvConfig(name=name, id=spec["env_id"], kwargs=spec["kwargs"]))
    return UnsupervisedICGNN(UnsupervisedConfig(**({"pretrained": name} | cfg)), factory, seed=0)


def test_every_spec_ships_a_weight_file():
    assert SHIPPED == sorted(SPECS)
    assert all((PRETRAINED_DIR / f"{n}.safetensors").stat().st_size < 1_000_000 for n in SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_load_and_reach_recorded_quality(name):
    meta = read_metadata(name)
    learner = _learner(name, hidden=7, layers=1)  # the file's architecture wins over the config
    assert {k: learner.arch[k] for k in meta["arch"]} == meta["arch"]
    pct = fixed_test_quality(learner, SPECS[name], meta["test_networks"])
    assert pct == pytest.approx(meta["test_pct_wmmse"], abs=0.05)
    assert meta["command"].startswith("python -m agents.icgnn.pretrained")


def test_pretrained_errors_name_the_fix():
    with pytest.raises(ValueError, match="use one of"):
        _learner("ic", pretrained="nope")
    spec = SPECS["cellfree"]
    factory = EnvFactory(EnvConfig(name="c", id=spec["env_id"], kwargs=spec["kwargs"]))
    with pytest.raises(ValueError, match="scenario InterferenceChannel"):
        UnsupervisedICGNN(UnsupervisedConfig(pretrained="ic"), factory, seed=0)
