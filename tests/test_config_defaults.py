"""One source of defaults: agent yamls carry only ``_target_``, ``name`` and deliberate overrides (issue 13).

A value equal to the learner's ``Config`` default is a second copy that can drift from the dataclass
(one did: ``icgnn-pg.yaml`` said batch 32 while the dataclass said 64); a key the dataclass lacks is a typo.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import hydra.utils
import pytest
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[1] / "agents" / "conf" / "agent"
KEPT = {"_target_", "name", "defaults"}


def _defaults(schema: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(schema):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


@pytest.mark.parametrize("yaml_file", sorted(CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_agent_yaml_holds_only_overrides(yaml_file: Path) -> None:
    node = OmegaConf.to_container(OmegaConf.load(yaml_file), resolve=False)
    assert isinstance(node, dict)
    schema = hydra.utils.get_class(node["_target_"]).Config
    defaults = _defaults(schema)
    unknown = sorted(k for k in node if k not in KEPT and k not in defaults)
    assert not unknown, f"{yaml_file.name}: keys {unknown} are not fields of {schema.__name__}"
    repeated = []
    for key, value in node.items():
        if key in KEPT:
            continue
        default = defaults[key]
        if dataclasses.is_dataclass(default):
            default = dataclasses.asdict(default)
        if value == default or (isinstance(default, tuple) and list(default) == value):
            repeated.append(key)
    assert not repeated, f"{yaml_file.name} repeats the {schema.__name__} defaults of {repeated}: delete them"
