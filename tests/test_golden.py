"""Golden outputs: the five samples' report.json and HTML text stay what they were.

The goldens in tests/golden/ were written before the audit core was restructured (issue "One audit
core"); every field but timings, dates, versions and absolute paths must still match. Fields
added since (`engine`, the Ray issue's) were added to them alone, nothing else changed.

The splits are built afresh (scikit-learn's datasets, written to six digits), but the models are
the ones in tests/golden/models/: training is not reproducible across processors (a 128x128 MLP
trained for 200 epochs on 200 rows ends elsewhere when the CPU's kernels sum in another order), so
a sample model trained on another machine would change the reports while the audit had not.
Regenerate the goldens only for a change that means to alter the reports:
`python tests/test_golden.py`.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
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


def _rounded(value: Any) -> Any:
    """Floats to 7 significant digits: a float32 forward pass on another CPU may differ in the
    last bits of a probability, which moves a log loss in its 8th digit, not a count or a
    verdict."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.7g}")
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


def _golden_sample(name: str, build: Path) -> Path:
    """BUILD/NAME: the sample's freshly built splits beside its golden model."""
    from test_samples import _build

    folder = build / name
    shutil.copytree(_build(name), folder, ignore=shutil.ignore_patterns("model.keras", ".stamp"))
    shutil.copyfile(GOLDEN / "models" / f"{name}.keras", folder / "model.keras")
    return folder


def _audit_sample(folder: Path, out: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    args = ["audit", str(folder / "model.keras"), "--train", str(folder / "train.csv")]
    args += ["--val", str(folder / "val.csv")]
    for extra, option in (("test.csv", "--test"), ("history.csv", "--history")):
        if (folder / extra).exists():
            args += [option, str(folder / extra)]
    args += ["--out", str(out), "--format", "json,html", "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output


def _roots(build: Path) -> tuple[str, ...]:
    return (str(build), str(ROOT / "rules"), str(ROOT))


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_reports_match_their_goldens(name: str, tmp_path: Path) -> None:
    _audit_sample(_golden_sample(name, tmp_path / "build"), tmp_path)
    roots = _roots(tmp_path / "build")
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert _rounded(normalized_json(tmp_path / "report.json", roots)) == _rounded(expected)
    golden_text = (GOLDEN / f"{name}.html.txt").read_text(encoding="utf-8").splitlines()
    assert html_text(tmp_path / "report.html", roots) == golden_text


if __name__ == "__main__":  # python tests/test_golden.py: rewrites the goldens
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build"
        for sample in SAMPLES:
            reports = Path(tmp) / "reports" / sample
            _audit_sample(_golden_sample(sample, build), reports)
            doc = normalized_json(reports / "report.json", _roots(build))
            (GOLDEN / f"{sample}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
            lines = html_text(reports / "report.html", _roots(build))
            (GOLDEN / f"{sample}.html.txt").write_text("\n".join(lines) + "\n")
