"""Classification metrics of one split, computed with scikit-learn from labels and probabilities."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

CALIBRATION_BINS = 10


def predict_classes(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Turn probabilities into class indices: threshold on class 1 for binary, argmax otherwise."""
    if proba.shape[1] == 2:
        # Compare in float64: NumPy 2 would round the threshold to float32 and move it.
        return (proba[:, 1].astype(np.float64) >= threshold).astype(np.int64)
    return np.argmax(proba, axis=1).astype(np.int64)


def calibration_bins(
    y: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width confidence bin: rows, summed top-label confidence, summed correctness.

    Bin i holds confidences in (i/bins, (i+1)/bins]; the lowest bin also holds exactly 0.
    """
    confidence = proba.max(axis=1).astype(np.float64)
    correct = (np.argmax(proba, axis=1) == y).astype(np.float64)
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    return (
        np.bincount(index, minlength=bins),
        np.bincount(index, weights=confidence, minlength=bins),
        np.bincount(index, weights=correct, minlength=bins),
    )


def expected_calibration_error(
    y: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """Top-label ECE: the row-weighted mean |accuracy - confidence| over equal-width bins."""
    if not len(y):
        return float("nan")
    _, conf_sum, acc_sum = calibration_bins(y, proba, bins)
    return float(np.abs(acc_sum - conf_sum).sum() / len(y))


def _safe(fn: Any, *args: Any, **kwargs: Any) -> float | None:
    """Run a score that is undefined for some inputs (one class present); None when undefined."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            # float32 softmax rows sum to 1 only within rounding; sklearn warns but is exact enough.
            warnings.filterwarnings("ignore", message=".*do not sum to one.*")
            value = float(fn(*args, **kwargs))
    except ValueError:
        return None
    if np.isnan(value):
        return None
    if fn in (skm.roc_auc_score, skm.average_precision_score):
        # scikit-learn's sums can overshoot by an ulp (average precision 1.0000000000000002).
        return min(max(value, 0.0), 1.0)
    return value


def classification_metrics(
    y: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    threshold: float = 0.5,
    loss: float | None = None,
) -> dict[str, Any]:
    """Return every metric of one split as plain floats; undefined ones are None."""
    k = len(classes)
    labels = list(range(k))
    pred = predict_classes(proba, threshold)
    present = np.unique(y)
    binary = k == 2
    p64 = proba.astype(np.float64)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            y, pred, labels=labels, zero_division=0
        )
    per_class: dict[str, dict[str, float | int | None]] = {}
    for i, name in enumerate(classes):
        one_vs_rest = (y == i).astype(np.int64)
        has_both = 0 < one_vs_rest.sum() < len(y)
        roc = _safe(skm.roc_auc_score, one_vs_rest, p64[:, i]) if has_both else None
        per_class[name] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "roc_auc": roc,
            "pr_auc": _safe(skm.average_precision_score, one_vs_rest, p64[:, i])
            if has_both
            else None,
        }

    if binary:
        roc_auc = per_class[classes[1]]["roc_auc"]
        pr_auc = per_class[classes[1]]["pr_auc"]
        brier = _safe(skm.brier_score_loss, y, p64[:, 1], pos_label=1) if len(present) else None
    else:
        roc_auc = (
            _safe(skm.roc_auc_score, y, p64, multi_class="ovr", average="macro", labels=labels)
            if len(present) == k
            else None
        )
        pr_values = [per_class[c]["pr_auc"] for c in classes]
        defined = [v for v in pr_values if v is not None]
        pr_auc = float(np.mean(defined)) if len(defined) == len(pr_values) else None
        brier = _safe(skm.brier_score_loss, y, p64, labels=labels)

    result: dict[str, Any] = {
        "loss": loss,
        "accuracy": float(skm.accuracy_score(y, pred)),
        "balanced_accuracy": _balanced_accuracy(y, pred),
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": _safe(skm.log_loss, y, p64, labels=labels),
        "brier_score_loss": brier,
        "expected_calibration_error": expected_calibration_error(y, proba),
    }
    if binary:
        positive = per_class[classes[1]]
        result.update(precision=positive["precision"], recall=positive["recall"], f1=positive["f1"])
    result["per_class"] = per_class
    return result


def _balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(skm.balanced_accuracy_score(y, pred))


def confusion(
    y: np.ndarray, proba: np.ndarray, n_classes: int, threshold: float = 0.5
) -> list[list[int]]:
    """Confusion matrix, rows = true class, columns = predicted class."""
    pred = predict_classes(proba, threshold)
    return skm.confusion_matrix(y, pred, labels=list(range(n_classes))).astype(int).tolist()


def baseline_metrics(y: np.ndarray, priors: np.ndarray) -> dict[str, float | None]:
    """Accuracy and log loss of a model that always predicts the training priors' majority class."""
    majority = int(np.argmax(priors))
    constant = np.tile(np.clip(priors, 1e-15, 1.0), (len(y), 1))
    return {
        "accuracy": float(np.mean(y == majority)),
        "log_loss": _safe(skm.log_loss, y, constant, labels=list(range(len(priors)))),
    }
