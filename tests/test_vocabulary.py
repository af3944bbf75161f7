"""The vocabulary: str enums that print, format, compare, hash and serialize as plain words."""

from __future__ import annotations

import json

import pytest

from auditor.rules import engine
from auditor.vocabulary import FAIL_ON, METRIC, METRICS, NEVER, Category, Severity, Status, Word


@pytest.mark.parametrize("word", [*Status, *Severity, *Category])
def test_a_word_behaves_as_its_plain_string(word: Word) -> None:
    plain = word.value
    assert word == plain and hash(word) == hash(plain)
    assert str(word) == plain and f"{word}" == plain and f"{word:>30}" == f"{plain:>30}"
    assert json.dumps({word: [word]}) == json.dumps({plain: [plain]})
    assert {plain: 1}[word] == 1  # and so it finds the plain strings' dict entries
    assert type(word)(plain) is word


def test_severities_rank_from_info_to_error() -> None:
    assert [s.rank for s in (Severity.INFO, Severity.WARNING, Severity.ERROR)] == [0, 1, 2]
    assert FAIL_ON == ("info", "warning", "error", NEVER)


def test_the_reading_order_covers_every_category_and_status() -> None:
    assert sorted(c.rank for c in Category) == list(range(len(Category)))
    assert set(engine._STATUS_ORDER) == set(Status)
    assert Category("leakage_duplicates").rank == 0  # data problems are read first
    leakage = {
        Category.LEAKAGE_DUPLICATES,
        Category.LEAKAGE_GROUP,
        Category.LEAKAGE_TEMPORAL,
        Category.LEAKAGE_TARGET_PROXY,
        Category.LEAKAGE_IDENTIFIER,
    }
    assert {c for c in Category if c.about_data} == {*leakage, Category.SPLIT_DRIFT}
    # A failed leakage error makes the metrics untrustworthy (and withholds the advice).
    assert {c for c in Category if c.leakage} == leakage


def test_a_word_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(ValueError):
        Category("vibes")
    with pytest.raises(ValueError):
        Status("ok")


def test_a_kind_that_answers_outside_the_vocabulary_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses
    from typing import Any

    from auditor.rules.kinds import KINDS
    from auditor.rules.types import Outcome, Rule, RuleSet

    kind = dataclasses.replace(KINDS["loss_gap"], fn=lambda ev, params: Outcome("ok", "Fine."))
    monkeypatch.setitem(KINDS, "loss_gap", kind)
    rule = Rule(
        id="OF01",
        kind="loss_gap",
        severity=Severity.ERROR,
        params={},
        summary="s",
        why="w",
        what_to_do="d",
        category=kind.category,
    )
    evaluation: Any = None  # the stand-in kind never looks at it
    (result,) = engine.run_rules(evaluation, RuleSet("t", "1", "<test>", (rule,)))
    assert result.status is Status.ERROR
    assert result.message == "The check raised ValueError: 'ok' is not a valid Status"
    assert result in engine.blocking([result], "error")


def test_every_measured_metric_is_named_once() -> None:
    import numpy as np
    from helpers import split_from_predictions

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    binary = split_from_predictions("val", y, rng.uniform(size=100), ("a", "b"))
    assert set(binary.metrics) - {"per_class"} == set(METRIC)
    assert len(METRIC) == len(METRICS)
    lower = {m.key for m in METRICS if not m.higher_is_better}
    assert lower == {"loss", "log_loss", "brier_score_loss", "expected_calibration_error"}


def test_rules_compare_only_metrics_that_fall_when_the_model_gets_worse() -> None:
    from auditor.rules.kinds import KINDS
    from auditor.rules.kinds.common import metric_name

    for kind in ("metric_gap", "metric_regression"):
        choices = KINDS[kind].params["metric"].choices
        assert choices and all(METRIC[c].higher_is_better for c in choices)
    assert metric_name("roc_auc") == "ROC AUC" and metric_name("pr_auc") == "PR AUC"
    assert metric_name("not_a_metric") == "not_a_metric"
