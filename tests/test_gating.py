"""Gating: baselines, confidence-aware floors, waivers, the CLI's commands, the Python API."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import evaluation, split_from_predictions, split_with_metrics

from auditor.cli import main
from auditor.errors import RuleConfigError
from auditor.rules import blocking, load_rule_set, run_rules
from auditor.rules.kinds import KINDS
from auditor.rules.kinds.performance import wilson


def _params(kind: str, **overrides):
    return {**{k: p.default for k, p in KINDS[kind].params.items()}, **overrides}


def _with_reference(ev, val_metrics: dict, train_metrics: dict | None = None):
    reference = {"source": "deployed/report.json", "splits": {"val": {"metrics": val_metrics}}}
    if train_metrics is not None:
        reference["splits"]["train"] = {"metrics": train_metrics}
    return type(ev)(**{**ev.__dict__, "reference": reference})


# ---- baselines -----------------------------------------------------------------------------------


def test_metric_regression_fails_on_a_drop_and_passes_when_it_holds():
    ev = evaluation(
        {"train": split_with_metrics("train"), "val": split_with_metrics("val", roc_auc=0.88)}
    )
    worse = KINDS["metric_regression"].fn(
        _with_reference(ev, {"roc_auc": 0.91}), _params("metric_regression")
    )
    assert worse.status == "failed"
    assert worse.message.startswith(
        "ROC AUC on val drops from 0.910 (baseline) to 0.880 (candidate), 0.0300"
    )
    assert worse.observed["drop"] == {"roc_auc": pytest.approx(0.03)}
    held = KINDS["metric_regression"].fn(
        _with_reference(ev, {"roc_auc": 0.885}), _params("metric_regression")
    )
    assert held.status == "passed"
    none = KINDS["metric_regression"].fn(ev, _params("metric_regression"))
    assert none.status == "not_applicable" and "--baseline" in none.message


def test_per_class_regression_names_the_class():
    ev = evaluation(
        {
            "train": split_with_metrics("train"),
            "val": split_with_metrics("val", per_class={"1": {"recall": 0.70}}),
        }
    )
    ref = {
        "per_class": {
            "0": {"recall": ev.splits["val"].metrics["per_class"]["0"]["recall"]},
            "1": {"recall": 0.80},
        }
    }
    out = KINDS["metric_regression"].fn(
        _with_reference(ev, ref),
        _params(
            "metric_regression",
            metric="recall",
            per_class=True,
            max_drop=0.05,
            max_relative_drop=0.05,
        ),
    )
    assert out.status == "failed"
    assert "recall of class '1'" in out.message.lower() and out.observed["regressed"] == [
        "class '1'"
    ]


def test_loss_gap_regression():
    ev = evaluation(
        {
            "train": split_with_metrics("train", loss=0.20),
            "val": split_with_metrics("val", loss=0.35),
        }
    )
    grown = KINDS["loss_gap_regression"].fn(
        _with_reference(ev, {"loss": 0.25}, {"loss": 0.21}), _params("loss_gap_regression")
    )
    assert grown.status == "failed"
    assert grown.observed["growth"] == pytest.approx(0.15 - 0.04)
    same = KINDS["loss_gap_regression"].fn(
        _with_reference(ev, {"loss": 0.34}, {"loss": 0.21}), _params("loss_gap_regression")
    )
    assert same.status == "passed"


@pytest.mark.slow
def test_cli_baseline_json_and_baseline_model(tiny_binary, tmp_path):
    import keras

    args = [
        "--train",
        str(tiny_binary.split("train")),
        "--val",
        str(tiny_binary.split("val")),
        "--format",
        "json",
    ]
    good = CliRunner().invoke(
        main,
        [
            "audit",
            str(tiny_binary.path("keras")),
            *args,
            "--out",
            str(tmp_path / "good"),
            "--fail-on",
            "never",
        ],
    )
    assert good.exit_code == 0, good.output
    # A candidate that has learned nothing: same architecture, fresh weights.
    keras.utils.set_random_seed(11)
    weak = keras.models.clone_model(tiny_binary.model)
    weak.compile(loss="binary_crossentropy")
    weak.save(tmp_path / "weak.keras")
    vs_json = CliRunner().invoke(
        main,
        [
            "audit",
            str(tmp_path / "weak.keras"),
            *args,
            "--out",
            str(tmp_path / "a"),
            "--baseline",
            str(tmp_path / "good" / "report.json"),
        ],
    )
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    rg01 = next(r for r in report["results"] if r["rule_id"] == "RG01")
    assert rg01["status"] == "failed" and vs_json.exit_code == 1
    assert report["reference"]["source"].endswith("report.json")
    vs_model = CliRunner().invoke(
        main,
        [
            "audit",
            str(tmp_path / "weak.keras"),
            *args,
            "--out",
            str(tmp_path / "b"),
            "--baseline-model",
            str(tiny_binary.path("keras")),
        ],
    )
    report_b = json.loads((tmp_path / "b" / "report.json").read_text())
    rg01_b = next(r for r in report_b["results"] if r["rule_id"] == "RG01")
    assert rg01_b["status"] == "failed" and vs_model.exit_code == 1
    assert rg01_b["observed"]["baseline"] == rg01["observed"]["baseline"]
    # The same model against its own report passes every regression rule.
    itself = CliRunner().invoke(
        main,
        [
            "audit",
            str(tiny_binary.path("keras")),
            *args,
            "--out",
            str(tmp_path / "c"),
            "--baseline",
            str(tmp_path / "good" / "report.json"),
            "--fail-on",
            "never",
        ],
    )
    assert itself.exit_code == 0
    same = json.loads((tmp_path / "c" / "report.json").read_text())
    assert {
        r["rule_id"]: r["status"] for r in same["results"] if r["category"] == "regression"
    } == {"RG01": "passed", "RG02": "passed", "RG03": "passed"}


@pytest.mark.slow
def test_bad_baseline_file_is_a_clear_error(tiny_binary, tmp_path):
    (tmp_path / "b.json").write_text('{"hello": 1}')
    result = CliRunner().invoke(
        main,
        [
            "audit",
            str(tiny_binary.path("keras")),
            "--train",
            str(tiny_binary.split("train")),
            "--val",
            str(tiny_binary.split("val")),
            "--baseline",
            str(tmp_path / "b.json"),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 2
    assert "b.json: not an auditor report.json (no schema_version or splits)" in result.output
    assert not (tmp_path / "r").exists()


# ---- confidence-aware floors ---------------------------------------------------------------------


def test_wilson_matches_scipy():
    from scipy.stats import binomtest

    for k, n in ((0, 10), (3, 40), (20, 40), (40, 40), (700, 1000)):
        expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson(k, n, 0.95) == pytest.approx((expected.low, expected.high), abs=1e-9)


def _recall_case(n_positive: int, recall: float):
    found = round(n_positive * recall)
    y = np.array([0] * n_positive + [1] * n_positive)
    p = np.concatenate(
        [np.full(n_positive, 0.1), np.full(found, 0.9), np.full(n_positive - found, 0.2)]
    )
    splits = {s: split_from_predictions(s, y, p, ("0", "1")) for s in ("train", "val")}
    return evaluation(splits)


@pytest.mark.parametrize(
    ("n", "recall", "judge", "status"),
    [
        (20, 0.45, "point", "failed"),
        (20, 0.45, "upper_bound", "passed"),  # 9 of 20: the interval reaches well above 0.5
        (2000, 0.45, "upper_bound", "failed"),  # 900 of 2000: confidently below
        (20, 0.55, "lower_bound", "failed"),  # 11 of 20: could well be below 0.5
        (2000, 0.55, "lower_bound", "passed"),
    ],
)
def test_recall_floor_judged_on_an_interval(n, recall, judge, status):
    ev = _recall_case(n, recall)
    out = KINDS["recall_floor"].fn(
        ev, _params("recall_floor", min_recall=0.5, classes=["1"], judge=judge)
    )
    assert out.status == status, out.message
    found = round(n * recall)
    assert out.observed["interval"]["1"] == pytest.approx(list(wilson(found, n, 0.95)))
    if judge != "point" and status == "failed":
        side = "upper" if judge == "upper_bound" else "lower"
        lo, hi = wilson(found, n, 0.95)
        bound = hi if side == "upper" else lo
        assert f"{side} 95% bound {bound:.3g} is below the floor 0.5" in out.message
    if judge != "point" and status == "passed":
        assert f"judged on the {judge.replace('_', ' ')} of its 95% interval" in out.message


# ---- waivers -------------------------------------------------------------------------------------


def _overfit_ev():
    return evaluation(
        {"train": split_with_metrics("train", loss=0.1), "val": split_with_metrics("val", loss=0.6)}
    )


def _waived(tmp_path: Path, body: str):
    path = tmp_path / "w.yaml"
    path.write_text("extends: default\nwaivers:\n" + body)
    return load_rule_set(path)


def test_active_waiver_lets_the_failure_through(tmp_path):
    rules = _waived(
        tmp_path, "  - rule: OF01\n    reason: Known; retraining in Q3.\n    expires: 2030-01-01\n"
    )
    results = run_rules(_overfit_ev(), rules, today=date(2026, 11, 28))
    of01 = next(r for r in results if r.rule.id == "OF01")
    assert of01.status == "waived"
    assert of01.message.startswith(
        "Waived until 2030-01-01: Known; retraining in Q3. — Validation loss"
    )
    assert of01.waiver["expired"] is False
    assert "OF01" not in {r.rule.id for r in blocking(results, "error")}


def test_expired_waiver_stops_working_and_says_so(tmp_path):
    rules = _waived(tmp_path, "  - rule: OF01\n    reason: Known.\n    expires: 2026-01-31\n")
    results = run_rules(_overfit_ev(), rules, today=date(2026, 11, 28))
    of01 = next(r for r in results if r.rule.id == "OF01")
    assert of01.status == "failed"
    assert "The waiver of OF01 expired on 2026-01-31" in of01.message
    assert "OF01" in {r.rule.id for r in blocking(results, "error")}


def test_waiver_without_reason_is_a_config_error(tmp_path):
    with pytest.raises(RuleConfigError, match=r"w.yaml: waiver of OF01: 'reason' is required"):
        _waived(tmp_path, "  - rule: OF01\n    expires: 2030-01-01\n")
    with pytest.raises(RuleConfigError, match=r"'rule' must name a rule of the set, got 'XX'"):
        _waived(tmp_path, "  - rule: XX\n    reason: r\n")
    with pytest.raises(RuleConfigError, match=r"'expires' must be a date"):
        _waived(tmp_path, "  - rule: OF01\n    reason: r\n    expires: soon\n")


def test_class_waiver_only_covers_its_classes(tmp_path):
    y = np.array([0] * 50 + [1] * 50)
    p = np.concatenate([np.full(50, 0.1), np.full(20, 0.9), np.full(30, 0.2)])  # class 1 recall 0.4
    ev = evaluation({s: split_from_predictions(s, y, p, ("0", "1")) for s in ("train", "val")})
    covered = _waived(tmp_path, "  - rule: RC01\n    reason: r\n    classes: ['1']\n")
    assert next(r for r in run_rules(ev, covered) if r.rule.id == "RC01").status == "waived"
    other = _waived(tmp_path, "  - rule: RC01\n    reason: r\n    classes: ['0']\n")
    assert next(r for r in run_rules(ev, other) if r.rule.id == "RC01").status == "failed"


# ---- CLI commands --------------------------------------------------------------------------------


def test_init_writes_a_valid_commented_rule_set(tmp_path):
    target = tmp_path / "auditor-rules.yaml"
    first = CliRunner().invoke(main, ["init", str(target)])
    assert first.exit_code == 0 and target.exists()
    assert "extends: default" in target.read_text() and "# waivers:" in target.read_text()
    assert CliRunner().invoke(main, ["rules", "validate", str(target)]).exit_code == 0
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 2 and "already exists; pass --force" in again.output
    assert CliRunner().invoke(main, ["init", str(target), "--force"]).exit_code == 0


@pytest.mark.slow
def test_quiet_and_verbose(tiny_binary, tmp_path):
    base = [
        "audit",
        str(tiny_binary.path("keras")),
        "--train",
        str(tiny_binary.split("train")),
        "--val",
        str(tiny_binary.split("val")),
        "--format",
        "json",
        "--fail-on",
        "never",
    ]
    quiet = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "q"), "--quiet"])
    assert quiet.exit_code == 0 and len(quiet.output.strip().splitlines()) == 1
    verbose = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "v"), "--verbose"])
    assert "OF01" in verbose.output and "time: " in verbose.output and "predict" in verbose.output


# ---- the Python API ------------------------------------------------------------------------------


@pytest.mark.slow
def test_api_on_in_memory_objects_equals_the_cli_on_files(tiny_binary, tmp_path):
    import pandas as pd

    import auditor

    cli = CliRunner().invoke(
        main,
        [
            "audit",
            str(tiny_binary.path("keras")),
            "--train",
            str(tiny_binary.split("train", "npz")),
            "--val",
            str(tiny_binary.split("val", "npz")),
            "--format",
            "json",
            "--out",
            str(tmp_path),
            "--fail-on",
            "never",
        ],
    )
    assert cli.exit_code == 0, cli.output
    from_files = json.loads((tmp_path / "report.json").read_text())
    frame = pd.DataFrame(tiny_binary.x_val, columns=tiny_binary.names)
    frame["label"] = tiny_binary.y_val
    train_x = pd.DataFrame(tiny_binary.x_train, columns=tiny_binary.names)
    result = auditor.audit(tiny_binary.model, train=(train_x, tiny_binary.y_train), val=frame)
    in_memory = result.to_dict()
    assert result.passed and result.verdict == "pass"  # the tiny model passes at fail_on=error
    assert in_memory["summary"]["counts"] == from_files["summary"]["counts"]
    for split in ("train", "val"):
        ours, theirs = in_memory["splits"][split]["metrics"], from_files["splits"][split]["metrics"]
        for key, value in theirs.items():
            if key != "per_class" and value is not None:
                assert ours[key] == pytest.approx(value, abs=1e-6), key
    assert [(r["rule_id"], r["status"]) for r in in_memory["results"]] == [
        (r["rule_id"], r["status"]) for r in from_files["results"]
    ]
    html = result.write_html(tmp_path / "api" / "report.html")
    assert html.exists() and "<html" in html.read_text()
    assert json.loads(result.to_json())["verdict"] == result.verdict


# ---- determinism ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_audits_give_identical_json_apart_from_time(tiny_binary, tmp_path):
    reports = []
    for name in ("one", "two"):
        out = tmp_path / name
        result = CliRunner().invoke(
            main,
            [
                "audit",
                str(tiny_binary.path("keras")),
                "--train",
                str(tiny_binary.split("train")),
                "--val",
                str(tiny_binary.split("val")),
                "--format",
                "json,junit,md",
                "--out",
                str(out),
                "--fail-on",
                "never",
            ],
        )
        assert result.exit_code == 0
        report = json.loads((out / "report.json").read_text())
        for key in ("created", "timings"):
            report.pop(key)
        reports.append(report)
    assert reports[0] == reports[1]
    assert (tmp_path / "one" / "summary.md").read_text() == (
        tmp_path / "two" / "summary.md"
    ).read_text()


def test_waived_results_in_junit_and_markdown(tmp_path):
    import xml.etree.ElementTree as ET

    from auditor.report.junit import render_junit
    from auditor.report.markdown import render_markdown
    from auditor.result import AuditResult

    rules = _waived(tmp_path, "  - rule: OF01\n    reason: Known; retraining in Q3.\n")
    ev = _overfit_ev()
    result = AuditResult(ev, rules, tuple(run_rules(ev, rules)), ())
    case = next(
        c
        for c in ET.fromstring(render_junit(result)).iter("testcase")
        if c.get("name").startswith("OF01")
    )
    assert case.find("skipped") is not None and case.find("failure") is None
    assert "Waived: OF01 (Known; retraining in Q3.)" in render_markdown(result)


def test_feature_waiver_follows_the_features_a_kind_reports(tmp_path, monkeypatch):
    from auditor.rules.kinds import KINDS as kinds
    from auditor.rules.types import Outcome

    drifted = Outcome("failed", "Train and val differ.", features=("season",))
    monkeypatch.setitem(
        kinds, "split_drift", replace(kinds["split_drift"], fn=lambda ev, p: drifted)
    )
    ev = _overfit_ev()
    covered = _waived(
        tmp_path, "  - rule: DR01\n    reason: by time on purpose\n    features: [season]\n"
    )
    assert next(r for r in run_rules(ev, covered) if r.rule.id == "DR01").status == "waived"
    other = _waived(tmp_path, "  - rule: DR01\n    reason: r\n    features: [income]\n")
    assert next(r for r in run_rules(ev, other) if r.rule.id == "DR01").status == "failed"
