"""List what can be run: ``python -m agents.list`` (or ``pgsuite-list``).

Prints every env config (gym/PettingZoo id, family, observation and action spaces, default agent),
every agent config (learner class and the space kinds it accepts) and every suite (tasks, seeds,
metric). Configs come from ``agents/conf``, the ``hydra.searchpath=[...]`` given here and installed
``pgsuite.plugins``; ``python -m agents.list env`` (or ``agent``, ``suite``) prints one section.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")

from omegaconf import OmegaConf

from agents.core import search_path
from agents.core.config import ConfigError, available

SECTIONS = ("env", "agent", "suite")


def env_rows() -> list[list[str]]:
    """One row per env config: name, id, family, kind, observation, action, default agent."""
    from agents.core.spaces import env_spaces

    rows = []
    for name in available("env"):
        raw = OmegaConf.to_container(OmegaConf.load(search_path.find("env", name)), resolve=False)
        assert isinstance(raw, dict)
        try:
            spaces = env_spaces(raw)
            obs, action = spaces.observation, spaces.action
            if raw.get("family") == "robotics":
                obs = "image|vector (obs=state)|dict (obs=pixels+state)"
        except Exception as err:  # an env that cannot be built here (missing extra): say why, keep listing
            obs, action = f"? ({type(err).__name__})", "?"
        rows.append(
            [
                name,
                str(raw.get("id")),
                str(raw.get("family", "classic")),
                str(raw.get("kind", "gym")),
                obs,
                action,
                str(raw.get("default_agent") or "-"),
            ]
        )
    return rows


def agent_rows() -> list[list[str]]:
    """One row per agent config: name, learner class, accepted space kinds."""
    from agents.core.precheck import learner_class
    from agents.core.spaces import describe_accepted

    rows = []
    for name in available("agent"):
        try:
            cls, node = learner_class(name)
            rows.append(
                [name, f"{cls.__module__}.{cls.__qualname__}", describe_accepted(cls.accepted_spaces(node))]
            )
        except ConfigError as err:
            rows.append([name, "?", str(err)])
    return rows


def suite_rows() -> list[list[str]]:
    """One row per suite: name, number of tasks, seeds, metric, description."""
    from agents.core.suites import load_suite

    rows = []
    for name in available("suite"):
        suite = load_suite(name)
        seeds = ",".join(str(s) for s in suite.seeds)
        rows.append([name, str(len(suite.tasks)), seeds, suite.metric, suite.refs or "-", suite.description])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell (the last column is not padded)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 on a bad argument)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print("usage: python -m agents.list [env|agent|suite ...] ['hydra.searchpath=[file:///abs/conf]']\n")
        print(__doc__.strip())
        return 0
    wanted = [a for a in argv if "=" not in a]
    unknown = [a for a in wanted if a not in SECTIONS]
    try:
        if unknown:
            raise ConfigError(f"unknown section {unknown[0]!r}: choose from {', '.join(SECTIONS)}")
        from agents.core.precheck import with_searchpath

        try:
            with_searchpath([a for a in argv if "=" in a])
        except ValueError as err:  # SearchPathError / PluginError
            raise ConfigError(str(err)) from None
        wanted = wanted or list(SECTIONS)
        blocks = []
        if "env" in wanted:
            rows = env_rows()
            header = ["env", "id", "family", "kind", "observation", "action", "default agent"]
            blocks.append(f"Environments ({len(rows)})\n" + table(header, rows))
        if "agent" in wanted:
            rows = agent_rows()
            blocks.append(f"Agents ({len(rows)})\n" + table(["agent", "learner", "accepts"], rows))
        if "suite" in wanted:
            rows = suite_rows()
            header = ["suite", "tasks", "seeds", "metric", "refs", "description"]
            blocks.append(f"Suites ({len(rows)})\n" + table(header, rows))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n\n".join(blocks))
    print("\nRun one: python -m agents.train env=<env> agent=<agent>; a suite: suite=<suite> agent=<agent>")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
