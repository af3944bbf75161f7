"""Golden outputs: the five samples' report.json and HTML text stay what they were.

The goldens in tests/golden/ were written before the audit core was restructured (issue "One audit
core"); every field but timings, dates, versions and absolute paths must still match. Fields
added since (`engine`, the Ray issue's) were added to them alone, nothing else changed. Regenerate
them only for a change that means to alter the reports:
`python tests/test_golden.py samples/build REPORTS` after auditing each sample into REPORTS/NAME.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = ("healthy", "fraud", "overfit", "multiclass", "overregularized")
VOLATILE = ("created", "timings", "environment", "auditor_version")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def _paths(value: Any, roots: tuple[str, ...]) -> Any:
    """Replace absolute paths under ROOTS with their last two parts (sample/file.csv)."""
    if isinstance(value, dict):
        return {k: _paths(v, roots) for k, v in value.items()}
    if isinstance(value, list):
        return [_paths(v, roots) for v in value]
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root + "/", "")
    return value


def normalized_json(path: Path, roots: tuple[str, ...]) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in VOLATILE:
        data.pop(key, None)
    return _paths(data, roots)


def html_text(path: Path, roots: tuple[str, ...]) -> list[str]:
    """The report's visible text, one line per text line, with dates and paths normalized."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    page = re.sub(r'src="data:[^"]*"', "", page)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [STAMP.sub("<created>", line) for line in lines if line]
    lines = [line for line in lines if not line.startswith("python ")]  # the environment row
    return _paths(lines, roots)


def _audit_sample(name: str, out: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    folder = ROOT / "samples" / "build" / name
    args = ["audit", str(folder / "model.keras"), "--train", str(folder / "train.csv")]
    args += ["--val", str(folder / "val.csv")]
    for extra, option in (("test.csv", "--test"), ("history.csv", "--history")):
        if (folder / extra).exists():
            args += [option, str(folder / extra)]
    args += ["--out", str(out), "--format", "json,html", "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output


def _roots() -> tuple[str, ...]:
    return (str(ROOT / "samples" / "build"), str(ROOT / "rules"), str(ROOT))


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_reports_match_their_goldens(name: str, tmp_path: Path) -> None:
    from test_samples import _build

    _build(name)
    _audit_sample(name, tmp_path)
    roots = _roots()
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert normalized_json(tmp_path / "report.json", roots) == expected
    golden_text = (GOLDEN / f"{name}.html.txt").read_text(encoding="utf-8").splitlines()
    assert html_text(tmp_path / "report.html", roots) == golden_text


if __name__ == "__main__":  # python tests/test_golden.py BUILD REPORTS [RULES_ROOT]
    build, reports = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    code_root = sys.argv[3] if len(sys.argv) > 3 else str(ROOT)
    roots = (str(build), code_root + "/rules", code_root)
    for sample in SAMPLES:
        doc = normalized_json(reports / sample / "report.json", roots)
        (GOLDEN / f"{sample}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        lines = html_text(reports / sample / "report.html", roots)
        (GOLDEN / f"{sample}.html.txt").write_text("\n".join(lines) + "\n")
