"""Locates the templates and rule sets, both in an installed wheel and in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(packaged: str, top_level: str) -> Path:
    # The wheel maps the repository's top-level folders into the package (see pyproject.toml);
    # an editable or source checkout reads them where they live.
    inside = _PACKAGE / packaged
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / top_level


def templates_dir() -> Path:
    """Return the folder holding the Jinja2 templates."""
    return _find("_templates", "templates")


def rules_dir() -> Path:
    """Return the folder holding the bundled rule sets."""
    return _find("_rules", "rules")


def schema_path() -> Path:
    """Return the JSON Schema of report.json."""
    return _PACKAGE / "report" / "report.schema.json"
