"""The command line through click's CliRunner: exit codes, messages, reports written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auditor.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def audit_args(tiny, out, *extra: str) -> list[str]:
    return [
        "audit",
        str(tiny.path("keras")),
        "--train",
        str(tiny.split("train")),
        "--val",
        str(tiny.split("val")),
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.slow
def test_audit_writes_every_report_and_exits_by_the_gate(tiny_binary, tmp_path):
    result = run(*audit_args(tiny_binary, tmp_path / "r", "--fail-on", "never"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PASS")
    for name in ("report.json", "report.html", "report.pdf", "junit.xml", "summary.md"):
        assert (tmp_path / "r" / name).stat().st_size > 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert report["model"]["format"] == "keras"


@pytest.mark.slow
def test_a_failed_blocking_rule_exits_1(tiny_binary, tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "extends: default\n"
        "rules:\n"
        "  - id: STRICT01\n"
        "    kind: recall_floor\n"
        "    severity: error\n"
        "    params: {min_recall: 1.0}\n"
        "    summary: Perfect recall.\n"
        "    why: Test.\n"
        "    what_to_do: Nothing.\n"
    )
    result = run(
        *audit_args(tiny_binary, tmp_path / "r", "--rules", str(strict), "--format", "json")
    )
    assert result.exit_code == 1, result.output
    assert result.output.startswith("FAIL")
    assert "STRICT01" in result.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["verdict"] == "fail" and "STRICT01" in report["summary"]["blocking"]
    # The same failure passes the gate when only errors of a higher level block... and 'never'.
    again = run(
        *audit_args(
            tiny_binary,
            tmp_path / "r2",
            "--rules",
            str(strict),
            "--format",
            "json",
            "--fail-on",
            "never",
        )
    )
    assert again.exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["audit", "missing.keras", "--train", "t.csv", "--val", "v.csv"],
            "Error: missing.keras: model file not found",
        ),
        (
            ["audit", "model.txt", "--train", "t.csv", "--val", "v.csv"],
            "Error: model.txt: model file not found",
        ),
        (["rules", "explain", "NOPE"], "Error: "),
        (["rules", "validate", "nothing.yaml"], "Error: nothing.yaml: rule set not found"),
        (
            ["audit", "m.keras", "--train", "t.csv", "--val", "v.csv", "--format", "docx"],
            "unknown format(s) docx",
        ),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_label_column_missing_lists_the_columns(tiny_binary, tmp_path):
    result = CliRunner().invoke(main, audit_args(tiny_binary, tmp_path / "r", "--label", "target"))
    assert result.exit_code == 2
    assert (
        "label column 'target' not found; columns are alpha, beta, gamma, delta, label"
        in result.output
    )
    assert not (tmp_path / "r" / "report.json").exists(), "no report is written for bad input"


def test_rules_list_and_explain():
    listed = run("rules", "list")
    assert listed.exit_code == 0
    assert "OF01" in listed.output and "AP01" in listed.output
    explained = run("rules", "explain", "AP01")
    assert explained.exit_code == 0
    for part in (
        "accuracy_paradox",
        "Why it matters",
        "What to do",
        "min_minority_recall",
        "Example",
    ):
        assert part in explained.output


def test_rules_validate(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("extends: default\nrules:\n  - id: OF01\n    params: {max_gap: 0.2}\n")
    assert run("rules", "validate", str(good)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: default\nrules:\n  - id: OF01\n    params: {max_gap: high}\n")
    result = CliRunner().invoke(main, ["rules", "validate", str(bad)])
    assert result.exit_code == 2
    assert (
        f"Error: {bad}: rule OF01: params.max_gap must be a number >= 0, got 'high'"
        in result.output
    )


def test_help_documents_exit_codes():
    result = run("audit", "--help")
    assert "Exit codes" in result.output and "usage, configuration or input error" in result.output
