"""`auditor compare OLD.json NEW.json`: the side-by-side, its exit code and its escaping."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.comparison import compare_reports

GOLDEN = Path(__file__).resolve().parent / "golden"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def write(tmp_path: Path, name: str, doc: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


class Tags(HTMLParser):
    """Collects the elements of a page and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_a_worse_candidate_exits_1_with_metrics_deltas_and_findings(tmp_path):
    page = tmp_path / "compare.html"
    result = run(
        "compare", str(GOLDEN / "healthy.json"), str(GOLDEN / "overfit.json"), "--html", str(page)
    )
    assert result.exit_code == 1, result.output
    out = result.output
    assert out.startswith("## ❌ auditor compare: NEW is worse (PASS → FAIL)")
    # Metrics with the delta and its direction: val ROC AUC 0.999 -> 0.787.
    old = golden("healthy")["splits"]["val"]["metrics"]["roc_auc"]
    new = golden("overfit")["splits"]["val"]["metrics"]["roc_auc"]
    assert f"| val | ROC AUC | {old:.3f} | {new:.3f} | {new - old:+.3f} | ▼ worse |" in out
    # RG01 (error) blocks; RG02 and RG03 (warnings) fail without blocking at --fail-on error.
    assert "| ⛔ | RG01 | error | failed | ROC AUC on val drops from 0.999" in out
    assert "| ⚠️ | RG03 | warning | failed |" in out
    # Findings: the overfit audit's failures are new; the healthy one had none to resolve.
    added = [r["rule_id"] for r in golden("overfit")["results"] if r["status"] == "failed"]
    assert f"**Added in NEW** ({len(added)}):" in out and "**Resolved in NEW** (0)" in out
    assert all(f"- {rule} (" in out for rule in added)
    assert "- add\\_l1: The model overfits" in out  # NEW's recommendations, escaped
    parsed = Tags()
    parsed.feed(page.read_text())
    text = " ".join(parsed.text)
    assert "NEW IS WORSE" in text and "RG01" in text and "Added in NEW (5)" in text


def test_the_same_report_twice_is_not_worse(tmp_path):
    result = run("compare", str(GOLDEN / "fraud.json"), str(GOLDEN / "fraud.json"))
    assert result.exit_code == 0, result.output
    assert "NEW is not worse (FAIL → FAIL)" in result.output
    assert "**Added in NEW** (0)" in result.output and "**Resolved in NEW** (0)" in result.output
    assert "| val | Accuracy |" in result.output and "▼" not in result.output


@pytest.mark.parametrize(("drop", "code"), [(0.005, 0), (0.02, 1)])
def test_the_gate_is_rg01s_limit_on_the_roc_auc_drop(tmp_path, drop, code):
    old = golden("healthy")
    new = copy.deepcopy(old)
    new["splits"]["val"]["metrics"]["roc_auc"] -= drop
    result = run("compare", write(tmp_path, "old.json", old), write(tmp_path, "new.json", new))
    assert result.exit_code == code, result.output
    # The same rule, judged as --baseline judges it: the limit 0.01 comes from the rule set.
    comparison = compare_reports(old, new)
    rg01 = next(r for r in comparison.results if r.rule.id == "RG01")
    assert rg01.status == ("failed" if code else "passed")
    assert {r.rule.id for r in comparison.results} == {"RG01", "RG02", "RG03"}


def test_fail_on_and_the_rule_set_choose_what_counts(tmp_path):
    old, new = str(GOLDEN / "healthy.json"), str(GOLDEN / "overfit.json")
    assert run("compare", old, new, "--fail-on", "never").exit_code == 0
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("extends: default\nname: lenient\nversion: '1'\ndisable: [RG01]\n")
    assert run("compare", old, new, "--rules", str(lenient)).exit_code == 0
    assert run("compare", old, new, "--rules", str(lenient), "--fail-on", "warning").exit_code == 1


def test_findings_resolved_and_kept(tmp_path):
    old, new = golden("overfit"), copy.deepcopy(golden("overfit"))
    for r in new["results"]:
        if r["rule_id"] == "OF01":
            r["status"] = "passed"
    comparison = compare_reports(old, new)
    assert [r["rule_id"] for r in comparison.resolved] == ["OF01"]
    assert comparison.added == [] and "OF01" not in {r["rule_id"] for r in comparison.kept}


def test_user_strings_are_escaped_in_markdown_and_html(tmp_path):
    old = golden("healthy")
    new = copy.deepcopy(golden("fraud"))
    evil = "<script>alert(1)</script>|*x*"
    new["model"]["path"] = evil
    new["results"][0]["message"] = '<img src=x onerror="alert(2)"> | bad'
    new["recommendations"] = [{"action": "<u>act</u>", "reason": "<iframe></iframe>"}]
    new["verdict"] = "<img src=y>"
    new["results"][0]["severity"] = "<script>sev</script>"
    page = tmp_path / "c.html"
    result = run(
        "compare",
        write(tmp_path, "old.json", old),
        write(tmp_path, "new.json", new),
        "--html",
        str(page),
    )
    out = result.output
    assert "<script>" not in out and "<img" not in out and "<iframe>" not in out
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;\\|\\*x\\*" in out
    parsed = Tags()
    parsed.feed(page.read_text())
    assert not {"script", "img", "iframe", "u"} & set(parsed.tags)
    assert evil in "".join(parsed.text)  # shown as text, whole


def test_bad_input_is_one_error_line_and_exit_2(tmp_path):
    missing = run("compare", str(tmp_path / "gone.json"), str(GOLDEN / "healthy.json"))
    assert missing.exit_code == 2
    assert missing.output.strip() == f"Error: {tmp_path / 'gone.json'}: report not found"
    other = write(tmp_path, "other.json", {"hello": 1})
    wrong = run("compare", str(GOLDEN / "healthy.json"), other)
    assert wrong.exit_code == 2 and wrong.output.count("\n") == 1
    assert f"Error: {other}: not an auditor report.json" in wrong.output
    broken = golden("healthy")
    del broken["classes"]
    cut = write(tmp_path, "cut.json", broken)
    incomplete = run("compare", str(GOLDEN / "healthy.json"), cut)
    assert incomplete.exit_code == 2
    assert incomplete.output.startswith(f"Error: {cut}: not a complete auditor report.json")
