"""Classification metrics of one split, from labels and probabilities, in a few vectorized passes.

Every figure equals scikit-learn's on the same predictions (the tests check it to 1e-9), but each
split is sorted once per class instead of once per metric, and every pass runs in steps of
CHUNK_ROWS rows with sums that merge: at millions of rows this is several times faster and smaller
than calling scikit-learn metric by metric. The sums (`PredictionSums`) are also what an engine's
shards return batch by batch, and `measured` computes the metrics from them and the per-class
rankings, however these were made (one sort here, or buckets ranked where they are:
`auditor.facts.scores`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

CALIBRATION_BINS = 10
CURVE_POINTS = 300  # ROC and PR curves are kept at this many points, whatever the number of rows


def predict_classes(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Turn probabilities into class indices: threshold on class 1 for binary, argmax otherwise."""
    if proba.shape[1] == 2:
        # Compare in float64: NumPy 2 would round the threshold to float32 and move it.
        return (proba[:, 1].astype(np.float64) >= threshold).astype(np.int64)
    return np.argmax(proba, axis=1).astype(np.int64)


CHUNK_ROWS = 1 << 20  # rows per step of the passes below: their temporaries stay ~50 MB


@dataclass(frozen=True)
class Ranking:
    """A score ranked against the truth: the areas under its curves, and points of the curves.

    `tps[i]` true and `fps[i]` false positives are predicted positive for every score >=
    `thresholds[i]` (highest threshold first), at evenly spread distinct thresholds (every one
    when asked for). `roc_area` and `precision_sum` are summed over every distinct threshold.
    """

    positives: int
    negatives: int
    roc_area: float  # twice the area under the (unnormalized) ROC staircase, ties as trapezoids
    precision_sum: float  # sum over thresholds of new true positives x precision
    tps: np.ndarray
    fps: np.ndarray
    thresholds: np.ndarray

    def roc_auc(self) -> float | None:
        """Area under the ROC curve (trapezoids, so tied scores count half); None for one class."""
        p, n = self.positives, self.negatives
        if not p or not n:
            return None
        return min(max(self.roc_area / 2.0 / (p * n), 0.0), 1.0)

    def average_precision(self) -> float | None:
        """Precision at each threshold weighted by the recall it adds; None without both classes."""
        if not self.positives or not self.negatives:
            return None
        return min(max(self.precision_sum / self.positives, 0.0), 1.0)

    def curves(self) -> dict[str, np.ndarray]:
        """ROC (fpr, tpr, from (0, 0)) and PR (recall, precision) curves at the kept thresholds."""
        tps, fps = self.tps.astype(np.float64), self.fps.astype(np.float64)
        p, n = max(self.positives, 1), max(self.negatives, 1)
        return {
            "fpr": np.r_[0.0, fps / n],
            "tpr": np.r_[0.0, tps / p],
            "recall": tps / p,
            "precision": tps / np.maximum(tps + fps, 1),
            "thresholds": self.thresholds.astype(np.float64),
        }


def _descending(hits: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return SCORE sorted highest first, and HITS in the same order (ties in any order)."""
    if score.dtype == np.float32 and len(score) and score.min() >= 0 and np.little_endian:
        # Non-negative floats order like their bits: pack each score's bits with its hit flag
        # into one integer and sort those in place, 3x faster than an argsort and no index
        # array: 13 bytes a row at the peak.
        key = (score + np.float32(0.0)).view(np.uint32).astype(np.uint64)  # -0.0 becomes 0.0
        key <<= np.uint64(1)
        key |= hits
        key.sort()
        flags = (key.view(np.uint8)[::8] & 1).astype(bool)[::-1]  # the low byte of each key
        key >>= np.uint64(1)
        return key[::-1].astype(np.uint32).view(np.float32), flags
    order = np.argsort(score)[::-1]
    return score[order], hits[order]


def ranking(truth: np.ndarray, score: np.ndarray, points: int | None = CURVE_POINTS) -> Ranking:
    """Rank SCORE once, highest first, against TRUTH; keep POINTS curve points (None: all).

    The thresholds are walked in steps of CHUNK_ROWS rows, carrying the counts from step to step
    (the accumulators merge), so no per-threshold array of the whole split is ever built.
    """
    ordered, hits = _descending(np.asarray(truth, dtype=bool), score)
    n = len(ordered)
    distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1 if n else 0
    if points is None or distinct <= points:
        wanted = np.arange(distinct)
    else:
        wanted = np.unique(np.linspace(0, distinct - 1, points).round().astype(np.int64))
    roc_area = precision_sum = 0.0
    last_tps = last_fps = seen = closed = 0
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        following = ordered[start + 1 : stop + 1]
        # A threshold closes at the last row of each run of equal scores.
        closes = np.flatnonzero(ordered[start : start + len(following)] != following)
        if stop == n:
            closes = np.r_[closes, stop - 1 - start]
        counted = seen + np.cumsum(hits[start:stop], dtype=np.int64)
        tps = counted[closes]
        rows = closes + (start + 1)
        fps = rows - tps
        before_tps = np.r_[last_tps, tps[:-1]].astype(np.float64)
        before_fps = np.r_[last_fps, fps[:-1]].astype(np.float64)
        roc_area += float(np.sum((fps - before_fps) * (tps + before_tps)))
        precision_sum += float(np.sum((tps - before_tps) * (tps / rows)))
        if len(wanted) == distinct:
            pick: Any = slice(None)
        else:
            pick = np.isin(closed + np.arange(len(closes)), wanted, assume_unique=True)
        kept.append((tps[pick], fps[pick], ordered[rows[pick] - 1]))
        if len(closes):
            last_tps, last_fps = int(tps[-1]), int(fps[-1])
        seen, closed = int(counted[-1]), closed + len(closes)
    parts = [np.concatenate(column) for column in zip(*kept, strict=True)] if kept else []
    empty = np.empty(0, np.int64)
    return Ranking(
        positives=seen,
        negatives=n - seen,
        roc_area=roc_area,
        precision_sum=precision_sum,
        tps=parts[0] if parts else empty,
        fps=parts[1] if parts else empty,
        thresholds=parts[2] if parts else np.empty(0, score.dtype),
    )


SCORE_BINS = 40  # the score histograms' equal-width bins over [0, 1]
MICRO_BITS = 16  # a score's micro-average bin: the top bits of its order key (see `score_bins`)


SIGN = np.uint32(1 << 31)


def score_keys(score: np.ndarray) -> np.ndarray:
    """Return uint32 keys that order as the float32 SCORE values do (-0.0 as 0.0; no NaN)."""
    bits = (np.asarray(score, dtype=np.float32) + np.float32(0.0)).view(np.uint32)
    negative = (bits & SIGN) != 0
    return np.where(negative, ~bits, bits | SIGN)


def key_scores(keys: np.ndarray) -> np.ndarray:
    """Return the float32 scores of KEYS (the inverse of `score_keys`)."""
    keys = np.asarray(keys, dtype=np.uint32)
    positive = (keys & SIGN) != 0
    return np.where(positive, keys & ~SIGN, ~keys).astype(np.uint32).view(np.float32)


def score_bins(score: np.ndarray) -> np.ndarray:
    """Return each float32 score's bin among 2**MICRO_BITS: the top bits of its `score_keys`.

    Sign, exponent and 7 bits of mantissa: 1/128 of the value wide, so fine near 0 and still
    1/256 wide near 1.
    """
    return (score_keys(score) >> np.uint32(32 - MICRO_BITS)).astype(np.int64)


def bin_score(index: np.ndarray) -> np.ndarray:
    """Return the lowest float32 score of each bin of `score_bins`."""
    return key_scores(np.asarray(index, dtype=np.uint32) << np.uint32(32 - MICRO_BITS))


@dataclass
class PredictionSums:
    """Sums over a split's predictions that merge: all the metrics need besides the rankings.

    Per true and predicted class the confusion counts; per confidence bin the rows, summed
    confidence and correctness (calibration); the summed log loss, Brier terms and the model's
    per-row loss moments (count, sum, sum of squares); per true class a histogram of its score
    (class 1's for binary, its own otherwise) in SCORE_BINS bins; for multiclass, every score's
    micro-average bin (`score_bins`) counted by whether it is its row's true class.
    """

    n_classes: int
    threshold: float
    confusion: np.ndarray
    calibration: np.ndarray  # (3, CALIBRATION_BINS): rows, confidence, correct
    log_loss: float = 0.0
    brier: float = 0.0
    loss: np.ndarray = field(default_factory=lambda: np.zeros(3))
    score_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, SCORE_BINS), np.int64))
    micro: np.ndarray | None = None  # (2, 2**MICRO_BITS): negatives, positives

    @classmethod
    def empty(cls, n_classes: int, threshold: float = 0.5) -> PredictionSums:
        """Return the sums over no rows."""
        return cls(
            n_classes,
            threshold,
            np.zeros((n_classes, n_classes), np.int64),
            np.zeros((3, CALIBRATION_BINS)),
            score_counts=np.zeros((n_classes, SCORE_BINS), np.int64),
            micro=np.zeros((2, 1 << MICRO_BITS), np.int64) if n_classes > 2 else None,
        )

    @classmethod
    def of(cls, y: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> PredictionSums:
        """Return the sums over every row of Y and PROBA, in steps of CHUNK_ROWS rows."""
        sums = cls.empty(proba.shape[1], threshold)
        for start in range(0, len(y), CHUNK_ROWS):
            sums.add(y[start : start + CHUNK_ROWS], proba[start : start + CHUNK_ROWS])
        return sums

    @property
    def rows(self) -> int:
        """The rows summed."""
        return int(self.confusion.sum())

    @property
    def class_counts(self) -> np.ndarray:
        """Rows per true class."""
        return self.confusion.sum(axis=1)

    def add(self, y: np.ndarray, proba: np.ndarray, losses: np.ndarray | None = None) -> None:
        """Add one batch's labels Y, probabilities PROBA and (if given) per-row LOSSES."""
        k = self.n_classes
        y = np.asarray(y).astype(np.int64, copy=False)
        cells = y * k + predict_classes(proba, self.threshold)
        self.confusion += np.bincount(cells, minlength=k * k).reshape(k, k)
        confidence = proba.max(axis=1).astype(np.float64)
        correct = (np.argmax(proba, axis=1) == y).astype(np.float64)
        bins = CALIBRATION_BINS
        index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
        self.calibration += np.stack(
            [
                np.bincount(index, minlength=bins),
                np.bincount(index, weights=confidence, minlength=bins),
                np.bincount(index, weights=correct, minlength=bins),
            ]
        )
        eps = np.finfo(np.float64).eps
        true = _true_class(y, proba)
        self.log_loss += float(-np.sum(np.log(np.clip(true, eps, 1 - eps))))
        if k == 2:
            self.brier += float(np.sum((proba[:, 1].astype(np.float64) - (y == 1)) ** 2))
        else:
            squares = np.einsum("ij,ij->", proba, proba, dtype=np.float64)
            self.brier += float(squares - 2 * true.sum() + len(y))
        if losses is not None:
            v = losses.astype(np.float64)
            self.loss += np.array([len(v), v.sum(), (v * v).sum()])
        score = proba[:, 1].astype(np.float64) if k == 2 else true  # float64: exact bin edges
        which = np.clip(np.floor(score * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1)
        self.score_counts += np.bincount(y * SCORE_BINS + which, minlength=k * SCORE_BINS).reshape(
            k, SCORE_BINS
        )
        if self.micro is not None:
            hits = (y[:, None] == np.arange(k)).ravel()
            self.micro += (
                np.bincount(score_bins(proba.ravel()) * 2 + hits, minlength=2 << MICRO_BITS)
                .reshape(-1, 2)
                .T
            )

    def merge(self, other: PredictionSums) -> PredictionSums:
        """Both sums together (SELF's rows first)."""
        return PredictionSums(
            self.n_classes,
            self.threshold,
            self.confusion + other.confusion,
            self.calibration + other.calibration,
            self.log_loss + other.log_loss,
            self.brier + other.brier,
            self.loss + other.loss,
            self.score_counts + other.score_counts,
            self.micro + other.micro
            if self.micro is not None and other.micro is not None
            else None,
        )

    def expected_calibration_error(self) -> float:
        """Top-label ECE: the row-weighted mean |accuracy - confidence| over the bins."""
        rows = self.rows
        if not rows:
            return float("nan")
        _, confidence, correct = self.calibration
        return float(np.abs(correct - confidence).sum() / rows)

    def micro_curves(self) -> dict[str, np.ndarray]:
        """Micro-averaged ROC and PR curves, one point per occupied bin (multiclass only)."""
        assert self.micro is not None, "binary sums keep no micro-average bins"
        negatives, positives = self.micro[:, ::-1]  # highest scores first
        kept = (negatives + positives) > 0
        fps, tps = np.cumsum(negatives)[kept], np.cumsum(positives)[kept]
        thresholds = bin_score(np.flatnonzero(kept[::-1])[::-1])
        return Ranking(int(tps[-1]), int(fps[-1]), 0.0, 0.0, tps, fps, thresholds).curves()


def expected_calibration_error(y: np.ndarray, proba: np.ndarray) -> float:
    """Top-label ECE: the row-weighted mean |accuracy - confidence| over equal-width bins.

    Bin i holds confidences in (i/bins, (i+1)/bins]; the lowest bin also holds exactly 0.
    """
    return PredictionSums.of(y, proba).expected_calibration_error()


def confusion_counts(
    y: np.ndarray, proba: np.ndarray, n_classes: int, threshold: float = 0.5
) -> np.ndarray:
    """Confusion matrix as an array, rows = true class, columns = predicted class."""
    return PredictionSums.of(y, proba, threshold).confusion


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """NUM / DEN with 0 where DEN is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _true_class(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    return np.take_along_axis(proba, y.astype(np.intp)[:, None], axis=1)[:, 0].astype(np.float64)


def classification_metrics(
    y: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    threshold: float = 0.5,
    loss: float | None = None,
) -> dict[str, Any]:
    """Return every metric of one split as plain floats; undefined ones are None."""
    return measure(y, proba, classes, threshold=threshold, loss=loss).metrics


class Measured(NamedTuple):
    """A split's metrics, its one-vs-rest curves per class with both outcomes, and its confusion."""

    metrics: dict[str, Any]
    curves: dict[str, dict[str, np.ndarray]]
    confusion: list[list[int]]


def measure(
    y: np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    threshold: float = 0.5,
    loss: float | None = None,
) -> Measured:
    """Return the split's metrics, curves and confusion matrix from labels and probabilities."""
    sums = PredictionSums.of(y, proba, threshold)
    return measured(sums, rank_rows(y, proba, ranked_classes(sums)), classes, loss=loss)


def rank_rows(y: np.ndarray, proba: np.ndarray, classes: Sequence[int]) -> dict[int, Ranking]:
    """Rank each of CLASSES one-vs-rest by its probability, one sort of the whole split each."""
    return {i: ranking(y == i, proba[:, i]) for i in classes}


def ranked_classes(sums: PredictionSums) -> list[int]:
    """Return the classes that have a ranking: present in the split, but not alone in it."""
    counts = sums.class_counts
    return [i for i in range(sums.n_classes) if 0 < counts[i] < sums.rows]


def measured(
    sums: PredictionSums,
    ranked: dict[int, Ranking],
    classes: Sequence[str],
    *,
    loss: float | None = None,
) -> Measured:
    """Return the split's metrics, curves and confusion matrix from its SUMS and class rankings.

    RANKED holds each class of `ranked_classes` ranked one-vs-rest by its probability.
    """
    k = len(classes)
    n = sums.rows
    matrix = sums.confusion
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
        one = ranked.get(i)
        if one is not None:
            curves[name] = one.curves()
        per_class[name] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "roc_auc": one.roc_auc() if one else None,
            "pr_auc": one.average_precision() if one else None,
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
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "balanced_accuracy": float(np.mean(recall[present])) if present.any() else 0.0,
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": sums.log_loss / n if n else None,
        "brier_score_loss": sums.brier / n if n else None,
        "expected_calibration_error": sums.expected_calibration_error(),
    }
    if binary:
        positive = per_class[classes[1]]
        result.update(precision=positive["precision"], recall=positive["recall"], f1=positive["f1"])
    result["per_class"] = per_class
    return Measured(result, curves, matrix.astype(int).tolist())


def confusion(
    y: np.ndarray, proba: np.ndarray, n_classes: int, threshold: float = 0.5
) -> list[list[int]]:
    """Confusion matrix, rows = true class, columns = predicted class."""
    return confusion_counts(y, proba, n_classes, threshold).astype(int).tolist()


def baseline_metrics(counts: np.ndarray, priors: np.ndarray) -> dict[str, float | None]:
    """Accuracy and log loss of a model that always predicts the training priors' majority class.

    COUNTS are the split's rows per class.
    """
    majority = int(np.argmax(priors))
    eps = np.finfo(np.float64).eps
    p = np.clip(np.clip(priors.astype(np.float64), 1e-15, 1.0), eps, 1 - eps)
    n = int(counts.sum())
    return {
        "accuracy": float(counts[majority] / n) if n else 0.0,
        "log_loss": float(-(counts * np.log(p)).sum() / n) if n else None,
    }
