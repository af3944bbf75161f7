"""The bundled samples give the verdicts the README promises."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.api import audit

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _build(name: str) -> Path:
    # In a process of its own: building switches on TensorFlow's op determinism for the process,
    # which would change the losses this test process computes (in the last digits).
    script = ROOT / "samples" / "build.py"
    subprocess.run([sys.executable, str(script), name], check=True, capture_output=True)
    return ROOT / "samples" / "build" / name  # cached by a stamp: rebuilt when build.py changes


def _audit(name: str):
    folder = _build(name)
    return audit(folder / "model.keras", train=folder / "train.csv", val=folder / "val.csv")


def _failed(result) -> dict[str, set[str]]:
    failed: dict[str, set[str]] = {}
    for r in result.results:
        if r.status == "failed":
            failed.setdefault(r.rule.category, set()).add(r.rule.severity)
    return failed


def test_healthy_passes_without_failed_errors():
    result = _audit("healthy")
    assert result.passed
    assert not [r for r in result.results if r.status == "failed" and r.rule.severity == "error"]


def test_fraud_is_the_accuracy_paradox():
    result = _audit("fraud")
    failed = _failed(result)
    assert "error" in failed["accuracy_paradox"] and "error" in failed["recall_floor"]
    assert not result.passed
    val = result.evaluation.splits["val"].metrics
    assert val["accuracy"] > 0.97 and val["recall"] < 0.5


def test_overfit_fails_overfitting():
    result = _audit("overfit")
    assert "error" in _failed(result)["overfitting"]
    assert not result.passed


def test_multiclass_passes():
    result = _audit("multiclass")
    assert result.evaluation.task == "multiclass" and len(result.evaluation.classes) == 10
    assert result.passed


def test_overregularized_is_flagged_as_underfitting():
    result = _audit("overregularized")
    assert not result.passed
    assert next(r for r in result.results if r.rule.id == "UF02").status == "failed"
    predicted_0 = [row[0] for row in result.evaluation.splits["val"].confusion_matrix]
    assert predicted_0 == [0, 0], "the L2 = 5 model predicts one class only"
    assert result.recommendations[0].action in ("decrease_regularization", "remove_regularization")


def test_mixed_audits_the_raw_table_with_text_columns_and_passes():
    result = _audit("mixed")
    ev = result.evaluation
    assert ev.model.named_inputs and ev.model.input_kind == "table"
    assert ev.text_features == ("island", "species")  # the model's (sorted) input order
    assert ev.model.input_dtypes["year"] == "int64"
    assert result.passed
    assert not [r for r in result.results if r.status == "failed" and r.rule.severity == "error"]
    assert ev.splits["val"].metrics["accuracy"] > 0.85


def test_text_is_audited_as_text_and_passes():
    result = _audit("text")
    assert result.evaluation.model.input_kind == "text"
    assert result.passed
    found = {r.rule.id: r.status for r in result.results}
    assert found["TX01"] == found["TX02"] == found["TX03"] == "passed"
    assert found["LK03"] == "not_applicable"
