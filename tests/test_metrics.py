"""auditor.metrics against scikit-learn called independently on the same predictions."""

from __future__ import annotations

import math
import warnings
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from auditor import metrics
from auditor.metrics import (
    PredictionSums,
    baseline_metrics,
    classification_metrics,
    confusion,
    expected_calibration_error,
    ranking,
)

TOL = 1e-9
PER_CLASS_KEYS = {"precision", "recall", "f1", "support", "roc_auc", "pr_auc"}
COMMON_KEYS = {
    "loss",
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier_score_loss",
    "expected_calibration_error",
    "per_class",
}
BINARY_KEYS = {"precision", "recall", "f1"}


# ---- the reference: scikit-learn and a hand-written calibration loop ---------------------------


def reference_ece(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE the slow, obvious way: bin i holds confidences in (i/bins, (i+1)/bins]."""
    members: list[list[tuple[float, float]]] = [[] for _ in range(bins)]
    for label, row in zip(y, proba, strict=True):
        confidence = float(max(row))
        correct = 1.0 if int(np.argmax(row)) == int(label) else 0.0
        chosen = None
        for i in range(bins):
            if i / bins < confidence <= (i + 1) / bins:
                chosen = i
        if chosen is None:  # exactly 0 goes to the first bin; above 1 (rounding) to the last
            chosen = 0 if confidence <= 0 else bins - 1
        members[chosen].append((confidence, correct))
    total = 0.0
    for rows in members:
        if rows:
            mean_confidence = sum(c for c, _ in rows) / len(rows)
            accuracy = sum(a for _, a in rows) / len(rows)
            total += len(rows) / len(y) * abs(accuracy - mean_confidence)
    return total


def predicted(proba: np.ndarray, threshold: float) -> np.ndarray:
    if proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype(int)
    return np.argmax(proba, axis=1)


def expected_metrics(y: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Every metric of classification_metrics, computed directly with scikit-learn."""
    n, k = proba.shape
    labels = list(range(k))
    p = proba.astype(np.float64)
    pred = predicted(p, threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_class = {}
        for i in labels:
            truth, guess = (y == i).astype(int), (pred == i).astype(int)
            defined = 0 < truth.sum() < n
            precision, recall, f1, _ = skm.precision_recall_fscore_support(
                truth, guess, average="binary", zero_division=0
            )
            per_class[str(i)] = {
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": int(truth.sum()),
                "roc_auc": skm.roc_auc_score(truth, p[:, i]) if defined else None,
                "pr_auc": skm.average_precision_score(truth, p[:, i]) if defined else None,
            }
        macro = skm.precision_recall_fscore_support(
            y, pred, labels=labels, average="macro", zero_division=0
        )
        out: dict[str, Any] = {
            "loss": None,
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "precision_macro": macro[0],
            "recall_macro": macro[1],
            "f1_macro": macro[2],
            "log_loss": skm.log_loss(y, p, labels=labels),
            "expected_calibration_error": reference_ece(y, proba),
            "per_class": per_class,
        }
        present = set(np.unique(y).tolist())
        if k == 2:
            both = present == {0, 1}
            out["roc_auc"] = skm.roc_auc_score(y, p[:, 1]) if both else None
            out["pr_auc"] = skm.average_precision_score(y, p[:, 1]) if both else None
            out["brier_score_loss"] = skm.brier_score_loss(y, p[:, 1], pos_label=1)
            positive = skm.precision_recall_fscore_support(
                y, pred, labels=[0, 1], pos_label=1, average="binary", zero_division=0
            )
            out["precision"], out["recall"], out["f1"] = positive[:3]
        else:
            every = present == set(labels)
            out["roc_auc"] = (
                skm.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=labels)
                if every
                else None
            )
            aps = [per_class[str(i)]["pr_auc"] for i in labels]
            out["pr_auc"] = float(np.mean(aps)) if every else None
            out["brier_score_loss"] = skm.brier_score_loss(y, p, labels=labels)
    return out


def assert_same(got: Any, want: Any, where: str = "metrics") -> None:
    """Compare nested dicts of numbers to TOL; None must match None exactly."""
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert set(got) == set(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif want is None:
        assert got is None, f"{where}: {got!r}, expected None (undefined)"
    else:
        assert got is not None, f"{where}: None, expected {want!r}"
        assert isinstance(got, (int, float)), f"{where}: {type(got).__name__} is not a plain number"
        assert math.isclose(got, float(want), rel_tol=0, abs_tol=TOL), (
            f"{where}: {got!r} != {want!r}"
        )


def check(y: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    k = proba.shape[1]
    got = classification_metrics(y, proba, [str(i) for i in range(k)], threshold=threshold)
    assert_same(got, expected_metrics(y, proba, threshold))
    assert set(got) == COMMON_KEYS | (BINARY_KEYS if k == 2 else set())
    for values in got["per_class"].values():
        assert set(values) == PER_CLASS_KEYS
    confusion_matrix = confusion(y, proba, k, threshold)
    want = skm.confusion_matrix(y, predicted(proba, threshold), labels=list(range(k))).tolist()
    assert confusion_matrix == want
    assert all(type(v) is int for row in confusion_matrix for v in row)
    return got


# ---- data ---------------------------------------------------------------------------------------


def informative(
    n: int, k: int, seed: int, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and softmax probabilities that carry some signal about the labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.5
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba = (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    return y, proba


# ---- fixed cases --------------------------------------------------------------------------------


def test_binary() -> None:
    y, proba = informative(300, 2, seed=1)
    got = check(y, proba)
    assert 0.5 < got["roc_auc"] <= 1.0
    assert got["roc_auc"] == got["per_class"]["1"]["roc_auc"]


def test_binary_float32_sigmoid_output() -> None:
    # The evaluator hands float32 columns [1 - p, p] from a sigmoid.
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 250)
    p1 = np.clip(0.6 * y + rng.uniform(0, 0.4, 250), 0, 1).astype(np.float32)
    proba = np.column_stack([1 - p1, p1]).astype(np.float32)
    check(y, proba)


@pytest.mark.parametrize("threshold", [0.2, 0.35, 0.8])
def test_binary_threshold_other_than_half(threshold: float) -> None:
    y, proba = informative(200, 2, seed=3)
    got = check(y, proba, threshold)
    at_half = classification_metrics(y, proba, ["0", "1"])
    # The threshold moves the decision metrics, never the ranking or probability ones.
    for key in ("roc_auc", "pr_auc", "log_loss", "brier_score_loss", "expected_calibration_error"):
        assert got[key] == at_half[key]
    assert got["recall"] != at_half["recall"] or got["precision"] != at_half["precision"]


def test_binary_threshold_includes_equal_scores() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.7, 0.3], [0.7, 0.3], [0.2, 0.8], [0.9, 0.1]])
    got = check(y, proba, threshold=0.3)
    assert got["per_class"]["1"]["recall"] == 1.0
    assert got["precision"] == pytest.approx(2 / 3, abs=TOL)


def test_binary_threshold_is_compared_at_full_precision() -> None:
    p1 = np.array([0.7, 0.2, 0.9], dtype=np.float32)  # 0.7 is stored as 0.699999988
    proba = np.column_stack([1 - p1, p1])
    y = np.array([0, 0, 1])
    got = classification_metrics(y, proba, ["0", "1"], threshold=0.7)
    want = (p1.astype(np.float64) >= 0.7).astype(int)
    assert got["precision"] == skm.precision_score(y, want, zero_division=0)
    assert confusion(y, proba, 2, 0.7) == skm.confusion_matrix(y, want).tolist()


def test_three_classes() -> None:
    y, proba = informative(240, 3, seed=4)
    got = check(y, proba)
    assert "precision" not in got
    assert got["roc_auc"] is not None and got["pr_auc"] is not None


def test_ten_classes_float32_softmax() -> None:
    y, proba = informative(600, 10, seed=5, dtype=np.float32)
    got = check(y, proba)
    assert len(got["per_class"]) == 10


def test_multiclass_ignores_threshold() -> None:
    y, proba = informative(90, 3, seed=6)
    assert classification_metrics(
        y, proba, ["a", "b", "c"], threshold=0.9
    ) == classification_metrics(y, proba, ["a", "b", "c"])


def test_per_class_keys_are_class_names() -> None:
    y, proba = informative(60, 3, seed=7)
    got = classification_metrics(y, proba, ["cat", "dog", "<b>&|"])
    assert list(got["per_class"]) == ["cat", "dog", "<b>&|"]
    assert got["per_class"]["dog"]["support"] == int((y == 1).sum())


def test_loss_is_passed_through() -> None:
    y, proba = informative(20, 2, seed=8)
    assert classification_metrics(y, proba, ["0", "1"])["loss"] is None
    assert classification_metrics(y, proba, ["0", "1"], loss=0.4321)["loss"] == 0.4321


@pytest.mark.parametrize("present", [0, 1])
def test_binary_with_one_class_absent(present: int) -> None:
    y = np.full(12, present)
    _, proba = informative(12, 2, seed=9)
    got = check(y, proba)
    assert got["roc_auc"] is None and got["pr_auc"] is None
    for values in got["per_class"].values():
        assert values["roc_auc"] is None and values["pr_auc"] is None
    assert got["log_loss"] is not None and got["brier_score_loss"] is not None


def test_multiclass_with_one_class_absent() -> None:
    y, proba = informative(80, 3, seed=10)
    y = np.where(y == 2, 0, y)  # class 2 never occurs, though the model still predicts it
    got = check(y, proba)
    assert got["roc_auc"] is None and got["pr_auc"] is None
    assert got["per_class"]["2"]["roc_auc"] is None and got["per_class"]["2"]["pr_auc"] is None
    assert got["per_class"]["2"]["support"] == 0
    assert got["per_class"]["0"]["roc_auc"] is not None
    assert got["log_loss"] is not None and got["brier_score_loss"] is not None


def test_multiclass_with_a_single_class_present() -> None:
    y = np.full(15, 1)
    _, proba = informative(15, 4, seed=11)
    got = check(y, proba)
    assert got["roc_auc"] is None
    assert all(v["roc_auc"] is None for v in got["per_class"].values())


def test_single_row() -> None:
    check(np.array([1]), np.array([[0.25, 0.75]]))
    check(np.array([2]), np.array([[0.2, 0.3, 0.5]]))


# ---- calibration --------------------------------------------------------------------------------


def test_ece_known_value() -> None:
    # Both rows in bin (0.6, 0.7]: accuracy 0.5, mean confidence 0.675.
    y = np.array([1, 0])
    proba = np.array([[0.3, 0.7], [0.35, 0.65]])
    assert expected_calibration_error(y, proba) == pytest.approx(0.175, abs=TOL)


def test_ece_perfectly_calibrated_and_fully_confident() -> None:
    y = np.array([0, 1, 0, 1])
    proba = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(y, proba) == 0.0
    assert expected_calibration_error(1 - y, proba) == 1.0


@pytest.mark.parametrize("edge", [i / 10 for i in range(1, 11)])
def test_ece_bin_edges_belong_to_the_lower_bin(edge: float) -> None:
    # One row exactly on the edge, one just below it (same bin) and one just above (next bin).
    rows = []
    for confidence in (edge, edge - 0.04, min(edge + 0.04, 1.0)):
        rest = (1 - confidence) / 9
        rows.append([confidence] + [rest] * 9)
    proba = np.array(rows)
    for y in (np.array([0, 0, 0]), np.array([0, 1, 0]), np.array([1, 0, 1])):
        assert expected_calibration_error(y, proba) == pytest.approx(
            reference_ece(y, proba), abs=TOL
        )


def test_ece_zero_confidence_is_in_the_first_bin() -> None:
    y = np.array([0, 1])
    proba = np.array([[0.0, 0.0], [0.95, 0.05]])
    assert expected_calibration_error(y, proba) == pytest.approx(reference_ece(y, proba), abs=TOL)


def test_ece_float32_confidences() -> None:
    y, proba = informative(400, 5, seed=12, dtype=np.float32)
    assert expected_calibration_error(y, proba) == pytest.approx(reference_ece(y, proba), abs=TOL)


# ---- baseline -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "priors",
    [np.array([0.7, 0.3]), np.array([0.25, 0.75]), np.array([0.2, 0.5, 0.3]), np.full(10, 0.1)],
)
def test_baseline_metrics(priors: np.ndarray) -> None:
    k = len(priors)
    y = np.random.default_rng(13).integers(0, k, 150)
    got = baseline_metrics(np.bincount(y, minlength=len(priors)), priors)
    majority = int(np.argmax(priors))
    constant = np.tile(priors, (len(y), 1))
    assert set(got) == {"accuracy", "log_loss"}
    assert_same(
        got,
        {
            "accuracy": skm.accuracy_score(y, np.full(len(y), majority)),
            "log_loss": skm.log_loss(y, constant, labels=list(range(k))),
        },
        "baseline",
    )


def test_baseline_with_a_class_unseen_in_training_stays_finite() -> None:
    y = np.array([0, 1, 2, 2])
    got = baseline_metrics(np.bincount(y, minlength=3), np.array([0.6, 0.4, 0.0]))
    assert got["accuracy"] == 0.25
    assert got["log_loss"] is not None and math.isfinite(got["log_loss"])
    assert got["log_loss"] > -math.log(0.4)


# ---- properties ---------------------------------------------------------------------------------

PROPERTY = settings(max_examples=50, deadline=None)


@st.composite
def predictions(draw: st.DrawFn, min_k: int = 2, max_k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Random labels and random probability rows: continuous, or on a 0.1 grid (ties, bin edges)."""
    k = draw(st.integers(min_k, max_k))
    n = draw(st.integers(1, 25))
    y = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    if draw(st.booleans()):
        cell = st.floats(0.001, 1.0, allow_nan=False)
    else:
        cell = st.integers(0, 10).map(float)
    row = st.lists(cell, min_size=k, max_size=k).filter(lambda r: sum(r) > 0)
    raw = np.array(draw(st.lists(row, min_size=n, max_size=n)), dtype=np.float64)
    return y, raw / raw.sum(axis=1, keepdims=True)


@PROPERTY
@given(data=predictions())
def test_property_matches_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    y, proba = data
    check(y, proba)


@PROPERTY
@given(data=predictions())
def test_property_float32_probabilities_match_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    # Models output float32: the ranking then sorts the scores' bits, not an argsort.
    y, proba = data
    check(y, proba.astype(np.float32))


@PROPERTY
@given(
    truth=st.lists(st.booleans(), min_size=2, max_size=40),
    grid=st.sampled_from([3, 10, 1000]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
    chunk=st.sampled_from([2, 3, 7, 1 << 20]),
)
def test_property_ranking_curves_match_sklearn(
    truth: list[bool], grid: int, dtype: type, seed: int, chunk: int
) -> None:
    hits = np.array(truth)
    if hits.all() or not hits.any():
        return
    score = (np.random.default_rng(seed).integers(0, grid, len(hits)) / grid).astype(dtype)
    score[0] = -0.0  # ranks with 0.0
    # Small steps put runs of tied scores across step boundaries.
    with patch.object(metrics, "CHUNK_ROWS", chunk):
        ranked = ranking(hits, score, points=None)
    assert ranked.roc_auc() == pytest.approx(skm.roc_auc_score(hits, score), abs=TOL)
    assert ranked.average_precision() == pytest.approx(
        skm.average_precision_score(hits, score), abs=TOL
    )
    curves = ranked.curves()
    fpr, tpr, _ = skm.roc_curve(hits, score, drop_intermediate=False)
    precision, recall, thresholds = skm.precision_recall_curve(hits, score)
    np.testing.assert_allclose(curves["fpr"], fpr, atol=TOL)
    np.testing.assert_allclose(curves["tpr"], tpr, atol=TOL)
    # scikit-learn lists thresholds rising and ends on (recall 0, precision 1).
    np.testing.assert_allclose(curves["recall"], recall[::-1][1:], atol=TOL)
    np.testing.assert_allclose(curves["precision"], precision[::-1][1:], atol=TOL)
    np.testing.assert_array_equal(curves["thresholds"], thresholds[::-1])


def test_ranking_resamples_long_curves_to_the_requested_points() -> None:
    rng = np.random.default_rng(0)
    score = rng.random(50_000).astype(np.float32)
    curves = ranking(rng.random(50_000) < score, score, points=300).curves()
    assert len(curves["fpr"]) == 301 and len(curves["recall"]) == 300
    assert curves["fpr"][0] == 0.0 and curves["fpr"][-1] == 1.0 and curves["tpr"][-1] == 1.0
    assert np.all(np.diff(curves["fpr"]) >= 0) and np.all(np.diff(curves["thresholds"]) <= 0)


@PROPERTY
@given(data=predictions(max_k=2), threshold=st.floats(0.05, 0.95))
def test_property_binary_threshold_matches_sklearn(
    data: tuple[np.ndarray, np.ndarray], threshold: float
) -> None:
    y, proba = data
    check(y, proba, threshold)


@PROPERTY
@given(data=predictions(max_k=10))
def test_property_ece_matches_loop(data: tuple[np.ndarray, np.ndarray]) -> None:
    y, proba = data
    got = expected_calibration_error(y, proba)
    assert got == pytest.approx(reference_ece(y, proba), abs=TOL)
    assert 0.0 <= got <= 1.0


@PROPERTY
@given(
    k=st.integers(2, 6),
    counts=st.lists(st.integers(1, 20), min_size=6, max_size=6),
    labels=st.lists(st.integers(0, 5), min_size=1, max_size=30),
)
def test_property_baseline_matches_sklearn(k: int, counts: list[int], labels: list[int]) -> None:
    priors = np.array(counts[:k], dtype=np.float64) / sum(counts[:k])
    y = np.array([v % k for v in labels], dtype=np.int64)
    got = baseline_metrics(np.bincount(y, minlength=len(priors)), priors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = skm.log_loss(y, np.tile(priors, (len(y), 1)), labels=list(range(k)))
    assert got["accuracy"] == pytest.approx(np.mean(y == np.argmax(priors)), abs=TOL)
    assert got["log_loss"] == pytest.approx(want, abs=TOL)


@pytest.mark.parametrize("k", [2, 4])
def test_metrics_walked_in_small_steps_equal_one_pass(k: int) -> None:
    # The passes add up per-step accumulators: steps of 7 rows must give the one-pass figures.
    rng = np.random.default_rng(k)
    raw = rng.random((500, k)).astype(np.float32)
    proba = raw / raw.sum(axis=1, keepdims=True)
    y = rng.integers(0, k, 500)
    classes = [str(c) for c in range(k)]
    whole = classification_metrics(y, proba, classes)
    whole_confusion = confusion(y, proba, k)
    with patch.object(metrics, "CHUNK_ROWS", 7):
        stepped = classification_metrics(y, proba, classes)
        assert confusion(y, proba, k) == whole_confusion
    for key, value in whole.items():
        if isinstance(value, float):
            assert stepped[key] == pytest.approx(value, abs=1e-12), key
    for name, values in whole["per_class"].items():
        for key, value in values.items():
            assert stepped["per_class"][name][key] == pytest.approx(value, abs=1e-12)


# ---- sums that merge ----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 4])
def test_sums_of_batches_merge_into_the_sums_of_all_rows(k: int) -> None:
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 3000)
    proba = rng.dirichlet(np.ones(k), 3000).astype(np.float32)
    losses = rng.random(3000)
    whole = PredictionSums.empty(k, 0.3)
    whole.add(y, proba, losses)
    parts = []
    for a, b in [(0, 1), (1, 1000), (1000, 1001), (1001, 3000)]:
        part = PredictionSums.empty(k, 0.3)
        part.add(y[a:b], proba[a:b], losses[a:b])
        parts.append(part)
    merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    np.testing.assert_array_equal(merged.confusion, whole.confusion)
    np.testing.assert_array_equal(merged.score_counts, whole.score_counts)
    np.testing.assert_allclose(merged.calibration, whole.calibration, rtol=1e-12)
    np.testing.assert_allclose(merged.loss, whole.loss, rtol=1e-12)
    assert merged.log_loss == pytest.approx(whole.log_loss, rel=1e-12)
    assert merged.brier == pytest.approx(whole.brier, rel=1e-12)
    assert (
        merged.confusion.tolist()
        == skm.confusion_matrix(y, metrics.predict_classes(proba, 0.3), labels=range(k)).tolist()
    )
    # Per true class, its score's histogram: class 1's for binary, its own otherwise.
    for c in range(k):
        score = proba[y == c, 1 if k == 2 else c]
        want, _ = np.histogram(score, bins=np.linspace(0, 1, metrics.SCORE_BINS + 1))
        np.testing.assert_array_equal(merged.score_counts[c], want)
    if k > 2:
        np.testing.assert_array_equal(merged.micro, whole.micro)
    else:
        assert merged.micro is None


def test_micro_curves_rank_every_score_by_its_bin() -> None:
    """The micro-average curve is one sort of all k x n scores, each at its bin's lowest value."""
    rng = np.random.default_rng(5)
    k, n = 4, 2000
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k) * 0.3, n).astype(np.float32)
    got = PredictionSums.of(y, proba).micro_curves()
    truth = (y[:, None] == np.arange(k)).ravel()
    binned = metrics.bin_score(metrics.score_bins(proba.ravel()))
    want = ranking(truth, binned, points=None).curves()
    for key in ("fpr", "tpr", "recall", "precision", "thresholds"):
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=0, err_msg=key)
    # The bins are narrow: each score is within 1/128 of its value of its bin's lowest score.
    assert np.all(binned <= proba.ravel()) and np.all(proba.ravel() - binned <= proba.ravel() / 128)


def test_score_histograms_bin_float32_scores_as_numpy_does_at_the_edges() -> None:
    """0.35 in float32 is 0.3499999940: bin 13 of 40, as np.histogram puts it, not bin 14."""
    edges = np.linspace(0, 1, metrics.SCORE_BINS + 1)
    p1 = edges[1:-1].astype(np.float32)  # every inner edge, rounded to float32
    y = np.ones(len(p1), np.int64)
    got = PredictionSums.of(y, np.column_stack([1 - p1, p1])).score_counts[1]
    want, _ = np.histogram(p1, bins=edges)
    np.testing.assert_array_equal(got, want)
