"""The target-proxy check (LK03) on planted cases, judged with the model's reliance on candidates.

Each case is data with a known answer and a model trained on it (scikit-learn's, fast and
deterministic: the check reads the model's predicted classes only). The facts are computed as an
audit computes them, from row facts gathered batch by batch, with the model's predictions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from test_leakage import judge, with_rows

from auditor.facts import data as data_facts
from auditor.options import AuditOptions
from auditor.rules import load_rule_set

RULES = load_rule_set()


def lk03(train, val, features, k: int = 2, model=None):
    """LK03's result on VAL with MODEL (a logistic regression by default) fitted on TRAIN."""
    ev = with_rows({"train": train, "val": val}, features, tuple(str(i) for i in range(k)))
    fitted = (model or LogisticRegression(max_iter=2000)).fit(*train)
    facts = data_facts.compute(
        ev.rows,
        {name: split.y for name, split in ev.splits.items()},
        ev.classes,
        ev.features,
        [data_facts.Request("proxies", "val")],
        AuditOptions(),
        predict=fitted.predict,
    )
    return judge(RULES, "LK03", dataclasses.replace(ev, data=ev.data.merged(facts)))


def easy_task(n: int, seed: int, leak: bool) -> tuple[np.ndarray, np.ndarray]:
    """Honest features that reach ROC AUC ~0.99, and (LEAK) the label flipped on 2% of rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (3 * x[:, 0] + 3 * x[:, 1] + 2 * x[:, 2] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    if not leak:
        return x, y
    column = np.where(rng.uniform(size=n) < 0.02, 1 - y, y).astype(float)
    return np.column_stack([x, column]), y


def paired(n: int, seed: int, leak: bool) -> tuple[np.ndarray, np.ndarray]:
    """Honest features at ROC AUC ~0.85-0.9 and (LEAK) two correlated copies of the label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = (x[:, 0] + x[:, 1] + rng.normal(size=n) > 0).astype(int)
    if not leak:
        return x, y
    base = y + rng.normal(scale=0.12, size=n)
    copies = [base + rng.normal(scale=0.05, size=n) for _ in range(2)]
    return np.column_stack([x, *copies]), y


def separable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Four classes; feature 'a' isolates class 0 alone (one-vs-rest AUC ~1), the rest others."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    centers = np.array([[6, 0, 0, 0], [0, 2.5, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 2.5]], float)
    return centers[y] + rng.normal(size=(n, 4)), y


def strong_feature(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A genuinely strong feature (ROC AUC ~0.95, right on ~88% alone) among weaker ones."""
    rng = np.random.default_rng(seed)
    cause = rng.normal(size=n)
    y = (cause + rng.normal(scale=0.3, size=n) > 0).astype(int)
    views = [cause + rng.normal(scale=s, size=n) for s in (0.2, 1, 1, 1, 1, 1, 1)]
    return np.column_stack(views), y


def test_a_near_certain_column_on_an_easy_task_fails():
    # The honest features alone reach ROC AUC 0.997: "beats the others by 0.05" could never fire.
    result = lk03(easy_task(3000, 1, True), easy_task(1000, 2, True), (*"abcde", "flag"))
    rule = RULES.get("LK03")
    assert rule is not None and (rule.category, rule.severity) == ("leakage_target_proxy", "error")
    assert result.status == "failed"
    assert result.features == ("flag",)
    (measured,) = result.observed["reliance"]
    assert measured["features"] == ["flag"] and measured["alone_accuracy"] > 0.97
    assert measured["model_accuracy"] - measured["permuted_accuracy"] > 0.1
    assert result.observed["honest_score"] > 0.99  # the others are strong: it is not that
    assert result.message.startswith(
        "Feature 'flag' gives the label away on val: alone it is right on 98.3% of rows"
    )
    assert "shuffling it drops the model's accuracy from 99.7% to 82.7%" in result.message


def test_two_copies_of_the_label_fail_though_each_hides_behind_the_other():
    result = lk03(paired(3000, 3, True), paired(1000, 4, True), (*"abcd", "copy1", "copy2"))
    assert result.status == "failed"
    assert set(result.features) == {"copy1", "copy2"}
    together = result.observed["reliance"][-1]
    assert sorted(together["features"]) == ["copy1", "copy2"]
    assert together["permuted_accuracy"] < 0.6  # without both, the model is near chance
    # Against the honest features *without the other copy*, each stands out.
    for candidate in result.observed["candidates"]:
        assert candidate["rest_score"] > 0.99 > 0.95 > candidate["honest_score"]


@pytest.mark.parametrize("planted", [easy_task, paired])
def test_the_clean_counterparts_pass(planted):
    result = lk03(planted(3000, 11, False), planted(1000, 12, False), tuple("abcde"[:5]))
    assert result.status == "passed", result.message


def test_a_feature_isolating_one_class_of_separable_data_is_geometry_not_a_leak():
    result = lk03(separable(3000, 5), separable(1000, 6), tuple("abcd"), k=4)
    assert result.status == "passed", result.message
    first = result.observed["candidates"][0]
    assert first["feature"] == "a" and first["class"] == "0" and first["score"] > 0.98
    assert first["honest_score"] < 0.9  # the old comparison would have called it a leak
    assert first["accuracy"] < 0.6  # but alone it names one class of four
    assert result.message.startswith("No feature gives the label away on val: the model relies")


def test_a_genuinely_strong_feature_the_model_relies_on_passes():
    result = lk03(strong_feature(3000, 7), strong_feature(1000, 8), tuple("abcdefg"))
    assert result.status == "passed", result.message
    (measured,) = result.observed["reliance"]
    assert measured["model_accuracy"] - measured["permuted_accuracy"] > 0.2  # relied on...
    assert measured["alone_accuracy"] < 0.95  # ...but not near-certain


def test_the_reliance_costs_one_prediction_of_the_bounded_sample_per_set():
    calls = []

    class Counting(LogisticRegression):
        def predict(self, x):
            calls.append(len(x))
            return super().predict(x)

    options = dict(model=Counting(max_iter=2000))
    lk03(paired(3000, 3, True), paired(1000, 4, True), (*"abcd", "copy1", "copy2"), **options)
    # The model's own accuracy, each candidate shuffled, both shuffled: four predictions of the
    # 1,000 sampled rows (sample_rows bounds them on larger splits).
    assert calls == [1000] * 4
