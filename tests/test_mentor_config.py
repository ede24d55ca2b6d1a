"""MENTOR at its paper's settings (issue 16): ``budget=paper`` composes exactly the table in docs/mentor.md,
and the per-family values come from ``agent_presets`` (one mechanism, no env-id sniffing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from agents.core.config import CONF_DIR, available, compose_run_config
from agents.core.precheck import add_or_override

DOC = Path(__file__).resolve().parents[1] / "docs" / "mentor.md"


def _doc_table() -> tuple[list[str], dict[str, list[str]]]:
    """The table between the ``<!-- paper-settings -->`` markers: env names and ``key -> cells``."""
    text = DOC.read_text()
    body = text.split("<!-- paper-settings -->")[1]
    lines = [line for line in body.strip().splitlines() if line.startswith("|")]
    envs = [cell.strip().strip("`") for cell in lines[0].strip("|").split("|")[1:]]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return envs, rows


@pytest.fixture(scope="module", autouse=True)
def _hydra():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield


def _compose(overrides: list[str]):
    overrides = [add_or_override(arg) for arg in overrides]  # as the command line's pre-check does
    return compose_run_config(compose(config_name="config", overrides=overrides), overrides)


@pytest.fixture(scope="module")
def composed(_hydra):
    envs, _ = _doc_table()
    return {env: _compose([f"env={env}", "agent=mentor", "budget=paper"]) for env in envs}


def test_paper_budget_equals_the_documented_table(composed) -> None:
    envs, rows = _doc_table()
    assert len(envs) == 4 and len(rows) > 40
    for key, cells in rows.items():
        for env, cell in zip(envs, cells, strict=True):
            value = OmegaConf.select(composed[env], key, default="–")
            text = "null" if value is None else str(value)
            assert text == cell, f"{env} {key}: composed {text!r}, docs/mentor.md says {cell!r}"


def test_every_env_of_a_family_gets_the_same_mentor_preset() -> None:
    def preset(env: str):
        return OmegaConf.to_container(OmegaConf.load(CONF_DIR / "env" / f"{env}.yaml").agent_presets.mentor)

    for family, reference in (("metaworld-", "metaworld-hammer"), ("adroit-", "adroit-door")):
        members = [env for env in available("env") if env.startswith(family)]
        assert len(members) >= 4
        assert all(preset(env) == preset(reference) for env in members), family
    dmc = [env for env in available("env") if env.startswith("dmc-")]
    assert all("mentor" in OmegaConf.load(CONF_DIR / "env" / f"{env}.yaml").agent_presets for env in dmc)


def test_cli_overrides_beat_the_mentor_preset() -> None:
    overrides = [
        "env=adroit-door",
        "agent=mentor",
        "obs=pixels",
        "env.kwargs.frame_stack=3",
        "agent.expectile=0.8",
    ]
    cfg = _compose(overrides)
    assert cfg.obs == "pixels" and cfg.env.kwargs.obs == "pixels" and cfg.env.kwargs.frame_stack == 3
    assert cfg.agent.expectile == 0.8 and cfg.agent.proprio_encoder is True  # the rest of the preset stays
