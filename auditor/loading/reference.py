"""Reads an earlier audit's report.json: the reference a candidate is compared with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError


def load_reference(
    source: str | Path | dict[str, Any], role: str = "baseline report"
) -> dict[str, Any]:
    """Read an earlier audit's report.json to compare against (`--baseline`, `auditor compare`).

    ROLE names the file in the error a missing file gives.
    """
    if isinstance(source, dict):
        data = source
        where = str(source.get("source", "<baseline>"))
    else:
        where = str(source)
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AuditorError(f"{source}: {role} not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AuditorError(f"{source}: not a readable report.json ({exc})") from None
    if (
        not isinstance(data, dict)
        or "schema_version" not in data
        or not isinstance(data.get("splits"), dict)
    ):
        raise AuditorError(
            f"{where}: not an auditor report.json (no schema_version or splits); "
            "pass the report.json of an earlier audit"
        )
    return {**data, "source": where}
