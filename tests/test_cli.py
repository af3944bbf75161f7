"""The command line through click's CliRunner: exit codes, messages, reports written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    result = run(*audit_args(tiny_binary, tmp_path / "r"))  # the default gate: errors block
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PASS")
    for name in ("report.json", "report.html", "report.pdf", "junit.xml", "summary.md"):
        assert (tmp_path / "r" / name).stat().st_size > 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["verdict"] == "pass" and report["summary"]["blocking"] == []
    assert report["model"]["format"] == "keras"
    # The tiny model fails a warning-level rule (CA01): a stricter gate blocks on it.
    warned = [r["rule_id"] for r in report["results"] if r["status"] == "failed"]
    assert warned and all(
        r["severity"] != "error" for r in report["results"] if r["status"] == "failed"
    )
    strict = run(
        *audit_args(tiny_binary, tmp_path / "s", "--fail-on", "warning", "--format", "json")
    )
    assert strict.exit_code == 1
    assert strict.output.startswith(f"FAIL  tiny2: {len(warned)} blocking finding(s)")


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
    # As a warning the same failure is reported but does not block at the default level.
    warning = strict.read_text().replace("severity: error", "severity: warning")
    (tmp_path / "warning.yaml").write_text(warning)
    reported = run(
        *audit_args(
            tiny_binary,
            tmp_path / "w",
            "--rules",
            str(tmp_path / "warning.yaml"),
            "--format",
            "json",
        )
    )
    assert reported.exit_code == 0, reported.output
    report_w = json.loads((tmp_path / "w" / "report.json").read_text())
    strict01 = next(r for r in report_w["results"] if r["rule_id"] == "STRICT01")
    assert strict01["status"] == "failed" and report_w["verdict"] == "pass"
    # And 'never' lets even an error-level failure through.
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
            ["audit", "{tmp}/model.txt", "--train", "t.csv", "--val", "v.csv"],
            "model.txt: unknown model format '.txt'; supported are .keras, .h5 and TF SavedModel",
        ),
        (["rules", "explain", "NOPE"], "default.yaml: no rule 'NOPE' (known: OF01, OF02"),
        (["rules", "validate", "nothing.yaml"], "Error: nothing.yaml: rule set not found"),
        (
            ["audit", "m.keras", "--train", "t.csv", "--val", "v.csv", "--format", "docx"],
            "unknown format(s) docx",
        ),
        (
            ["audit", "m.keras", "--train", "t.csv", "--val", "v.csv", "--prefer", "speed"],
            "Error: Invalid value for '--prefer': 'speed' is not one of",
        ),
        (["audit", "m.keras"], "Error: Missing option '--train'"),
        (
            ["audit", "m.keras", "--train", "t.csv", "--val", "v.csv", "--prefer", "recall"],
            "Error: --prefer steers the study: add --study",
        ),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(args, message, tmp_path):
    (tmp_path / "model.txt").write_text("not a model")
    result = CliRunner().invoke(main, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    # Click's own usage errors too: one line, without click's usage block.
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: ")


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


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m auditor`, the path of the installed command (`auditor.cli.run`)."""
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_command_flushes_everything_before_it_exits(tiny_binary: Any, tmp_path: Path) -> None:
    # `run` leaves with os._exit: the summary, the reports and the exit code must all be there.
    done = _command(*audit_args(tiny_binary, tmp_path / "r", "--verbose"))
    assert done.returncode in (0, 1), done.stderr
    verdict = "PASS" if done.returncode == 0 else "FAIL"
    assert done.stdout.startswith(verdict)
    lines = done.stdout.splitlines()
    assert done.stdout.endswith("\n") and lines[-1].startswith("  time: ")  # printed last
    for name in ("report.json", "report.html", "report.pdf", "junit.xml", "summary.md"):
        assert any(line.strip() == f"wrote {tmp_path / 'r' / name}" for line in lines), name
        assert (tmp_path / "r" / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "r" / "report.json").read_text())["verdict"] == verdict.lower()
    assert not list((tmp_path / "r").glob(".auditor-*"))  # no temporary file left


def test_the_command_exit_codes_for_errors_and_help(tmp_path: Path) -> None:
    missing = _command("audit", str(tmp_path / "none.keras"), "--train", "a", "--val", "b")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'none.keras'}: model file not found"
    ]
    helped = _command("--help")
    assert helped.returncode == 0 and "Usage:" in helped.stdout
    unknown = _command("no-such-command")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr


def test_rule_ids_are_found_whatever_their_case_and_debug_is_documented():
    result = run("rules", "explain", "of01")
    assert result.exit_code == 0 and result.output.startswith("OF01: ")
    assert "--debug" in run("audit", "--help").output


def test_an_unknown_kind_is_the_one_problem_reported(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text("name: team\nversion: '1'\nrules:\n  - id: TT01\n    kind: recal_floor\n")
    result = run("rules", "validate", str(path))
    assert result.exit_code == 2
    assert "rule TT01: unknown kind 'recal_floor'" in result.output
    assert "missing required key" not in result.output


def test_progress_shows_rows_shards_and_speed_on_a_terminal(capsys: Any) -> None:
    from auditor.cli import _Progress
    from auditor.engines import shard_done

    progress = _Progress(enabled=True)
    progress("train", 1000)
    shard_done(progress, "train", 1, 4)
    line = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert line.startswith("evaluating: train 1,000 rows, 1/4 shards (")
    assert "rows/s)" in line
    quiet = _Progress(enabled=False)  # not a terminal: nothing at all
    quiet("train", 10)
    shard_done(quiet, "train", 1, 4)
    assert capsys.readouterr().err == ""
    shard_done(lambda split, rows: None, "train", 1, 4)  # a plain callable is not told of shards
