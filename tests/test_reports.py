"""Reports read back: JSON against its schema, JUnit, Markdown, HTML and PDF, and write errors."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import evaluation, split_from_predictions, split_with_metrics
from jsonschema import Draft202012Validator
from pypdf import PdfReader

from auditor.errors import OutputError
from auditor.regularization import Recommendation, recommend
from auditor.report import json_report
from auditor.report.writer import FORMATS, write_reports
from auditor.resources import schema_path
from auditor.result import AuditResult
from auditor.rules import RuleResult, RuleSet, load_rule_set, run_rules
from auditor.rules.engine import by_cause
from auditor.vocabulary import FAIL_ON, Category, Severity, Status

EVIL = "<script>alert(1)</script> & | co"
EVIL_FEATURE = "amount<script>alert(1)</script>&|"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
EVIL_MD = r"&lt;script&gt;alert\(1\)&lt;/script&gt;"
SCHEMA = json.loads(schema_path().read_text(encoding="utf-8"))
TEXT_FORMATS = ("json", "html", "junit", "md")
EXTRA_RULES = f"""
name: team <&|>
version: "2.0"
extends: default
rules:
  - id: TS01
    kind: accuracy_paradox
    severity: error
    params: {{split: test}}
    summary: Accuracy paradox on the test split.
    why: Same as AP01, on held-out data.
    what_to_do: Same as AP01.
  - id: TS02
    kind: calibration_error
    severity: info
    params: {{split: test, max_ece: 0.05}}
    summary: "Test calibration {EVIL}"
    why: "Scores on {EVIL} are read as probabilities."
    what_to_do: "Calibrate {EVIL}."
"""


# ---- building results without Keras -------------------------------------------------------------


@pytest.fixture(scope="module")
def rule_set(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    path = tmp_path_factory.mktemp("rules") / "team.yaml"
    path.write_text(EXTRA_RULES, encoding="utf-8")
    return load_rule_set(path)


def _with_user_strings(ev: Any) -> Any:
    model = dataclasses.replace(ev.model, name=f"model {EVIL}", path=f"models/{EVIL}.keras")
    return dataclasses.replace(ev, model=model, features=("age", EVIL_FEATURE, "c"))


def failing_result(rule_set: RuleSet) -> AuditResult:
    """Binary; overfit, the user-named class under its recall floor, a single-class test split."""
    rng = np.random.default_rng(0)
    classes = ("legit", EVIL)
    n = 200
    y = (rng.uniform(size=n) < 0.3).astype(int)
    train = np.clip(0.8 * y + rng.uniform(0, 0.2, n), 0, 1)
    yv = (rng.uniform(size=n) < 0.3).astype(int)
    val = np.clip(0.3 * yv + rng.uniform(0, 0.45, n), 0, 1)
    yt = np.zeros(50, dtype=int)
    test = rng.uniform(0, 0.4, 50)
    ev = evaluation(
        {
            "train": split_from_predictions("train", y, train, classes),
            "val": split_from_predictions("val", yv, val, classes),
            "test": split_from_predictions("test", yt, test, classes),
        },
        classes,
    )
    ev = _with_user_strings(ev)
    results = list(run_rules(ev, rule_set))
    # What the engine records when a kind raises: an error result that also fails the gate.
    template = rule_set.get("CI01")
    assert template is not None
    broken = dataclasses.replace(template, id="ER01")
    results.append(
        RuleResult(rule=broken, status="error", message="The check raised ZeroDivisionError: x")
    )
    advice = Recommendation(
        action="add_l2_regularization",
        layers=("dense",),
        current={"l2": 0.0},
        suggested={"l2": 0.001},
        reason=f"Validation loss is far above training loss; class {EVIL} is missed.",
        evidence=("OF01 failed", f"recall of {EVIL} 0.49"),
        expected_effect="Smaller gap between training and validation loss.",
        snippet="keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(1e-3))",
        details={"per_layer": {"dense": 0.001}},
    )
    return AuditResult(
        evaluation=ev,
        rule_set=rule_set,
        results=tuple(results),
        recommendations=(*recommend(ev, results), advice),
        fail_on="error",
        created="2024-05-01T12:00:00+00:00",
        timings={"rules": 0.01},
    )


def passing_result(rule_set: RuleSet) -> AuditResult:
    """Three classes, one user-named; generalizes but under-confident (a warning), no test split."""
    rng = np.random.default_rng(1)
    classes = ("cat", EVIL, "dog")

    def split(name: str, n: int) -> Any:
        y = rng.integers(0, 3, n)
        logits = rng.normal(size=(n, 3))
        logits[np.arange(n), y] += 2.5
        e = np.exp(0.5 * logits)
        return split_from_predictions(name, y, e / e.sum(axis=1, keepdims=True), classes)

    ev = _with_user_strings(
        evaluation({"train": split("train", 300), "val": split("val", 150)}, classes)
    )
    results = tuple(run_rules(ev, rule_set))
    advice = tuple(recommend(ev, results))
    return AuditResult(
        ev, rule_set, results, advice, fail_on="error", created="2024-05-01T12:00:00+00:00"
    )


@pytest.fixture(scope="module")
def failing(
    rule_set: RuleSet, tmp_path_factory: pytest.TempPathFactory
) -> tuple[AuditResult, Path]:
    result = failing_result(rule_set)
    out = tmp_path_factory.mktemp("failing")
    write_reports(result, out, TEXT_FORMATS)
    return result, out


@pytest.fixture(scope="module")
def passing(
    rule_set: RuleSet, tmp_path_factory: pytest.TempPathFactory
) -> tuple[AuditResult, Path]:
    result = passing_result(rule_set)
    out = tmp_path_factory.mktemp("passing")
    write_reports(result, out, TEXT_FORMATS)
    return result, out


@pytest.fixture(params=["failing", "passing"])
def written(request: pytest.FixtureRequest) -> tuple[AuditResult, Path]:
    return request.getfixturevalue(request.param)


def failed_ids(result: AuditResult) -> list[str]:
    return [r.rule.id for r in result.results if r.status in ("failed", "error")]


def test_scenarios_cover_every_case(
    failing: tuple[AuditResult, Path], passing: tuple[AuditResult, Path]
) -> None:
    bad, good = failing[0], passing[0]
    assert bad.verdict == "fail" and good.verdict == "pass"
    statuses = {r.status for r in bad.results}
    assert {"passed", "failed", "not_applicable", "error"} <= statuses
    assert any(EVIL in r.message for r in bad.results if r.status == "failed")
    assert bad.evaluation.splits["test"].metrics["roc_auc"] is None
    assert failed_ids(good) == ["CA01"]  # a warning: shown, but it does not block the gate
    assert {r.status for r in good.results} == {"passed", "failed", "not_applicable"}


def test_writes_the_requested_files(written: tuple[AuditResult, Path]) -> None:
    _, out = written
    assert sorted(p.name for p in out.iterdir()) == [
        "junit.xml",
        "report.html",
        "report.json",
        "summary.md",
    ]


# ---- report.json --------------------------------------------------------------------------------


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"report.json holds {constant}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


def _schema_errors(doc: Any) -> list[str]:
    validator = Draft202012Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def test_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_schema_enums_match_the_vocabulary() -> None:
    result = SCHEMA["$defs"]["result"]["properties"]
    # The schema lists categories by topic, the enum in reading order: the same words.
    assert sorted(result["category"]["enum"]) == sorted(Category.values())
    assert len(result["category"]["enum"]) == len(Category)
    assert tuple(result["status"]["enum"]) == Status.values()
    assert tuple(result["severity"]["enum"]) == Severity.values()
    assert tuple(SCHEMA["properties"]["fail_on"]["enum"]) == FAIL_ON
    summary = SCHEMA["$defs"]["summary"]["properties"]
    assert sorted(summary["counts"]["required"]) == sorted(Status.values())
    assert sorted(summary["failed_by_severity"]["required"]) == sorted(Severity.values())
    assert re.fullmatch(
        SCHEMA["properties"]["schema_version"]["pattern"], json_report.SCHEMA_VERSION
    )


def test_json_round_trips_and_validates(written: tuple[AuditResult, Path]) -> None:
    result, out = written
    doc = _strict_json((out / "report.json").read_text(encoding="utf-8"))
    assert doc == json_report.report_dict(result)
    assert doc == _strict_json(json_report.report_json(result))
    assert _schema_errors(doc) == []
    assert doc["verdict"] == result.verdict
    assert doc["classes"] == list(result.evaluation.classes)  # user strings kept verbatim
    assert EVIL_FEATURE in doc["features"]
    assert sorted(r["rule_id"] for r in doc["results"]) == sorted(r.rule.id for r in result.results)
    assert doc["summary"]["blocking"] == [r.rule.id for r in result.blocking]
    for name, split in result.evaluation.splits.items():
        assert doc["splits"][name]["n_rows"] == split.n_rows
        assert doc["splits"][name]["confusion_matrix"] == split.confusion_matrix


def test_json_undefined_metrics_are_null(failing: tuple[AuditResult, Path]) -> None:
    _, out = failing
    doc = _strict_json((out / "report.json").read_text(encoding="utf-8"))
    test = doc["splits"]["test"]["metrics"]
    assert test["roc_auc"] is None and test["pr_auc"] is None
    assert test["per_class"][EVIL]["roc_auc"] is None
    assert doc["recommendations"][-1]["action"] == "add_l2_regularization"


def test_json_nan_and_infinity_become_null(tmp_path: Path) -> None:
    split = split_with_metrics(
        "val", expected_calibration_error=float("nan"), log_loss=float("inf")
    )
    ev = evaluation({"train": split_with_metrics("train"), "val": split})
    result = AuditResult(ev, load_rule_set(), tuple(run_rules(ev, load_rule_set())), ())
    (path,) = write_reports(result, tmp_path, ("json",))
    doc = _strict_json(path.read_text(encoding="utf-8"))
    assert doc["splits"]["val"]["metrics"]["expected_calibration_error"] is None
    assert doc["splits"]["val"]["metrics"]["log_loss"] is None
    assert _schema_errors(doc) == []


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    if value is KeyError:
        del doc[last]
    else:
        doc[last] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("verdict", "maybe"),
        ("schema_version", "2.0"),
        ("model.n_classes", KeyError),
        ("model.task", "regression"),
        ("splits.val.n_rows", -1),
        ("splits.val.metrics.accuracy", "high"),
        ("splits.val.metrics.roc_auc", 1.5),
        ("splits.val.metrics.per_class", KeyError),
        ("splits.val.metrics.per_class.legit.support", 2.5),
        ("results.0.category", "vibes"),
        ("results.0.status", "ok"),
        ("results.0.severity", "critical"),
        ("results.0.threshold", KeyError),
        ("recommendations.0.action", KeyError),
        ("regularization.weights.layers.0.n_weights", -1),
    ],
)
def test_schema_rejects_broken_reports(
    failing: tuple[AuditResult, Path], path: str, value: Any
) -> None:
    doc = json_report.report_dict(failing[0])
    _set(doc, path, value)
    assert _schema_errors(doc), f"schema accepted {path} = {value!r}"


def test_schema_allows_extensions(failing: tuple[AuditResult, Path]) -> None:
    doc = json_report.report_dict(failing[0])
    doc["new_section"] = {"anything": [1, 2]}
    doc["model"]["new_fact"] = "x"
    doc["splits"]["val"]["metrics"]["matthews_corrcoef"] = 0.4
    doc["results"][0]["waiver"] = {"by": "someone"}
    assert _schema_errors(doc) == []


# ---- junit.xml ----------------------------------------------------------------------------------


def test_junit_has_one_case_per_result(written: tuple[AuditResult, Path]) -> None:
    result, out = written
    raw = (out / "junit.xml").read_bytes()
    assert b"<script" not in raw.lower()
    root = ET.fromstring(raw)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(result.results)
    by_id = {case.get("name", "").split(" ", 1)[0]: case for case in cases}
    assert set(by_id) == {r.rule.id for r in result.results}
    for r in result.results:
        case = by_id[r.rule.id]
        assert case.get("name") == f"{r.rule.id} {r.rule.summary}"  # user text survives escaping
        children = {child.tag for child in case}
        outcome = children & {"failure", "error", "skipped"}
        expected = {"failed": {"failure"}, "error": {"error"}, "not_applicable": {"skipped"}}
        blocks = r in result.blocking
        want = expected.get(r.status, set()) if blocks or r.status == "not_applicable" else set()
        assert outcome == want, r.rule.id
        if r.status in ("failed", "error") and not blocks:  # below --fail-on: a passing case
            assert "does not block" in (case.findtext("system-out") or ""), r.rule.id
        if r.status == "failed" and blocks:
            failure = case.find("failure")
            assert failure is not None
            assert failure.get("message") == r.message
            assert failure.get("type") == r.rule.severity
    counts = {s: sum(r.status == s for r in result.results) for s in Status.values()}
    assert suite.get("tests") == str(len(result.results))
    blocking = result.blocking
    assert suite.get("failures") == str(sum(r.status == "failed" for r in blocking))
    assert suite.get("errors") == str(sum(r.status == "error" for r in blocking))
    assert suite.get("skipped") == str(counts["not_applicable"] + counts["waived"])
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == result.verdict
    assert props["model"] == result.evaluation.model.path
    assert (props["input_kind"], props["engine"]) == ("table", "local")


def test_junit_counts_only_what_blocks_the_gate(failing: tuple[AuditResult, Path]) -> None:
    result, out = failing
    warned = [r for r in result.results if r.status == "failed" and r not in result.blocking]
    assert warned and result.blocking  # both kinds of failure are in this result
    (suite,) = ET.fromstring((out / "junit.xml").read_bytes()).findall("testsuite")
    failures = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    blocking_ids = {r.rule.id for r in result.blocking if r.status == "failed"}
    assert {c.get("name", "").split(" ", 1)[0] for c in failures} == blocking_ids
    assert suite.get("failures") == str(len(blocking_ids))


# ---- summary.md ---------------------------------------------------------------------------------


def test_markdown_summary(written: tuple[AuditResult, Path]) -> None:
    result, out = written
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert result.verdict.upper() in text.splitlines()[0]
    ev = result.evaluation
    assert f"{len(ev.classes)} classes, table input)" in text
    sizes = ", ".join(f"{name} {s.n_rows:,} rows" for name, s in ev.splits.items())
    from auditor.report.markdown import render_markdown

    assert f"Data: {sizes}.\n" in text  # an evaluation built by hand: no engine ran
    ran = {"name": "ray", "workers": 2, "shards": 40, "rows": 10, "address": "auto"}
    with_engine = dataclasses.replace(result, evaluation=dataclasses.replace(ev, engine=ran))
    assert f"Data: {sizes}. Engine: ray, 2 workers, 40 shards.\n" in render_markdown(with_engine)
    for rule_id in failed_ids(result):
        assert rule_id in text
    assert "<script" not in text.lower()
    assert "</script" not in text.lower()
    # A '|' in user text must not split a table cell: every row keeps its 6 column bars.
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    causes = by_cause(r for r in result.results if r.status in ("failed", "error"))
    assert len(rows) == len(causes) + 1  # one row per cause, its other rules named in it
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 6, row


def test_one_cause_is_one_entry_in_the_summaries(failing: tuple[AuditResult, Path]) -> None:
    """OF01 and OF02 judge one loss gap at two limits: the error leads, the warning is named."""
    result, out = failing
    failed = {r.rule.id for r in result.results if r.status == "failed"}
    assert {"OF01", "OF02", "RC01", "RC02"} <= failed
    rows = [line for line in (out / "summary.md").read_text(encoding="utf-8").splitlines()]
    of01 = [row for row in rows if row.startswith("| ⛔ | OF01 |")]
    assert len(of01) == 1 and of01[0].endswith("(same cause: OF02, warning) |")
    assert not any(row.split(" | ")[1:2] == ["OF02"] for row in rows)
    assert any("(same cause: RC02, warning)" in row for row in rows if "| RC01 |" in row)
    # The HTML's three most important findings are three causes, not one cause twice.
    raw = (out / "report.html").read_text(encoding="utf-8")
    top = raw.split('<ol class="toplist">', 1)[1].split("</ol>", 1)[0]
    leaders = re.findall(r"<b>(\w+)</b>", top)
    assert len(leaders) == 3 and "OF02" not in leaders and "RC02" not in leaders
    assert "same cause: OF02, warning" in top


def test_causes_group_one_kind_on_one_subject() -> None:
    """Same kind and same split/classes/metric: one cause; another split or kind: another."""
    rule_set = load_rule_set()
    by_id = {rule.id: rule for rule in rule_set.rules}

    def failed(rule_id: str, **params: object) -> RuleResult:
        rule = by_id[rule_id]
        rule = dataclasses.replace(rule, params={**rule.params, **params})
        return RuleResult(rule=rule, status=Status.FAILED, message=rule_id)

    results = [failed("OF02"), failed("OF01"), failed("OF03"), failed("RC02", split="test")]
    results += [failed("RC01"), failed("LK04"), failed("LK05")]
    causes = [(lead.rule.id, [o.rule.id for o in same]) for lead, same in by_cause(results)]
    assert causes == [
        ("LK05", ["LK04"]),
        ("OF01", ["OF02"]),
        ("RC01", []),
        ("OF03", []),
        ("RC02", []),
    ]


def test_markdown_escapes_user_strings(failing: tuple[AuditResult, Path]) -> None:
    result, out = failing
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert EVIL_MD in text  # the RC01 message names the class
    assert "&amp;" in text
    assert result.recommendations[0].action.replace("_", r"\_") in text


# ---- report.html --------------------------------------------------------------------------------

URL_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "action",
    "formaction",
    "poster",
    "data",
    "srcset",
    "background",
}
REMOTE = ("http:", "https:", "//", "file:", "ftp:")


class _Page(HTMLParser):
    """Collects tags, attributes and the text a reader sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(out: Path) -> tuple[str, _Page]:
    raw = (out / "report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(raw)
    page.close()
    return raw, page


def test_html_has_no_script_and_escapes_user_strings(written: tuple[AuditResult, Path]) -> None:
    result, out = written
    raw, page = _page(out)
    assert "<script" not in raw.lower()
    assert all(tag != "script" for tag, _ in page.tags)
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert EVIL_ESCAPED in raw
    text = " ".join(" ".join(page.text).split())
    # The reader sees the user's strings literally, as text, not as markup.
    for shown in (EVIL, EVIL_FEATURE, result.evaluation.model.name):
        assert " ".join(shown.split()) in text


def test_html_is_self_contained(written: tuple[AuditResult, Path]) -> None:
    _, out = written
    raw, page = _page(out)
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert not value.strip().lower().startswith(REMOTE), (
                    f"<{tag} {name}={value[:60]!r}>"
                )
        if tag == "img":
            assert attrs["src"].startswith("data:image/"), attrs["src"][:60]
        assert tag not in ("link", "iframe", "object", "embed", "base")
    lowered = raw.lower()
    assert "@import" not in lowered
    for found in re.findall(r"url\(\s*['\"]?([^)'\"]*)", lowered):
        assert found.startswith("data:"), found


def test_html_images_are_inert_png(written: tuple[AuditResult, Path]) -> None:
    import matplotlib.image

    _, out = written
    _, page = _page(out)
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) >= 4
    for attrs in images:
        header, payload = attrs["src"].split(",", 1)
        assert header == "data:image/png;base64"
        pixels = matplotlib.image.imread(io.BytesIO(base64.b64decode(payload)), format="png")
        height, width = pixels.shape[:2]
        assert 300 <= width <= 2000 and 150 <= height <= 3000, (width, height)
        assert pixels[..., :3].std() > 0.05  # drawn, not blank
        # Shown at the size the figure was laid out for (96 CSS px an inch, drawn at 150 dpi),
        # so every figure's text has the same size.
        shown = int(re.fullmatch(r"width: (\d+)px", attrs["style"]).group(1))  # type: ignore[union-attr]
        assert abs(shown * 150 / 96 - width) <= 2, (shown, width)


def test_html_shows_verdict_and_failed_rules(written: tuple[AuditResult, Path]) -> None:
    result, out = written
    raw, page = _page(out)
    text = " ".join(page.text)
    verdict = result.verdict
    assert f'<span class="badge {verdict}">{verdict.upper()}</span>' in raw
    assert re.search(rf"\b{verdict.upper()}\b", text)
    for rule_id in failed_ids(result):
        assert rule_id in text
        assert any(attrs.get("id") == f"rule-{rule_id}" for _, attrs in page.tags)
    for advice in result.recommendations:
        assert advice.action in text


# ---- report.pdf ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_pdf_text_holds_the_findings(failing: tuple[AuditResult, Path], tmp_path: Path) -> None:
    result, _ = failing
    (path,) = write_reports(result, tmp_path, ("pdf",))
    assert path.read_bytes().startswith(b"%PDF-")
    reader = PdfReader(path)
    # Layout mode: plain mode spends tens of seconds walking the SVG plots' drawing operators.
    pages = (page.extract_text(extraction_mode="layout") for page in reader.pages)
    text = " ".join(" ".join(pages).split())
    assert re.search(r"\bFAIL\b", text)
    for rule_id in failed_ids(result):
        assert rule_id in text
    assert result.recommendations
    for advice in result.recommendations:
        assert advice.action in text
    assert "alert(1)" in text  # the user's string is printed as text


@pytest.mark.slow
def test_no_pdf_page_holds_only_headings(failing: tuple[AuditResult, Path], tmp_path: Path) -> None:
    result, _ = failing
    (path,) = write_reports(result, tmp_path, ("pdf",))
    running = re.compile(r"^(auditor report — .*|page \d+ of \d+|PASS|FAIL)$")
    for number, page in enumerate(PdfReader(path).pages, start=1):
        lines = [line.strip() for line in page.extract_text(extraction_mode="layout").splitlines()]
        body = [line for line in lines if line and not running.match(line)]
        # A heading alone (the rule table pushed to the next page) is a page of a few words.
        assert sum(len(line) for line in body) > 60, (number, body)


# ---- write errors -------------------------------------------------------------------------------


def _tiny_result() -> AuditResult:
    ev = evaluation({"train": split_with_metrics("train"), "val": split_with_metrics("val")})
    rules = load_rule_set()
    return AuditResult(ev, rules, tuple(run_rules(ev, rules)), ())


def test_unknown_format_raises(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    with pytest.raises(OutputError, match="unknown report format.*docx"):
        write_reports(_tiny_result(), out, ("json", "docx"))
    assert not out.exists()
    assert "docx" not in FORMATS


def test_folder_that_cannot_be_created_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        write_reports(_tiny_result(), blocker / "reports", ("json", "md", "junit"))
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to any folder")
def test_read_only_folder_raises(tmp_path: Path) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            write_reports(_tiny_result(), out, ("json", "md", "junit"))
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o700)


def test_folder_reported_unwritable_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same check as above, also when the tests run as root (root may write anywhere).
    out = tmp_path / "locked"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == out else real_access(p, mode, **kw)
    )
    with pytest.raises(OutputError, match="not writable"):
        write_reports(_tiny_result(), out, ("json", "md"))
    assert list(out.iterdir()) == []


def test_failure_on_the_first_file_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "summary.md").mkdir()  # a folder where a report file should go: rename fails
    with pytest.raises(OutputError, match="cannot write the report"):
        write_reports(_tiny_result(), tmp_path, ("md", "json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]


def test_failure_on_a_later_file_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "summary.md").mkdir()
    with pytest.raises(OutputError, match="cannot write the report"):
        write_reports(_tiny_result(), tmp_path, ("json", "md"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]
