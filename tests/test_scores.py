"""ROC AUC, average precision and curve points from value-range buckets equal one sort's.

Scores cut into shards and 2**bits buckets by the top bits of their keys are ranked bucket by
bucket (`auditor.facts.scores`) and compared with `auditor.metrics.ranking` (one sort of every
score) and with scikit-learn, to 1e-9: heavy ties, a handful of distinct scores, empty buckets,
one row per class, negative scores and -0.0. NumPy and scikit-learn only.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from auditor.facts.scores import (
    ScoreKeys,
    bit_splitters,
    partition_classes,
    partition_scores,
    rank_classes,
    sample_splitters,
)
from auditor.metrics import key_scores, ranking, score_keys


def buckets_of(truth: np.ndarray, score: np.ndarray, splitters, cuts: list[int]):
    """Per bucket, each shard's ScoreKeys: shards cut at CUTS, as workers would hold them.

    SPLITTERS: sorted keys, or a number of top bits.
    """
    if isinstance(splitters, int):
        splitters = bit_splitters(splitters)
    bounds = [0, *cuts, len(score)]
    found: list[list[ScoreKeys]] = [[] for _ in range(len(splitters) + 1)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        parts = partition_scores(truth[a:b], score[a:b], splitters)
        for bucket, part in zip(found, parts, strict=True):
            bucket.append(part)
    return found


def bucketed_ranking(buckets, run=None, points=300):
    """Rank one class held as bare ScoreKeys, through `rank_classes` (parts become 1-tuples)."""
    wrapped = [[(part,) for part in bucket] for bucket in buckets]
    if run is None:
        return rank_classes(wrapped, [0], points=points)[0][0]
    return rank_classes(wrapped, [0], run, points=points)[0][0]


def scores(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    if kind == "continuous":
        score = np.clip(rng.normal(0.5, 0.2, n) + 0.2 * truth, 0, 1)
    elif kind == "ties":  # probabilities rounded to 2 decimals: runs of equal scores
        score = np.round(np.clip(rng.normal(0.5, 0.2, n) + 0.1 * truth, 0, 1), 2)
    elif kind == "few":  # three distinct scores
        score = rng.choice([0.1, 0.5, 0.9], n)
    else:  # signed: logits, with zeros of both signs
        score = rng.normal(0, 3, n) + truth
        score[:20] = 0.0
        score[20:40] = -0.0
    return truth, score.astype(np.float32)


@pytest.mark.parametrize("bits", [0, 1, 4, 8, "sample"])
@pytest.mark.parametrize("kind", ["continuous", "ties", "few", "signed"])
@pytest.mark.parametrize("points", [300, None])
def test_buckets_rank_as_one_sort(bits: int | str, kind: str, points: int | None) -> None:
    truth, score = scores(kind, 5000, seed=len(str(bits)))
    splitters = sample_splitters(score[::25], 16) if bits == "sample" else bits
    buckets = buckets_of(truth, score, splitters, [1, 900, 3100])
    got = bucketed_ranking(buckets, points=points)
    want = ranking(truth, score, points)
    assert (got.positives, got.negatives) == (want.positives, want.negatives)
    assert got.roc_area == want.roc_area  # integers, exactly
    assert got.precision_sum == pytest.approx(want.precision_sum, rel=1e-12)
    np.testing.assert_array_equal(got.tps, want.tps)
    np.testing.assert_array_equal(got.fps, want.fps)
    np.testing.assert_array_equal(got.thresholds, want.thresholds)
    assert got.roc_auc() == pytest.approx(roc_auc_score(truth, score), abs=1e-9)
    assert got.average_precision() == pytest.approx(average_precision_score(truth, score), abs=1e-9)


def test_keys_order_as_the_scores_do() -> None:
    values = np.array(
        [-np.inf, -3.5, -1e-30, -0.0, 0.0, 1e-45, 1e-30, 0.25, 1.0, 3e38, np.inf], np.float32
    )
    keys = score_keys(values)
    assert np.all(np.diff(keys.astype(np.int64)) >= 0)
    assert keys[3] == keys[4]  # -0.0 and 0.0 are one score
    assert np.all(np.diff(keys.astype(np.int64))[np.r_[0:3, 4:10]] > 0)
    np.testing.assert_array_equal(key_scores(keys), values + np.float32(0.0))


def test_one_positive_one_negative_and_empty_buckets() -> None:
    truth, score = np.array([True, False]), np.array([0.7, 0.2], np.float32)
    buckets = buckets_of(truth, score, 10, [1])  # 1024 buckets, 1022 empty
    assert sum(1 for b in buckets if sum(len(p) for p in b)) == 2
    got = bucketed_ranking(buckets)
    assert got.roc_auc() == 1.0 and got.average_precision() == 1.0
    tied = bucketed_ranking(buckets_of(truth, np.array([0.5, 0.5], np.float32), 3, []))
    assert tied.roc_auc() == 0.5 and tied.average_precision() == 0.5


def test_buckets_travel_pickled() -> None:
    def pickling_map(fn, tasks):
        sent = pickle.loads(pickle.dumps(tasks))
        return [pickle.loads(pickle.dumps(fn(*args, *parts))) for args, parts in sent]

    truth, score = scores("ties", 3000, seed=9)
    got = bucketed_ranking(buckets_of(truth, score, 3, [1500]), pickling_map)
    assert got.roc_auc() == pytest.approx(roc_auc_score(truth, score), abs=1e-9)


def test_sample_splitters_balance_probabilities() -> None:
    """Probabilities share their top bits: bit splitters crowd them, sample quantiles do not."""
    truth, score = scores("continuous", 20_000, seed=3)
    by_bits = [sum(len(p) for p in b) for b in buckets_of(truth, score, 4, [])]
    assert max(by_bits) > 0.9 * len(score)  # 16 buckets by top bits: one holds nearly all
    splitters = sample_splitters(score[::20], 16)
    by_sample = [sum(len(p) for p in b) for b in buckets_of(truth, score, splitters, [])]
    assert len(by_sample) == 16 and max(by_sample) < 2 * len(score) / 16


def classes_in_buckets(y, proba, buckets: int, cuts: list[int]):
    """Per bucket, each shard's tuple of per-class ScoreKeys, cut at sample quantiles."""
    splitters = [sample_splitters(proba[::7, c], buckets) for c in range(proba.shape[1])]
    bounds = [0, *cuts, len(y)]
    found: list[list[tuple]] = [[] for _ in range(buckets)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        for bucket, part in zip(
            found, partition_classes(y[a:b], proba[a:b], splitters), strict=True
        ):
            bucket.append(part)
    return found


@pytest.mark.parametrize("buckets", [1, 2, 8])
def test_every_class_is_ranked_at_once_as_one_sort_each(buckets: int) -> None:
    rng = np.random.default_rng(buckets)
    y = rng.integers(0, 4, 3000)
    proba = np.round(rng.dirichlet(np.ones(4), 3000), 3).astype(np.float32)  # ties
    ranked, found = rank_classes(classes_in_buckets(y, proba, buckets, [1, 1700]), [0, 1, 2, 3])
    assert found == {}  # floors only for a binary split's class 1
    for c in range(4):
        want = ranking(y == c, proba[:, c])
        got = ranked[c]
        assert got.roc_area == want.roc_area
        np.testing.assert_array_equal(got.tps, want.tps)
        np.testing.assert_array_equal(got.thresholds, want.thresholds)
        assert got.roc_auc() == pytest.approx(roc_auc_score(y == c, proba[:, c]), abs=1e-9)


def brute_force_threshold(y, p1, cls: int, floor: float):
    """The threshold on p1 closest to the decision that gives CLS recall FLOOR, by trying all.

    Class 1 is predicted when p1 >= t: the highest t among the scores. Class 0 when p1 < t: the
    lowest t just above a score.
    """
    p1 = p1.astype(np.float64)
    best = None
    for score in np.unique(p1):
        t = score if cls == 1 else float(np.nextafter(score, np.inf))
        predicted = (p1 >= t) if cls == 1 else (p1 < t)
        recall = np.sum(predicted & (y == cls)) / np.sum(y == cls)
        if recall >= floor:
            precision = np.sum(predicted & (y == cls)) / np.sum(predicted)
            if best is None or (t > best[0] if cls == 1 else t < best[0]):
                best = (t, recall, precision)
    return best


@pytest.mark.parametrize("buckets", [1, 2, 8])
@pytest.mark.parametrize("kind", ["continuous", "ties", "few"])
def test_recall_floors_find_the_thresholds_trying_every_score_finds(
    buckets: int, kind: str
) -> None:
    truth, score = scores(kind, 800, seed=buckets)
    y = truth.astype(np.int64)
    proba = np.column_stack([1 - score, score]).astype(np.float32)
    floors = (0.3, 0.5, 0.9, 0.999, 1.0)
    _, found = rank_classes(classes_in_buckets(y, proba, buckets, [1, 400]), [0, 1], floors=floors)
    for cls in (0, 1):
        for floor in floors:
            want = brute_force_threshold(y, proba[:, 1], cls, floor)
            got = found[(cls, floor)]
            assert got == pytest.approx(want, abs=1e-12), (cls, floor)
