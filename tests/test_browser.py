"""The HTML report renders in a real browser (headless Chromium) without errors."""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import evaluation, split_from_predictions

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
shot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shot)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shot.chromium() is None, reason="Chromium is not installed (make test installs it)"
    ),
]


def _report(tmp_path: Path) -> tuple[Path, str]:
    import numpy as np

    from auditor.regularization import recommend
    from auditor.report.writer import write_reports
    from auditor.result import AuditResult
    from auditor.rules import load_rule_set, run_rules

    rng = np.random.default_rng(0)
    y = np.array([0] * 150 + [1] * 50)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    classes = ("legit", "<script>alert(1)</script>")
    ev = evaluation(
        {n: split_from_predictions(n, y, p, classes) for n in ("train", "val")}, classes=classes
    )
    rules = load_rule_set()
    results = tuple(run_rules(ev, rules))
    result = AuditResult(
        ev, rules, results, tuple(recommend(ev, results)), created="2026-01-01T00:00:00+00:00"
    )
    write_reports(result, tmp_path, ("html",))
    return tmp_path / "report.html", result.verdict


def test_report_renders_in_chromium(tmp_path):
    html, _ = _report(tmp_path)
    png = tmp_path / "report.png"
    done = shot.screenshot(html, png, height=1600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.stat().st_size > 20_000, "a blank page would be a few kilobytes"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Uncaught" not in done.stderr  # no script errors (the report has no script at all)


def test_dom_in_chromium_shows_the_verdict_and_escaped_names(tmp_path):
    html, verdict = _report(tmp_path)
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                shot.chromium(),
                *shot.FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                html.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert f'<span class="badge {verdict}">{verdict.upper()}</span>' in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script>alert(1)" not in dom


# Marks every run of three or more letters, inside a short word, that the layout split across two
# lines. Long tokens (paths, key=value lists) may break anywhere; words may not.
_BROKEN_WORDS = """
<script>
window.addEventListener("load", () => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const broken = []; let words = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const token of node.textContent.matchAll(/\\S+/g)) {
      if (token[0].length > 30) continue;
      for (const run of token[0].matchAll(/[A-Za-z]{3,}/g)) {
        words++;
        const range = document.createRange();
        const start = token.index + run.index;
        range.setStart(node, start); range.setEnd(node, start + run[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                 .map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(run[0]);
      }
    }
  }
  document.title = "words:" + JSON.stringify({words, broken});
});
</script>
"""


def test_no_word_is_broken_mid_word(tmp_path):
    """In a narrow window, the findings and the advice wrap between words (long tokens aside)."""
    import json
    import re

    html, _ = _report(tmp_path)
    page = html.read_text(encoding="utf-8")
    assert '<dl class="facts">' in page and "Evidence" in page  # the advice's evidence is there
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _BROKEN_WORDS + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                shot.chromium(),
                *shot.FLAGS,
                f"--user-data-dir={profile}",
                "--window-size=640,2000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    found = re.search(r"<title>words:(.*?)</title>", dom)
    assert found, "the probe did not run"
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["words"] > 500
    assert result["broken"] == []
