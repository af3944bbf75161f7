"""Layers: values and the render layer never import the drivers, not even lazily or for typing.

Every import statement counts, wherever it is (inside a function, under TYPE_CHECKING), and so do
the imports of what is imported, as import-linter counts them.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"


def _module_file(name: str) -> Path | None:
    base = PACKAGE.parent / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _direct(name: str) -> frozenset[str]:
    """The auditor modules that module NAME's import statements name."""
    path = _module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t.startswith("auditor") and _module_file(t))
    return frozenset(found)


def _reachable(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for target in _direct(todo.pop()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _modules(folder: str) -> list[str]:
    return [f"auditor.{folder}.{p.stem}" for p in sorted((PACKAGE / folder).glob("*.py"))]


def _forbidden(name: str, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        m for m in _reachable(name) if any(m == p or m.startswith(p + ".") for p in prefixes)
    )


@pytest.mark.parametrize("name", ["auditor.result", *_modules("report")])
def test_values_and_reports_never_reach_the_drivers(name: str) -> None:
    assert _forbidden(name, ("auditor.api", "auditor.cli")) == []


def test_the_result_value_never_reaches_the_report_layer() -> None:
    assert _forbidden("auditor.result", ("auditor.report",)) == []


def test_the_walk_sees_lazy_imports() -> None:
    # The API imports the writer at module level and the CLI imports the API inside a function.
    assert "auditor.report.writer" in _reachable("auditor.api")
    assert "auditor.api" in _reachable("auditor.cli")
