"""Shipped ICGNN weights (issue 17): ``agent.pretrained=<name>`` and ``python -m agents.icgnn.pretrained``.

Files live next to this module as ``weights/<name>.safetensors`` (tensors only, no pickle); the header
metadata records the architecture, the scenario, the training recipe (env kwargs, networks, batch, seed)
and the quality the weights reached on a fixed test set (``test_pct_wmmse`` on ``test_networks`` networks
drawn with ``test_seed`` at the 1× test sizes), which tests/test_wireless_pretrained.py checks again.

Reproduce a file: ``python -m agents.icgnn.pretrained <name> [--seed 0]`` (writes the file and prints the
recorded quality); ``--all`` retrains every entry of :data:`SPECS`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from envs.wireless.common import Scenario
from policies.icgnn import build_icgnn

PRETRAINED_DIR = Path(__file__).resolve().parent / "weights"
#: config fields that define the network's shape (stored in and restored from the weight file)
ARCH_KEYS = ("arch", "hidden", "layers", "channels", "message", "aggregation", "size_feature")

#: name → env id, training env kwargs, architecture (chosen by the sweep in docs/wireless.md: the IC's
#: cheapest setting ≥ 98.5 %; cell-free and MISO, where WMMSE is costlier, a wider one), networks, batch
#: size, 1× test kwargs (benchmarks/wireless.py tests
#: at 1×, 2×, 4× of these). Cell-free trains on a size range: with τ_p = 10 fixed, K = 10 never shows pilot
#: sharing; without the size input it generalised better to 4× in a probe (91 % against 89 % of WMMSE,
#: docs/wireless.md). ``ic-range`` is the IC trained on K ∈ [5, 20] (issue 17's second
#: size-generalisation row).
SPECS: dict[str, dict[str, Any]] = {
    "ic": {
        "env_id": "pgsuite/WirelessIC-v0",
        "kwargs": {"num_users": 10, "snr_db": 0.0},
        "arch": {"hidden": 32, "layers": 4, "channels": 4, "message": 8},
        "networks": 64000,
        "batch_size": 64,
        "test": {"num_users": 10, "snr_db": 0.0},
    },
    "ic-range": {
        "env_id": "pgsuite/WirelessIC-v0",
        "kwargs": {"num_users": [5, 20], "snr_db": 0.0},
        "arch": {"hidden": 32, "layers": 4, "channels": 4, "message": 8},
        "networks": 64000,
        "batch_size": 64,
        "test": {"num_users": 10, "snr_db": 0.0},
    },
    "cellfree": {
        "env_id": "pgsuite/WirelessCellFree-v0",
        "kwargs": {"num_aps": [20, 30], "num_users": [8, 16], "antennas": [2, 6]},
        "arch": {"hidden": 64, "layers": 4, "channels": 8, "message": 16, "size_feature": False},
        "networks": 32000,
        "batch_size": 32,
        "test": {"num_aps": 25, "num_users": 10, "antennas": 4},
    },
    "miso": {
        "env_id": "pgsuite/WirelessMIMO-v0",
        "kwargs": {"num_antennas": [6, 10], "num_users": [6, 10], "cg_iters": 4},
        "arch": {"hidden": 64, "layers": 4, "channels": 8, "message": 16},
        "networks": 32000,
        "batch_size": 64,
        "test": {"num_antennas": 8, "num_users": 8, "cg_iters": 4},
    },
}
TEST_NETWORKS, TEST_SEED = 200, 2026


def model_for(scenario: Scenario, head_factor: int, **arch: Any) -> nn.Module:
    """The GNN for ``scenario`` with ``head_factor`` × its action channels and the ``arch`` settings."""
    entity_only = {"aggregation": arch["aggregation"], "size_feature": arch["size_feature"]}
    extra = {} if arch["arch"] == "grid" else entity_only | {"paired": scenario.paired}
    return build_icgnn(
        arch["arch"],
        scenario.num_features,
        head_factor * scenario.out_channels,
        hidden=arch["hidden"],
        layers=arch["layers"],
        channels=arch["channels"],
        message=arch["message"],
        **extra,
    )


def resolve(name: str) -> Path:
    """A shipped name (``ic``) or a path to a .safetensors file → the file (clear error if neither)."""
    path = Path(name)
    if path.suffix == ".safetensors" and path.is_file():
        return path
    path = PRETRAINED_DIR / f"{name}.safetensors"
    if not path.is_file():
        have = sorted(p.stem for p in PRETRAINED_DIR.glob("*.safetensors"))
        raise ValueError(f"no pretrained ICGNN {name!r}: use one of {have} or a path to a .safetensors file")
    return path


def read_metadata(name: str) -> dict[str, Any]:
    """The decoded header metadata of a weight file."""
    from safetensors import safe_open

    with safe_open(resolve(name), framework="pt") as f:
        raw = f.metadata() or {}
    return {k: json.loads(v) for k, v in raw.items()}


def load_pretrained(
    name: str, scenario: Scenario, head_factor: int
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict, arch) of a weight file, checked against the scenario and the learner's head."""
    from safetensors.torch import load_file

    meta = read_metadata(name)
    want = (type(scenario).__name__, head_factor)
    have = (meta.get("scenario"), meta.get("head_factor"))
    if have != want:
        raise ValueError(
            f"pretrained {name!r} is for scenario {have[0]} with head_factor {have[1]}, not {want[0]} with "
            f"{want[1]}: pick the file of this env (see docs/wireless.md, 'Pretrained weights')"
        )
    defaults = {"aggregation": "mean", "size_feature": True}  # keys added after a file was written
    return load_file(resolve(name)), {k: meta["arch"].get(k, defaults.get(k)) for k in ARCH_KEYS}


def save_pretrained(path: Path, learner: Any, extra: dict[str, Any]) -> Path:
    """Write a learner's model and its metadata (architecture, scenario, ``extra``) as safetensors."""
    from safetensors.torch import save_file

    meta = {
        "arch": learner.arch,
        "scenario": type(learner.scenario).__name__,
        "head_factor": learner.head_factor,
        "objective": learner.objective,
    } | extra
    state = {k: v.detach().contiguous() for k, v in learner.model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})
    return path


def fixed_test_quality(learner: Any, spec: dict[str, Any], networks: int = TEST_NETWORKS) -> float:
    """ICGNN's mean objective as % of WMMSE's on the fixed test set of a spec (seeded, 1× sizes)."""
    sc = type(learner.scenario)(**spec["test"])
    res = learner.compare(sc.sample(np.random.default_rng(TEST_SEED), networks), sc)
    return float(100.0 * res["icgnn"].mean() / res["wmmse"].mean())


def train_pretrained(name: str, seed: int = 0, out_dir: Path = PRETRAINED_DIR, **arch: Any) -> dict[str, Any]:
    """Train the entry ``name`` of :data:`SPECS` (its architecture, updated by ``arch``), record its
    test quality and write ``<out_dir>/<name>.safetensors``; returns the metadata."""
    from agents.core.env_factory import EnvConfig, EnvFactory
    from agents.icgnn.unsupervised import UnsupervisedConfig, UnsupervisedICGNN

    spec = SPECS[name]
    factory = EnvFactory(EnvConfig(name=name, id=spec["env_id"], kwargs=spec["kwargs"]))
    arch = spec["arch"] | arch
    learner = UnsupervisedICGNN(UnsupervisedConfig(batch_size=spec["batch_size"], **arch), factory, seed=seed)
    start = time.perf_counter()
    for _ in learner.train_until(spec["networks"]):
        pass
    meta = {
        "env_id": spec["env_id"],
        "train_kwargs": spec["kwargs"],
        "train_networks": learner.num_steps,
        "batch_size": spec["batch_size"],
        "seed": seed,
        "train_seconds": round(time.perf_counter() - start, 1),
        "command": f"python -m agents.icgnn.pretrained {name} --seed {seed}",
        "test_kwargs": spec["test"],
        "test_networks": TEST_NETWORKS,
        "test_seed": TEST_SEED,
        "test_pct_wmmse": round(fixed_test_quality(learner, spec), 3),
    }
    save_pretrained(out_dir / f"{name}.safetensors", learner, meta)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description="Train and write the shipped ICGNN weights.")
    parser.add_argument("names", nargs="*", help=f"entries of SPECS: {sorted(SPECS)}")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=PRETRAINED_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = sorted(SPECS) if args.all else args.names
    unknown = set(names) - set(SPECS)
    if not names or unknown:
        parser.error(f"name one or more of {sorted(SPECS)} (or --all); unknown: {sorted(unknown)}")
    for name in names:
        meta = train_pretrained(name, args.seed, args.out_dir)
        print(
            f"{name}: {meta['test_pct_wmmse']:.2f} % of WMMSE on the fixed test set, {meta['train_seconds']} "
            f"s"
        )


if __name__ == "__main__":
    main()
