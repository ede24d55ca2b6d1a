"""Display options shared by ``agents.plot`` and ``agents.report`` (issue 14): agent labels, colours and
order, and the x-axis of learning curves in env steps or frames.

``labels=drqv2:DrQ-v2,sb3-sac:SAC`` renames agents everywhere (tables and figures; ``colors`` and
``order`` may use either name), ``colors=drqv2:#1f77b4,sb3-sac:tab:red`` fixes colours (any matplotlib
colour), ``order=sb3-sac,drqv2`` orders legends and bars (agents not named follow, sorted).
``x=frames`` multiplies each run's steps by its ``env.kwargs.action_repeat`` (1 when the env has none):
the x-axis of the DMC/Meta-World literature (one env step = ``action_repeat`` simulator frames).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

X_AXES = {"steps": "environment steps", "frames": "frames (env steps × action repeat)"}


@dataclass
class Style:
    """Agent display order and colours for the figures (labels are applied to the runs themselves)."""

    colors: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def sort(self, agents: Iterable[str]) -> list[str]:
        """``order`` first (those present), then the rest sorted."""
        present = list(dict.fromkeys(agents))
        head = [a for a in self.order if a in present]
        return head + sorted(a for a in present if a not in head)


def parse_pairs(spec: str | None, option: str) -> dict[str, str]:
    """``a:b,c:d`` -> ``{a: b, c: d}`` (a value may itself hold ``:``, e.g. ``tab:red``)."""
    from agents.analysis.cli import fail

    pairs: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition(":")
        if not sep or not key.strip() or not value.strip():
            fail(f"{option}={spec}: write {option}=<agent>:<value>,<agent>:<value>")
        pairs[key.strip()] = value.strip()
    return pairs


def style_from_options(opts: dict[str, Any]) -> tuple[dict[str, str], Style]:
    """``(labels, Style)`` from the ``labels``, ``colors`` and ``order`` options, validated."""
    from matplotlib.colors import is_color_like

    from agents.analysis.cli import fail

    labels = parse_pairs(opts.get("labels"), "labels")
    colors = {labels.get(k, k): v for k, v in parse_pairs(opts.get("colors"), "colors").items()}
    for agent, color in colors.items():
        if not is_color_like(color):
            fail(f"colors: {color!r} for {agent} is not a matplotlib colour (e.g. tab:red, #1f77b4, C3)")
    order = [labels.get(a.strip(), a.strip()) for a in (opts.get("order") or "").split(",") if a.strip()]
    return labels, Style(colors, order)


def relabel(runs: list, labels: dict[str, str]) -> list:
    """Copies of ``runs`` with agent names replaced by their display labels."""
    if not labels:
        return runs
    return [replace(run, agent=labels.get(run.agent, run.agent)) for run in runs]


def action_repeat(run: Any) -> int:
    """The run's ``env.kwargs.action_repeat`` (1 when absent): frames per env step."""
    kwargs = ((run.config or {}).get("env") or {}).get("kwargs") or {}
    try:
        return max(1, int(kwargs.get("action_repeat") or 1))
    except (TypeError, ValueError):
        return 1


def to_frames(groups: dict) -> dict:
    """Curves with steps multiplied by each run's action repeat."""
    return {
        key: [(run, replace(curve, steps=curve.steps * action_repeat(run))) for run, curve in pairs]
        for key, pairs in groups.items()
    }
