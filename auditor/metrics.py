"""Classification metrics of one split, from labels and probabilities, in a few vectorized passes.

Every figure equals scikit-learn's on the same predictions (the tests check it to 1e-9), but each
split is sorted once per class instead of once per metric, and nothing is copied per row beyond a
sort's index: at millions of rows this is several times faster and smaller than calling
scikit-learn metric by metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CALIBRATION_BINS = 10
CURVE_POINTS = 300  # ROC and PR curves are kept at this many points, whatever the number of rows


def predict_classes(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Turn probabilities into class indices: threshold on class 1 for binary, argmax otherwise."""
    if proba.shape[1] == 2:
        # Compare in float64: NumPy 2 would round the threshold to float32 and move it.
        return (proba[:, 1].astype(np.float64) >= threshold).astype(np.int64)
    return np.argmax(proba, axis=1).astype(np.int64)


@dataclass(frozen=True)
class Ranking:
    """Counts of positives and negatives scored at or above each distinct score, highest first.

    This is what ROC and precision/recall curves are made of: `tps[i]` true and `fps[i]` false
    positives when predicting positive for every score >= `thresholds[i]`.
    """

    tps: np.ndarray
    fps: np.ndarray
    thresholds: np.ndarray

    @property
    def positives(self) -> int:
        """Rows of the positive class."""
        return int(self.tps[-1]) if len(self.tps) else 0

    @property
    def negatives(self) -> int:
        """Rows of every other class."""
        return int(self.fps[-1]) if len(self.fps) else 0

    def roc_auc(self) -> float | None:
        """Area under the ROC curve (trapezoids, so tied scores count half); None for one class."""
        p, n = self.positives, self.negatives
        if not p or not n:
            return None
        tps, fps = np.r_[0, self.tps].astype(np.float64), np.r_[0, self.fps].astype(np.float64)
        area = float(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])) / 2.0)
        return min(max(area / (p * n), 0.0), 1.0)

    def average_precision(self) -> float | None:
        """Precision at each threshold weighted by the recall it adds; None without both classes."""
        if not self.positives or not self.negatives:
            return None
        precision = self.tps / (self.tps + self.fps)
        gained = np.diff(np.r_[0, self.tps]) / self.positives
        return min(max(float(np.sum(gained * precision)), 0.0), 1.0)

    def curves(self, points: int = CURVE_POINTS) -> dict[str, np.ndarray]:
        """ROC (fpr, tpr) and PR (recall, precision) curves, resampled to at most POINTS points."""
        index = np.arange(len(self.tps))
        if len(index) > points:
            index = np.unique(np.linspace(0, len(index) - 1, points).round().astype(np.int64))
        tps = self.tps[index].astype(np.float64)
        fps = self.fps[index].astype(np.float64)
        p, n = max(self.positives, 1), max(self.negatives, 1)
        return {
            "fpr": np.r_[0.0, fps / n],
            "tpr": np.r_[0.0, tps / p],
            "recall": np.r_[tps / p],
            "precision": np.r_[tps / np.maximum(tps + fps, 1)],
            "thresholds": self.thresholds[index].astype(np.float64),
        }


def _descending(hits: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return SCORE sorted highest first, and HITS in the same order (ties in any order)."""
    if score.dtype == np.float32 and len(score) and score.min() >= 0:
        # Non-negative floats order like their bits: pack each score's bits with its hit flag
        # into one integer and sort those, 3x faster than an argsort and no index array.
        key = (score + np.float32(0.0)).view(np.uint32).astype(np.uint64)  # -0.0 becomes 0.0
        key <<= np.uint64(1)
        key |= hits
        key.sort()
        key = key[::-1]
        return (key >> np.uint64(1)).astype(np.uint32).view(np.float32), (key & 1).astype(bool)
    order = np.argsort(score)[::-1]
    return score[order], hits[order]


def ranking(truth: np.ndarray, score: np.ndarray) -> Ranking:
    """Rank SCORE once, highest first, and count TRUTH's positives at or above each score."""
    ordered, hits = _descending(np.asarray(truth, dtype=bool), score)
    # The last row of each run of equal scores closes a threshold.
    ends = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), len(ordered) - 1]
    if not len(ordered):
        ends = ends[:0]
    tps = np.cumsum(hits, dtype=np.int64)[ends]
    return Ranking(tps=tps, fps=ends + 1 - tps, thresholds=ordered[ends])


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


def confusion_counts(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix as an array, rows = true class, columns = predicted class."""
    cells = y.astype(np.int64) * n_classes + pred
    return np.bincount(cells, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """NUM / DEN with 0 where DEN is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float | None:
    """Mean negative log-probability of the true class, clipped like scikit-learn's log_loss."""
    if not len(y):
        return None
    eps = np.finfo(np.float64).eps
    true_p = proba[np.arange(len(y)), y].astype(np.float64)
    return float(-np.mean(np.log(np.clip(true_p, eps, 1 - eps))))


def _brier(y: np.ndarray, proba: np.ndarray) -> float | None:
    """Binary: mean (p1 - y)^2. Multiclass: mean over rows of the summed squared errors."""
    if not len(y):
        return None
    if proba.shape[1] == 2:
        return float(np.mean((proba[:, 1].astype(np.float64) - (y == 1)) ** 2))
    total = np.einsum("ij,ij->", proba, proba, dtype=np.float64)
    true_p = proba[np.arange(len(y)), y].astype(np.float64)
    return float((total - 2 * true_p.sum()) / len(y) + 1.0)


def classification_metrics(
    y: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    threshold: float = 0.5,
    loss: float | None = None,
) -> dict[str, Any]:
    """Return every metric of one split as plain floats; undefined ones are None."""
    return measure(y, proba, classes, threshold=threshold, loss=loss)[0]


def measure(
    y: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    threshold: float = 0.5,
    loss: float | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Return the split's metrics and, per class with both outcomes, its one-vs-rest curves."""
    k = len(classes)
    y = y.astype(np.int64, copy=False)
    pred = predict_classes(proba, threshold)
    matrix = confusion_counts(y, pred, k)
    tp = np.diag(matrix).astype(np.float64)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    precision = _ratio(tp, predicted.astype(np.float64))
    recall = _ratio(tp, support.astype(np.float64))
    f1 = _ratio(2 * tp, (support + predicted).astype(np.float64))
    present = support > 0
    binary = k == 2

    per_class: dict[str, dict[str, float | int | None]] = {}
    curves: dict[str, dict[str, np.ndarray]] = {}
    for i, name in enumerate(classes):
        defined = 0 < support[i] < len(y)
        ranked = ranking(y == i, proba[:, i]) if defined else None
        if ranked is not None:
            curves[name] = ranked.curves()
        per_class[name] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "roc_auc": ranked.roc_auc() if ranked else None,
            "pr_auc": ranked.average_precision() if ranked else None,
        }

    if binary:
        roc_auc = per_class[classes[1]]["roc_auc"]
        pr_auc = per_class[classes[1]]["pr_auc"]
    else:
        rocs = [v for c in classes if (v := per_class[c]["roc_auc"]) is not None]
        prs = [v for c in classes if (v := per_class[c]["pr_auc"]) is not None]
        roc_auc = float(np.mean(rocs)) if present.all() and len(rocs) == k else None
        pr_auc = float(np.mean(prs)) if len(prs) == k else None

    result: dict[str, Any] = {
        "loss": loss,
        "accuracy": float(tp.sum() / len(y)) if len(y) else 0.0,
        "balanced_accuracy": float(np.mean(recall[present])) if present.any() else 0.0,
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": _log_loss(y, proba),
        "brier_score_loss": _brier(y, proba),
        "expected_calibration_error": expected_calibration_error(y, proba),
    }
    if binary:
        positive = per_class[classes[1]]
        result.update(precision=positive["precision"], recall=positive["recall"], f1=positive["f1"])
    result["per_class"] = per_class
    return result, curves


def confusion(
    y: np.ndarray, proba: np.ndarray, n_classes: int, threshold: float = 0.5
) -> list[list[int]]:
    """Confusion matrix, rows = true class, columns = predicted class."""
    matrix = confusion_counts(y, predict_classes(proba, threshold), n_classes)
    return matrix.astype(int).tolist()


def baseline_metrics(y: np.ndarray, priors: np.ndarray) -> dict[str, float | None]:
    """Accuracy and log loss of a model that always predicts the training priors' majority class."""
    majority = int(np.argmax(priors))
    eps = np.finfo(np.float64).eps
    p = np.clip(np.clip(priors.astype(np.float64), 1e-15, 1.0), eps, 1 - eps)
    counts = np.bincount(y, minlength=len(priors))
    return {
        "accuracy": float(np.mean(y == majority)) if len(y) else 0.0,
        "log_loss": float(-(counts * np.log(p)).sum() / len(y)) if len(y) else None,
    }
