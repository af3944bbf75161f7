"""The L1/L2 study: its grid, its verdict on hand-built runs, its scores against scikit-learn, and
(slow) the samples: overfit, over-regularized and healthy, retrained in worker processes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from helpers import architecture
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from auditor.errors import AuditorError
from auditor.loading.architecture import Architecture, LayerFacts, Penalty
from auditor.options import STUDY_PREFER, AuditOptions
from auditor.regularization import Recommendation
from auditor.report.matrices import baseline_verdict, changes
from auditor.study import grid
from auditor.study.runner import seeds_within
from auditor.study.values import PREFER, Setting, StudyRun
from auditor.study.verdict import summarize, trade_off
from auditor.study.worker import scores

# ---- the grid -----------------------------------------------------------------------------------


def _rec(action: str, layers: tuple[str, ...], current: dict, suggested: dict) -> Recommendation:
    return Recommendation(action, layers, current, suggested, "", (), "")


def test_grid_around_an_added_l1():
    arch = architecture()  # dense (no penalty), out
    rec = _rec(
        "add_l1", ("dense",), {"dense": {"l1": 0, "l2": 0}}, {"dense": {"l1": 0.01, "l2": 0}}
    )
    layers = grid.studied_layers(rec, arch)
    assert layers == ("dense",)
    labels = [s.label for s in grid.settings(rec, arch, layers)]
    # No "none": the control has no penalty already.
    assert labels == [
        "current",
        "L1 0.001", "L1 0.01", "L1 0.1",
        "L2 0.001", "L2 0.01", "L2 0.1",
        "L1+L2 0.001", "L1+L2 0.01", "L1+L2 0.1",
    ]  # fmt: skip


def test_grid_below_a_penalty_to_remove():
    arch = architecture(l2=5.0)
    rec = _rec(
        "remove_regularization", ("dense",), {"dense": {"l1": 0, "l2": 5.0}},
        {"dense": {"l1": 0, "l2": 0}},
    )  # fmt: skip
    settings = grid.settings(rec, arch, ("dense",))
    assert [s.label for s in settings][:2] == ["current", "no penalty"]
    # Around min(5 / 10, 0.01) = 0.01, all below the current 5.
    assert {s.strength for s in settings[2:]} == {0.001, 0.01, 0.1}
    assert grid.total_strength(settings[0], {"dense": (0.0, 5.0)}) == 5.0
    assert grid.total_strength(settings[1], {"dense": (0.0, 5.0)}) == 0.0


def test_grid_without_advice_uses_the_penalized_layers_and_skips_the_control_twin():
    arch = Architecture(
        layers=(
            LayerFacts("a", "Dense", kernel_regularizer=Penalty(l2=1e-3), kernel=np.ones((3, 2))),
            LayerFacts("b", "Dense", kernel_regularizer=Penalty(l2=1e-3), kernel=np.ones((2, 2))),
            LayerFacts("out", "Dense", kernel=np.ones((2, 1))),
        ),
        config_readable=True,
    )
    layers = grid.studied_layers(None, arch)
    assert layers == ("a", "b")
    labels = [s.label for s in grid.settings(None, arch, layers)]
    assert "L2 0.001" not in labels  # the control itself
    assert {"current", "no penalty", "L1 0.001", "L2 0.0001", "L2 0.01", "L1+L2 0.001"} <= set(
        labels
    )
    # Nothing penalized: the hidden dense layers, around 1e-3.
    plain = architecture()
    assert grid.studied_layers(None, plain) == ("dense",)
    assert grid.center(None, {"dense": (0.0, 0.0)}) == 1e-3


def test_setting_kernels():
    assert Setting("L1 0.01", "l1", 0.01).kernel() == (0.01, 0.0)
    assert Setting("L2 0.01", "l2", 0.01).kernel() == (0.0, 0.01)
    assert Setting("L1+L2 0.01", "l1_l2", 0.01).kernel() == (0.01, 0.01)
    assert Setting("no penalty", "none", 0.0).kernel() == (0.0, 0.0)
    assert Setting("current", "control", None).kernel() is None


# ---- the verdict on hand-built runs --------------------------------------------------------------


def _run(setting: str, seed: int, val_loss: float, acc: float = 0.8, **kw: Any) -> StudyRun:
    values: dict[str, Any] = dict(
        setting=setting, seed=seed, epochs=10, seconds=1.0, stopped_by_budget=False,
        train_loss=0.2, val_loss=val_loss, val_accuracy=acc, precision=0.8, recall=0.7, f1=0.75,
        per_class={}, confusion_matrix=[[60, 20], [30, 90]], near_zero={"dense": 0.1, "out": 0.0},
    )  # fmt: skip
    values.update(kw)
    return StudyRun(**values)


SETTINGS = [
    Setting("current", "control", None),
    Setting("L1 0.001", "l1", 0.001),
    Setting("L2 0.01", "l2", 0.01),
    Setting("L1 0.1", "l1", 0.1),
]


def _study(runs: list[StudyRun], prefer: str = "loss", seeds: int = 2):
    return summarize(
        SETTINGS, runs, prefer=prefer, seeds=seeds, layers=("dense",), classes=("0", "1"),
        current={"dense": (0.0, 0.0)},
    )  # fmt: skip


def _overfit_runs() -> list[StudyRun]:
    return [
        _run("current", 0, 0.60), _run("current", 1, 0.62),  # spread 0.02
        # beyond the noise: -0.10, and sparser, more precise, less recall
        _run("L1 0.001", 0, 0.50, precision=0.84, recall=0.68, near_zero={"dense": 0.38}),
        _run("L1 0.001", 1, 0.52, precision=0.84, recall=0.68, near_zero={"dense": 0.38}),
        _run("L2 0.01", 0, 0.605), _run("L2 0.01", 1, 0.615),  # -0.0, within the noise
        # the lowest loss, but validation accuracy drops 0.10: harmful, never chosen
        _run("L1 0.1", 0, 0.40, acc=0.70), _run("L1 0.1", 1, 0.41, acc=0.70),
    ]  # fmt: skip


def test_a_setting_beyond_the_seed_spread_is_chosen_and_harmful_ones_are_not():
    study = _study(_overfit_runs())
    by = {s.setting.label: s for s in study.settings}
    assert study.noise["val_loss"] == pytest.approx(0.02)
    assert by["L1 0.001"].delta["val_loss"] == pytest.approx(-0.10)
    assert by["L1 0.001"].better and not by["L1 0.001"].harmful
    assert not by["L2 0.01"].better and not by["L2 0.01"].harmful
    assert by["L1 0.1"].better and by["L1 0.1"].harmful
    assert study.chosen == "L1 0.001"
    assert study.direction == "more"
    assert study.harmful == ("L1 0.1",)
    assert study.trade_off == (
        "L1 0.001: val loss 0.510 (−0.10), val accuracy ±0, precision +0.04, recall −0.02, "
        "38% of first-layer weights near zero"
    )
    assert study.conclusion.startswith(
        "Preferring loss: L1 0.001 beats the control beyond the noise (val loss −0.10, more than "
        "the control's seed spread of 0.0200; 2 seeds per setting): more regularization than the "
        "current setting helps."
    )
    assert "Harmful (validation accuracy drops against the control): L1 0.1." in study.conclusion


def test_a_setting_must_also_beat_its_own_spread():
    runs = _overfit_runs()
    # -0.06 on average, beyond the control's 0.02, but its own seeds differ by 0.30: one lucky seed.
    runs[4:6] = [_run("L2 0.01", 0, 0.40), _run("L2 0.01", 1, 0.70)]
    by = {s.setting.label: s for s in _study(runs).settings}
    assert by["L2 0.01"].delta["val_loss"] == pytest.approx(-0.06)
    assert not by["L2 0.01"].better


def test_the_priority_changes_the_choice():
    runs = _overfit_runs()
    # L2 0.01 raises recall well beyond the control's recall spread (0 here); L1 0.001 lowers it.
    runs[4:6] = [
        _run("L2 0.01", 0, 0.605, recall=0.80), _run("L2 0.01", 1, 0.615, recall=0.78),
    ]  # fmt: skip
    study = _study(runs, prefer="recall")
    assert study.chosen == "L2 0.01"
    assert study.direction == "more"
    assert study.conclusion.startswith("Preferring recall: L2 0.01 beats the control")


def test_nothing_beyond_the_noise_keeps_the_control():
    runs = [
        _run("current", 0, 0.30), _run("current", 1, 0.34),
        _run("L1 0.001", 0, 0.31), _run("L1 0.001", 1, 0.33),
        _run("L2 0.01", 0, 0.29), _run("L2 0.01", 1, 0.33),  # -0.01, spread 0.04
        _run("L1 0.1", 0, 0.33), _run("L1 0.1", 1, 0.35),
    ]  # fmt: skip
    study = _study(runs)
    assert study.chosen == "current" and study.direction == "none"
    assert not any(s.better for s in study.settings)
    assert study.conclusion == (
        "No setting beats the control (the current setting) beyond the noise on val loss (2 seeds "
        "per setting; the control's seeds differ by 0.0400): the best, L2 0.01, changes it by "
        "−0.01."
    )
    assert study.trade_off.startswith("L2 0.01: val loss 0.310 (−0.01)")


def test_one_seed_calls_nothing_better():
    runs = [_run("current", 0, 0.6), _run("L1 0.001", 0, 0.3), _run("L2 0.01", 0, 0.5)]
    runs.append(_run("L1 0.1", 0, 0.2, acc=0.6))
    study = _study(runs, seeds=1)
    assert study.chosen == "current"
    assert math.isnan(study.noise["val_loss"])
    assert study.conclusion.startswith(
        "With 1 seed per setting the noise between retrainings cannot be measured"
    )
    # A drop of accuracy needs no spread to be a bad sign.
    assert study.harmful == ("L1 0.1",)


def test_less_regularization_is_named():
    settings = [Setting("current", "control", None), Setting("L2 0.01", "l2", 0.01)]
    runs = [_run("current", 0, 0.69, acc=0.6), _run("current", 1, 0.68, acc=0.6)]
    runs += [_run("L2 0.01", 0, 0.1, acc=0.95), _run("L2 0.01", 1, 0.12, acc=0.95)]
    study = summarize(
        settings, runs, prefer="loss", seeds=2, layers=("dense",), classes=("0", "1"),
        current={"dense": (0.0, 5.0)},
    )  # fmt: skip
    assert study.chosen == "L2 0.01" and study.direction == "less"
    assert "less regularization than the current setting helps" in study.conclusion


def test_trade_off_of_nothing_is_empty():
    assert trade_off(None, ("dense",)) == ""


def test_the_priorities_are_the_options():
    assert tuple(PREFER) == STUDY_PREFER
    with pytest.raises(AuditorError, match="prefer must be one of loss, recall, precision, f1"):
        AuditOptions(prefer="auc")
    with pytest.raises(AuditorError, match="study_seeds"):
        AuditOptions(study_seeds=0)


def test_seeds_shrink_only_when_the_budget_is_short():
    assert seeds_within(120, 2, 10, 2) == 2
    assert seeds_within(120, 2, 10, 5) == 5
    assert seeds_within(10, 1, 10, 2) == 1  # 1 s per run with two seeds
    assert seeds_within(1, 1, 10, 3) == 1  # never fewer than one


# ---- a run's scores, against scikit-learn --------------------------------------------------------


@pytest.mark.parametrize("k", [2, 4])
def test_scores_match_scikit_learn(k: int):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 300)
    proba = rng.dirichlet(np.ones(k), 300).astype(np.float32)
    classes = tuple(f"c{i}" for i in range(k))
    got = scores(y, proba, 0.4, classes)
    pred = (proba[:, 1] >= 0.4).astype(int) if k == 2 else proba.argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=list(range(k)), zero_division=0)
    assert got["val_accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    if k == 2:
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p[1], r[1], f[1]))
    else:
        assert got["recall"] == pytest.approx(r.mean())
        assert got["precision"] == pytest.approx(p.mean())
    assert got["per_class"]["c1"]["f1"] == pytest.approx(f[1])
    assert got["per_class"]["c0"]["support"] == s[0]
    assert got["confusion_matrix"] == confusion_matrix(y, pred, labels=list(range(k))).tolist()


# ---- the matrices in words -------------------------------------------------------------------


def test_the_course_notes_example_in_words():
    # [[TN, FP], [FN, TP]]: without regularization TP 90 / FN 30 / FP 20 / TN 60, with it TP 85 /
    # FN 25 / FP 15 / TN 65.
    before, after = [[60, 20], [30, 90]], [[65, 15], [25, 85]]
    assert changes(("0", "1"), before, after, ("without", "with")) == (
        "From without to with: FP 20 → 15 (−5), FN 30 → 25 (−5): fewer false positives and "
        "fewer false negatives."
    )
    assert changes(("0", "1"), after, before, ("a", "b")).endswith(
        "more false positives and more false negatives."
    )


def test_multiclass_changes_name_the_classes():
    before = [[10, 2, 0], [3, 10, 1], [0, 0, 12]]
    after = [[11, 1, 0], [1, 13, 0], [0, 2, 10]]
    assert changes(("a", "b", "c"), before, after, ("x", "y")) == (
        "From x to y: errors 6 → 4 (−2), fewer misclassified rows (class b −3 missed; class c +2 "
        "missed; class a −1 missed)."
    )


def test_baseline_verdicts_in_the_notes_terms():
    base = {"loss": 0.61, "accuracy": 0.75, "precision": 0.82, "recall": 0.75}
    better = {"loss": 0.47, "accuracy": 0.79, "precision": 0.85, "recall": 0.77}
    assert baseline_verdict(better, base, True) == (
        "Candidate vs baseline: validation loss 0.470 vs 0.610, validation accuracy 0.790 vs "
        "0.750, precision 0.850 vs 0.820, recall 0.770 vs 0.750; the candidate generalizes better "
        "than the baseline."
    )
    dropped = {**better, "accuracy": 0.70}
    assert "validation accuracy drops against the baseline, a bad sign" in baseline_verdict(
        dropped, base, True
    )
    assert baseline_verdict({"loss": 0.7, "accuracy": 0.75}, base, False).endswith(
        "validation loss rises against the baseline while accuracy holds: no better."
    )
    assert "missing" in baseline_verdict({}, base, True)


# ---- the study in the reports, read back -------------------------------------------------------

OPTIONS = {
    "runs": 8, "seed": 0, "seeds_asked": 2, "train_rows": 200, "val_rows": 200, "epochs": 10,
    "seconds_per_run": 6.0, "workers": 2, "seconds": 20.0,
}  # fmt: skip


def _with_study(result: Any, study: Any) -> Any:
    import dataclasses

    return dataclasses.replace(result, study=dataclasses.replace(study, options=OPTIONS))


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory):
    from test_reports import EVIL, failing_result

    from auditor.report.writer import write_reports
    from auditor.rules import load_rule_set

    base = failing_result(load_rule_set())
    runs = _overfit_runs()
    # The chosen setting at seed 0 makes the course note's matrices: fewer FP and FN.
    runs[2] = _run(
        "L1 0.001", 0, 0.50, precision=0.84, recall=0.68, near_zero={"dense": 0.38},
        confusion_matrix=[[65, 15], [25, 85]],
    )  # fmt: skip
    study = summarize(
        SETTINGS, runs, prefer="loss", seeds=2, layers=("dense",), classes=("legit", EVIL),
        current={"dense": (0.0, 0.0)},
    )  # fmt: skip
    result = _with_study(base, study)
    out = tmp_path_factory.mktemp("studied")
    write_reports(result, out, ("json", "html", "md"))
    return result, out


def test_report_json_carries_the_study_and_validates(studied):
    import json

    from jsonschema import Draft202012Validator

    from auditor.resources import schema_path

    result, out = studied
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert not list(Draft202012Validator(schema).iter_errors(doc))
    study = doc["study"]
    assert study["chosen"] == "L1 0.001" and study["control"] == "current"
    assert study["harmful"] == ["L1 0.1"]
    assert [s["label"] for s in study["settings"]] == [s.label for s in SETTINGS]
    assert len(study["runs"]) == 8
    assert study["runs"][2]["confusion_matrix"] == [[65, 15], [25, 85]]
    assert study["settings"][1]["delta"]["val_loss"] == pytest.approx(-0.10)
    # A broken study is caught by the schema.
    doc["study"]["direction"] = "sideways"
    assert list(Draft202012Validator(schema).iter_errors(doc))


def _text(page: str) -> str:
    import html
    import re

    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    page = re.sub(r'src="data:[^"]*"', "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_report_html_shows_the_matrices_side_by_side(studied):
    import re

    from test_reports import EVIL, EVIL_ESCAPED

    result, out = studied
    page = (out / "report.html").read_text(encoding="utf-8")
    text = _text(page)
    assert "L1/L2 study" in text and "Chosen: L1 0.001." in text
    assert result.study.conclusion in text
    assert "Before and after: validation confusion matrices (seed 0)" in text
    # Both matrices, counts and the share of each true class, and the changes in words.
    tables = re.findall(r'<table class="cm">(.*?)</table>', page, flags=re.S)
    assert len(tables) == 2
    before, after = (_text(t) for t in tables)
    assert before.startswith("the control (current)")
    assert "60 (75.0%) 20 (25.0%)" in before and "30 (25.0%) 90 (75.0%)" in before
    assert after.startswith("L1 0.001")
    assert "65 (81.2%) 15 (18.8%)" in after and "25 (22.7%) 85 (77.3%)" in after
    assert (
        "From the control (current) to L1 0.001: FP 20 → 15 (−5), FN 30 → 25 (−5): fewer false "
        "positives and fewer false negatives." in text
    )
    assert "harmful: val accuracy drops" in text and "★ chosen" in text
    # Both charts are there, and the user's class name is escaped in the matrices.
    assert 'alt="Validation and training loss against strength' in page
    assert 'alt="Validation precision against recall' in page
    assert EVIL not in page and EVIL_ESCAPED in tables[0]


def test_markdown_gives_the_choice_in_two_lines(studied):
    result, out = studied
    text = (out / "summary.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "L1/L2 study" in line]
    assert lines == [
        "- **L1/L2 study** (prefer loss, 4 settings × 2 seeds): chosen L1 0.001: val loss 0.510 "
        "\\(−0.10\\), val accuracy ±0, precision \\+0.04, recall −0.02, 38% of first-layer "
        "weights near zero."
    ]
    following = text.splitlines()[text.splitlines().index(lines[0]) + 1]
    assert following.startswith("- Preferring loss: L1 0.001 beats the control")


def test_no_study_no_section(tmp_path):
    from test_reports import failing_result

    from auditor.report.writer import write_reports
    from auditor.rules import load_rule_set

    write_reports(failing_result(load_rule_set()), tmp_path, ("html", "md", "json"))
    assert "L1/L2 study" not in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "L1/L2 study" not in (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert '"study": null' in (tmp_path / "report.json").read_text(encoding="utf-8")


@pytest.mark.slow
def test_report_pdf_shows_the_matrices_side_by_side(studied, tmp_path):
    from pypdf import PdfReader

    from auditor.report.writer import write_reports

    result, _ = studied
    (path,) = write_reports(result, tmp_path, ("pdf",))
    pages = (page.extract_text(extraction_mode="layout") for page in PdfReader(path).pages)
    text = " ".join(" ".join(pages).split())
    assert "L1/L2 study" in text
    assert "Before and after: validation confusion matrices (seed 0)" in text
    assert "FP 20 → 15 (−5), FN 30 → 25 (−5): fewer false positives and fewer false negatives" in (
        text
    )
    assert "65 (81.2%)" in text and "60 (75.0%)" in text


# ---- the samples, retrained (slow) -----------------------------------------------------------


def _study_of(name: str, epochs: int, *args: str):
    """Audit sample NAME with --study through the command line; return (report.json, out)."""
    import json

    from click.testing import CliRunner
    from test_samples import _build

    from auditor.cli import main

    folder = _build(name)
    out = folder / "study-report"
    result = CliRunner().invoke(
        main,
        [
            "audit",
            str(folder / "model.keras"),
            "--train",
            str(folder / "train.csv"),
            "--val",
            str(folder / "val.csv"),
            "--out",
            str(out),
            "--format",
            "json,html,md",
            "--study",
            "--sweep-epochs",
            str(epochs),
            "--sweep-budget",
            "240",
            "--seed",
            "1",
            "--study-workers",
            "2",
            "--no-progress",
            *args,
        ],  # fmt: skip
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert f"study: {doc['study']['conclusion']}" in result.output
    return doc, out


def _setting(study: dict, label: str) -> dict:
    return next(s for s in study["settings"] if s["label"] == label)


@pytest.mark.slow
def test_overfit_sample_finds_a_setting_beyond_the_seed_spread():
    doc, out = _study_of("overfit", 15)
    study = doc["study"]
    assert study["seeds"] == 2 and study["options"]["runs"] == 2 * len(study["settings"])
    assert study["chosen"] != "current" and study["direction"] == "more"
    chosen = _setting(study, study["chosen"])
    assert chosen["better"] and not chosen["harmful"]
    assert -chosen["delta"]["val_loss"] > study["noise"]["val_loss"]
    assert -chosen["delta"]["val_loss"] > chosen["spread"]["val_loss"]
    # The trade-off in the course note's terms.
    assert study["trade_off"].startswith(f"{study['chosen']}: val loss ")
    assert "precision" in study["trade_off"] and "recall" in study["trade_off"]
    assert "of first-layer weights near zero" in study["trade_off"]
    assert all(run["epochs"] == 15 for run in study["runs"])  # the budget did not cut a run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Before and after: validation confusion matrices" in page
    assert page.count('<table class="cm">') == 2
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "**L1/L2 study** (prefer loss" in summary


@pytest.mark.slow
def test_overregularized_sample_finds_that_less_regularization_helps():
    doc, _ = _study_of("overregularized", 10)
    study = doc["study"]
    assert study["direction"] == "less"
    chosen, control = _setting(study, study["chosen"]), _setting(study, "current")
    assert chosen["regularization"] < control["regularization"] == 10.0  # L2 5 on two layers
    assert chosen["better"] and chosen["delta"]["val_accuracy"] > 0
    assert "less regularization than the current setting helps" in study["conclusion"]


@pytest.mark.slow
def test_healthy_sample_has_no_setting_beyond_the_noise():
    doc, out = _study_of("healthy", 10)
    study = doc["study"]
    assert study["chosen"] == "current" and study["direction"] == "none"
    assert not any(s["better"] for s in study["settings"])
    assert study["conclusion"].startswith("No setting beats the control")
    assert "closest" in (out / "summary.md").read_text(encoding="utf-8")


def test_an_unknown_priority_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from auditor.cli import main

    result = CliRunner().invoke(
        main,
        ["audit", "m.keras", "--train", "t.csv", "--val", "v.csv", "--study", "--prefer", "auc"],
    )
    assert result.exit_code == 2
    assert "'auc' is not one of 'loss', 'recall', 'precision', 'f1'" in result.output


# ---- the baseline's matrices beside the candidate's -------------------------------------------


def test_baseline_matrices_beside_the_candidates(tmp_path):
    import dataclasses
    import re

    from test_reports import failing_result

    from auditor.report.writer import write_reports
    from auditor.rules import load_rule_set

    result = failing_result(load_rule_set())
    val = result.evaluation.splits["val"]
    (tn, fp), (fn, tp) = val.confusion_matrix
    reference = {
        "source": "prod.keras (audited now)",
        "created": "2024-04-01T12:00:00+00:00",
        "splits": {
            "val": {
                "confusion_matrix": [[tn - 5, fp + 5], [fn + 3, tp - 3]],
                "metrics": {**val.metrics, "loss": val.metrics["loss"] + 0.2, "accuracy": 0.5},
            }
        },
    }
    ev = dataclasses.replace(result.evaluation, reference=reference)
    write_reports(dataclasses.replace(result, evaluation=ev), tmp_path, ("html", "json"))
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    text = _text(page)
    assert "Baseline vs candidate: validation confusion matrices" in text
    tables = [_text(t) for t in re.findall(r'<table class="cm">(.*?)</table>', page, flags=re.S)]
    assert tables[0].startswith("the baseline") and tables[1].startswith("the candidate")
    assert f"{tn - 5:,} (" in tables[0] and f"{tn:,} (" in tables[1]
    assert (
        f"From the baseline to the candidate: FP {fp + 5} → {fp} (−5), FN {fn + 3} → {fn} (−3): "
        "fewer false positives and fewer false negatives." in text
    )
    assert "the candidate generalizes better than the baseline." in text
    import json

    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert doc["reference"]["splits"]["val"]["confusion_matrix"][0] == [tn - 5, fp + 5]


@pytest.mark.slow
def test_baseline_model_matrices_in_html_and_pdf(tmp_path):
    from click.testing import CliRunner
    from pypdf import PdfReader
    from test_samples import _build

    from auditor.cli import main

    healthy, weak = _build("healthy"), _build("overregularized")  # the same splits
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "audit",
            str(healthy / "model.keras"),
            "--train",
            str(healthy / "train.csv"),
            "--val",
            str(healthy / "val.csv"),
            "--baseline-model",
            str(weak / "model.keras"),
            "--out",
            str(out),
            "--format",
            "html,pdf",
            "--no-progress",
        ],  # fmt: skip
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    verdict = "the candidate generalizes better than the baseline."
    assert verdict in _text((out / "report.html").read_text(encoding="utf-8"))
    pages = (p.extract_text(extraction_mode="layout") for p in PdfReader(out / "report.pdf").pages)
    text = " ".join(" ".join(pages).split())
    assert "Baseline vs candidate: validation confusion matrices" in text
    assert "From the baseline to the candidate: FP" in text
    assert verdict in text


@pytest.mark.slow
def test_a_run_that_fails_is_one_line_naming_the_run(tmp_path):
    from auditor.study.runner import _run_all
    from auditor.study.worker import Task

    task = Task(
        folder=str(tmp_path / "gone"), label="L1 0.01", kernel=(0.01, 0.0), layers=("dense",),
        seed=3, epochs=1, seconds=10.0, batch_size=32, threshold=0.5,
        default_loss="binary_crossentropy", classes=("0", "1"), unsafe=False,
    )  # fmt: skip
    with pytest.raises(
        AuditorError, match=r"^--study: a retraining run failed \(L1 0\.01, seed 3: "
    ):
        _run_all([task], 1, 1, None)


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_the_study_runs_as_ray_tasks_with_the_ray_engine():
    from test_samples import _build

    from auditor.api import audit

    folder = _build("healthy")
    splits = {"train": folder / "train.csv", "val": folder / "val.csv"}
    settings = dict(study=True, sweep_epochs=4, sweep_budget=240, seed=1, study_workers=2)
    heard: list[str] = []
    on_ray = audit(
        folder / "model.keras", **splits, engine="ray", workers=2, **settings,
        study_progress=lambda done, total, label, seed: heard.append(label),
    ).study  # fmt: skip
    local = audit(folder / "model.keras", **splits, **settings).study
    assert on_ray is not None and local is not None
    assert heard[-1] == "done" and len(heard) == len(local.runs) + 1
    assert [s.setting.label for s in on_ray.settings] == [s.setting.label for s in local.settings]
    for run in local.runs:
        remote = on_ray.run(run.setting, run.seed)
        assert remote is not None and remote.epochs == run.epochs == 4
        # The same seed, data and single thread: the same retraining, on Ray's workers.
        assert remote.val_loss == pytest.approx(run.val_loss, rel=1e-4)
        assert remote.confusion_matrix == run.confusion_matrix
    assert on_ray.chosen == local.chosen


def test_near_zero_shares_read_embedding_tables_and_recurrent_kernels_as_the_audit_does():
    import keras

    from auditor.facts.weights import analyse_weights
    from auditor.loading.architecture import read_architecture
    from auditor.study.worker import near_zero

    inputs = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(20, 4, name="embed")(inputs)
    h = keras.layers.LSTM(3, name="lstm")(h)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="out")(h))
    table = model.get_layer("embed").embeddings
    table.assign(np.where(np.arange(80).reshape(20, 4) % 4 == 0, 0.0, 1.0))  # a quarter zero
    shares = near_zero(model)
    assert set(shares) == {"embed", "lstm", "out"}
    assert shares["embed"] == pytest.approx(0.25)  # the zeroed quarter of the table
    audited = analyse_weights(read_architecture(model), ()).layers
    assert shares == {w.name: w.near_zero_share for w in audited}


def test_with_one_seed_the_html_verdicts_say_nothing_was_judged(tmp_path):
    from test_reports import failing_result

    from auditor.report.html import render_html
    from auditor.rules import load_rule_set

    runs = [_run("current", 0, 0.6), _run("L1 0.001", 0, 0.3), _run("L2 0.01", 0, 0.5)]
    runs.append(_run("L1 0.1", 0, 0.2, acc=0.6))
    text = _text(render_html(_with_study(failing_result(load_rule_set()), _study(runs, seeds=1))))
    assert text.count("not judged: one seed, no noise measured") == 3
    assert "val accuracy lower; not judged" in text  # L1 0.1's drop, said without a verdict
    assert "within noise" not in text and "harmful: val accuracy drops" not in text
