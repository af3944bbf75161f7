"""Advice waits for clean data: a leakage error withholds L1/L2 advice and marks the metrics.

Hand-built evaluations: an overfit model (train loss 0.10, validation loss 0.60) scored once on a
clean split and once on a split where 30% of the validation rows are copies of training rows.
"""

from __future__ import annotations

import dataclasses
import json

from helpers import evaluation, split_with_metrics

from auditor.facts.data import DataFacts, SharedRows
from auditor.regularization import recommend
from auditor.report.json_report import report_dict
from auditor.report.markdown import render_markdown
from auditor.result import AuditResult
from auditor.rules import load_rule_set, run_rules
from auditor.rules.engine import distrust, invalidating
from auditor.rules.types import RuleSet

IDS = ("OF01", "OF02", "OF03", "LK01")


def _rule_set(severity: str = "error") -> RuleSet:
    full = load_rule_set()
    rules = tuple(
        dataclasses.replace(r, severity=severity) if r.id == "LK01" else r
        for r in full.rules
        if r.id in IDS
    )
    return dataclasses.replace(full, rules=rules)


def _overfit(copies: int):
    splits = {
        "train": split_with_metrics("train", loss=0.10),
        "val": split_with_metrics("val", loss=0.60),
    }
    shared = SharedRows(
        rows_checked=1000,
        shared_rows=copies,
        shared_rows_same_label=copies,
        near_duplicate_rows=0,
        shared_fraction_by_chance=0.0,
        near_duplicate_fraction_by_chance=0.0,
        method="grid",
    )
    return dataclasses.replace(evaluation(splits), data=DataFacts(shared_rows={"val": shared}))


def _audit(copies: int, severity: str = "error") -> AuditResult:
    ev = _overfit(copies)
    rule_set = _rule_set(severity)
    results = tuple(run_rules(ev, rule_set))
    return AuditResult(ev, rule_set, results, tuple(recommend(ev, results)))


def test_a_clean_split_gets_its_l2_advice_and_trustworthy_metrics():
    result = _audit(copies=0)
    assert [r.action for r in result.recommendations] == ["increase_l2"]
    assert invalidating(result.results) == [] and distrust(result.results) == ""
    summary = report_dict(result)["summary"]
    assert summary["metrics_trustworthy"] is True and summary["untrustworthy_because"] == []
    assert "not trustworthy" not in render_markdown(result)


def test_copied_validation_rows_withhold_the_advice_with_the_reason():
    result = _audit(copies=300)  # 30% of validation rows are training rows
    failed = {r.rule.id for r in result.results if r.failed}
    assert {"OF01", "LK01"} <= failed  # the gap is there, measured on leaked rows
    (only,) = result.recommendations
    assert only.action == "none"
    assert only.details == {"withheld": ["increase_l2"], "because": ["LK01"]}
    assert "increase_l2 withheld" in only.reason and "LK01 found leakage" in only.reason
    assert "Fix the split and audit again" in only.reason
    assert only.evidence[0].startswith("LK01: 300 of 1,000 val rows (30%)")


def test_the_summaries_say_the_metrics_are_not_trustworthy():
    result = _audit(copies=300)
    doc = json.loads(json.dumps(report_dict(result)))
    assert doc["summary"]["metrics_trustworthy"] is False
    assert doc["summary"]["untrustworthy_because"] == ["LK01"]
    markdown = render_markdown(result)
    assert "The metrics are not trustworthy: LK01 found leakage" in markdown
    # The warning comes before the findings table: a reader sees it first.
    assert markdown.index("not trustworthy") < markdown.index("| Rule |")


def test_a_leakage_warning_or_a_waived_leak_does_not_withhold_advice():
    result = _audit(copies=300, severity="warning")
    assert [r.action for r in result.recommendations] == ["increase_l2"]
    assert distrust(result.results) == ""


# ---- early stopping from the training history -----------------------------------------------


def _history(best_epoch: int, epochs: int, best: float, final: float) -> dict[str, list[float]]:
    """Validation loss falling to BEST at BEST_EPOCH, then rising steadily to FINAL."""
    down = [1.2 - (1.2 - best) * (i + 1) / best_epoch for i in range(best_epoch)]
    after = epochs - best_epoch
    up = [best + (final - best) * (i + 1) / after for i in range(after)]
    return {"loss": [0.5 / (i + 1) for i in range(epochs)], "val_loss": down + up}


def _advise(history, copies: int = 0):
    ev = _overfit(copies)
    results = run_rules(ev, _rule_set())
    return recommend(ev, results, history)


def test_an_early_optimum_recommends_early_stopping_first_with_epochs_and_losses():
    recs = _advise(_history(14, 80, 0.61, 1.54))  # the history
    assert [r.action for r in recs] == ["early_stopping", "increase_l2"]
    stop = recs[0]
    assert stop.suggested == {
        "monitor": "val_loss",
        "patience": 3,  # validation loss fell every epoch up to the best: the smallest patience
        "restore_best_weights": True,
        "best_epoch": 14,
    }
    assert stop.current == {"epochs": 80}
    assert "lowest at epoch 14 of 80 (0.610)" in stop.reason
    assert "to 1.54 at the last epoch" in stop.reason
    assert "would have stopped at epoch 17 and kept the weights of epoch 14" in stop.reason
    assert 'EarlyStopping(\n    monitor="val_loss", patience=3, restore_best_weights=True)' in (
        stop.snippet
    )
    assert stop.details["best_val_loss"] == 0.61 and stop.details["final_val_loss"] == 1.54
    assert stop.details["stop_epoch"] == 17


def test_patience_outlasts_the_plateaus_before_the_best_epoch():
    history = _history(30, 90, 0.5, 0.9)
    val = history["val_loss"]
    for i in range(10, 16):  # six epochs without a new lowest value on the way down
        val[i] = val[9] + 0.01
    (stop,) = [r for r in _advise(history) if r.action == "early_stopping"]
    assert stop.details["longest_wait_before_best"] == 6
    assert stop.suggested["patience"] == 7


def test_no_early_stopping_when_the_validation_loss_did_not_rise():
    still_falling = _history(80, 80, 0.4, 0.4)
    late_best = _history(77, 80, 0.4, 0.6)  # 3 epochs after the best: not "well before"
    flat = _history(20, 80, 0.5, 0.52)  # 4% above the lowest at the end: noise, not a rise
    for history in (still_falling, late_best, flat, {"loss": [1.0, 0.5]}, None):
        assert "early_stopping" not in [r.action for r in _advise(history)]


def test_early_stopping_is_withheld_with_the_rest_when_the_split_leaks():
    (only,) = _advise(_history(14, 80, 0.61, 1.54), copies=300)
    assert only.action == "none"
    assert only.details["withheld"] == ["early_stopping", "increase_l2"]


def test_the_html_report_and_the_terminal_say_it_too(capsys):
    from auditor.cli import _print_result
    from auditor.report.html import render_html

    leaked, clean = _audit(copies=300), _audit(copies=0)
    page = render_html(leaked)
    summary = page[page.index('<section id="summary">') : page.index('<section id="findings">')]
    assert '<p class="distrust"><b>⚠ The metrics are not trustworthy: LK01 found leakage' in summary
    assert 'class="distrust"' not in render_html(clean)
    _print_result(leaked, [], quiet=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("  ! The metrics are not trustworthy: LK01 found leakage")
    _print_result(clean, [], quiet=False)
    assert "not trustworthy" not in capsys.readouterr().out


def test_the_command_reads_the_history_and_ranks_early_stopping(tiny_binary, tmp_path):
    from click.testing import CliRunner

    from auditor.cli import main

    history = tmp_path / "history.json"
    history.write_text(json.dumps(_history(14, 80, 0.61, 1.54)))
    out = tmp_path / "r"
    args = ["audit", str(tiny_binary.path("keras")), "--train", str(tiny_binary.split("train"))]
    args += ["--val", str(tiny_binary.split("val")), "--history", str(history), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--format", "json,html"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    actions = [r["action"] for r in report["recommendations"]]
    assert actions[0] == "early_stopping" and "none" in actions  # no L1/L2 change besides
    assert report["recommendations"][0]["suggested"]["best_epoch"] == 14
    assert "> early_stopping: The training history's validation loss was lowest at epoch 14" in (
        result.output
    )
    # The history's own paragraph gives the same stopping epoch as the recommendation.
    page = (out / "report.html").read_text()
    assert (
        "was lowest (0.610) at epoch 14, 66 epochs before the last; early stopping with patience 3 "
        "would have ended training at epoch 17 and kept the weights of epoch 14"
    ) in page


def test_the_notebook_view_says_it_too():
    from auditor.report.notebook import render_notebook_html

    assert "The metrics are not trustworthy: LK01" in render_notebook_html(_audit(copies=300))
    assert "not trustworthy" not in render_notebook_html(_audit(copies=0))
