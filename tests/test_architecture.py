"""The layout of docs/architecture.md holds: imports only run down, modules stay small (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "policies", "agents")
METHODS = ("agents.n2n", "agents.noise_mask", "agents.visual", "agents.marl", "agents.icgnn", "agents.sb3")
CLIS = ("agents.train", "agents.evaluate", "agents.report", "agents.plot", "agents.list", "agents.api")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def _within(name: str, rooms: tuple[str, ...]) -> bool:
    return any(name == room or name.startswith(room + ".") for room in rooms)


def _forbidden(module: str) -> tuple[str, ...]:
    """Rooms that ``module`` must not import (docs/architecture.md, "Rooms")."""
    if module.startswith("envs"):
        return ("policies", "agents")
    if module.startswith("policies"):
        return ("agents",)
    if module == "agents" or module.startswith("agents.conf"):
        return ()
    if module.startswith("agents.core"):
        return ("agents.runtime", "agents.analysis", *METHODS, *CLIS)
    if module.startswith("agents.runtime"):
        return ("agents.analysis", *METHODS, *CLIS)
    if module.startswith("agents.analysis"):
        return (*METHODS, *CLIS)
    for method in METHODS:
        if _within(module, (method,)):
            return (*(m for m in METHODS if m != method), *CLIS, "agents.analysis")
    return ()


def test_imports_only_run_down() -> None:
    arrows = []
    for module, path in sorted(_modules().items()):
        bad = _forbidden(module)
        arrows += [f"{module} -> {name}" for name in sorted(_imports(path)) if _within(name, bad)]
    assert not arrows, "imports running back up:\n" + "\n".join(arrows)


@pytest.mark.parametrize("room", ["agents/core", "agents/runtime", "agents/analysis"])
def test_shared_rooms_exist_with_a_docstring(room: str) -> None:
    init = ROOT / room / "__init__.py"
    assert init.is_file()
    assert ast.get_docstring(ast.parse(init.read_text())), (
        f"{init} needs a docstring saying what the room holds"
    )


def test_no_module_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({n} lines)"
        for folder in (*PACKAGES, "benchmarks", "scripts", "examples")
        for path in (ROOT / folder).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    ]
    assert not long, "split these modules by concern: " + ", ".join(long)
