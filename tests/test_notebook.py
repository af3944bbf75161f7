"""The HTML a notebook shows for an audit (`AuditReport._repr_html_`), rendered and read back."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

from test_reports import EVIL, failing_result, passing_result
from test_reports import rule_set as rule_set  # the rule set with user strings, a fixture

from auditor.api import AuditReport
from auditor.result import AuditResult
from auditor.vocabulary import Status


class Fragment(HTMLParser):
    """The elements of the fragment, the text of each table row, and all the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.rows: list[str] = []
        self.text: list[str] = []
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(" ".join(" ".join(self._row).split()))
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._row is not None:
            self._row.append(data)


def as_report(result: AuditResult) -> AuditReport:
    return AuditReport(**{f.name: getattr(result, f.name) for f in dataclasses.fields(result)})


def shown(report: AuditReport) -> Fragment:
    fragment = Fragment()
    fragment.feed(report._repr_html_())
    return fragment


def test_a_failing_audit_shows_its_verdict_findings_and_top_recommendation(rule_set):
    report = as_report(failing_result(rule_set))
    page = shown(report)
    text = " ".join("".join(page.text).split())
    assert text.startswith("FAIL model " + EVIL)  # the verdict first, then the model's name
    findings = [r for r in report.results if r.status in (Status.FAILED, Status.ERROR)]
    assert len(page.rows) == len(findings) + 1  # a header row, then one row per finding
    blocking = {r.rule.id for r in report.blocking}
    for r in findings:
        row = next(row for row in page.rows if row.startswith(r.rule.id + " "))
        assert " ".join(r.message.split()) in row
        assert ("· blocks" in row) == (r.rule.id in blocking)
    assert f"{len(blocking)} blocking: {', '.join(sorted(blocking))}" in text
    top = report.recommendations[0]
    assert f"Top recommendation ({top.action}): {' '.join(top.reason.split())}" in text
    assert 'write_html("report.html")' in text


def test_user_strings_are_escaped(rule_set):
    html = as_report(failing_result(rule_set))._repr_html_()
    page = shown(as_report(failing_result(rule_set)))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script" not in page.tags
    assert EVIL in "".join(page.text)  # shown as text, whole


def test_a_passing_audit_shows_pass_and_its_warnings(rule_set):
    report = as_report(passing_result(rule_set))
    assert report.passed
    page = shown(report)
    text = " ".join("".join(page.text).split())
    assert text.startswith("PASS")
    warned = [r for r in report.results if r.status == Status.FAILED]
    assert len(page.rows) == (len(warned) + 1 if warned else 0)
    assert "blocking" not in text and "· blocks" not in text
