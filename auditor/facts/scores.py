"""Exact ROC AUC, average precision and curve points from scores bucketed by value range.

A float32's bit pattern, with the sign handled (`score_keys`), orders like its value, so sorted
splitter keys range-partition the scores: bucket b holds only scores below every score of bucket
b + 1, and tied scores share a bucket. The top bits of the keys are such splitters
(`bit_splitters`), but probabilities share their sign and most of their exponent bits, so a few
buckets would hold nearly every score; quantiles of a sample of the keys (`sample_splitters`,
e.g. from the rows' bounded sample) balance them. Each bucket is ranked on its own (`walk`), given
what the driver learns from every bucket's totals (`totals`: positives, negatives, distinct
scores): the positives and negatives scored above it, and the index of its first distinct score
among all of them. The Mann-Whitney sum (ties as halves) is then a sum of exact integers over
buckets, the average precision a sum over buckets of each threshold's precision times the
recall it adds, and the curves' evenly spread thresholds are picked by global index: what
`auditor.metrics.ranking` gives from one sort of every score (to the last bit for the counts and
points, to float summation order for the precision sum).

NumPy only: an engine runs `totals` and `walk` wherever the buckets are, and passes the function
that maps them over buckets (`auditor.facts.buckets.MapBuckets`); the driver sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.facts.buckets import MapBuckets, local_map
from auditor.metrics import CURVE_POINTS, Ranking

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


@dataclass(frozen=True)
class ScoreKeys:
    """One bucket's scores of one shard: their keys and whether each row is a positive."""

    keys: np.ndarray  # uint32
    hits: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.keys)


def bit_splitters(bits: int) -> np.ndarray:
    """Splitters that cut the keys into 2**BITS ranges by their top BITS."""
    return (np.arange(1, 1 << bits, dtype=np.uint64) << np.uint64(32 - bits)).astype(np.uint32)


def sample_splitters(sample: np.ndarray, buckets: int) -> np.ndarray:
    """Splitters at the quantiles of a sample of scores: about as many rows in each of BUCKETS."""
    keys = np.sort(score_keys(sample))
    if not len(keys) or buckets < 2:
        return np.empty(0, np.uint32)
    at = np.linspace(0, len(keys), buckets + 1)[1:-1].astype(np.int64)
    return np.unique(keys[np.minimum(at, len(keys) - 1)])


def partition_scores(
    truth: np.ndarray, score: np.ndarray, splitters: np.ndarray
) -> list[ScoreKeys]:
    """Cut one shard's scores into len(SPLITTERS) + 1 buckets by value range, lowest first.

    Bucket b holds the keys in [SPLITTERS[b - 1], SPLITTERS[b]): equal scores share one.
    """
    keys, hits = score_keys(score), np.asarray(truth, dtype=bool)
    if not len(splitters):
        return [ScoreKeys(keys, hits)]
    which = np.searchsorted(splitters, keys, side="right")
    order = np.argsort(which, kind="stable")
    edges = np.searchsorted(which[order], np.arange(len(splitters) + 2))
    return [
        ScoreKeys(keys[order[a:b]], hits[order[a:b]])
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


def _join(parts: Sequence[ScoreKeys]) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0].keys, parts[0].hits
    if not parts:
        return np.empty(0, np.uint32), np.empty(0, bool)
    return np.concatenate([p.keys for p in parts]), np.concatenate([p.hits for p in parts])


def totals(parts: Sequence[ScoreKeys]) -> tuple[int, int, int]:
    """Return one bucket's positives, negatives and distinct scores (PARTS: its shards')."""
    keys, hits = _join(parts)
    positives = int(np.count_nonzero(hits))
    ordered = np.sort(keys)  # a sort: NumPy's hashing `unique` is several times slower here
    distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1 if len(ordered) else 0
    return positives, len(keys) - positives, distinct


@dataclass(frozen=True)
class Walked:
    """One bucket's share of a ranking: its area and precision terms, its curve points."""

    roc_area: float
    precision_sum: float
    tps: np.ndarray
    fps: np.ndarray
    thresholds: np.ndarray


def walk(
    above: tuple[int, int], first: int, wanted: np.ndarray, parts: Sequence[ScoreKeys]
) -> Walked:
    """Rank one bucket's scores, highest first, after ABOVE = (positives, negatives) scored higher.

    FIRST is the global index of the bucket's highest distinct score, WANTED the global indices
    of the distinct scores whose curve points are kept.
    """
    keys, hits = _join(parts)
    if not len(keys):
        empty = np.empty(0, np.int64)
        return Walked(0.0, 0.0, empty, empty, np.empty(0, np.float32))
    # Pack each key with its hit flag and sort in place, highest first.
    packed = keys.astype(np.uint64) << np.uint64(1)
    packed |= hits
    packed.sort()
    packed = packed[::-1]
    flags = (packed & np.uint64(1)).astype(bool)
    ordered = packed >> np.uint64(1)
    closes = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), len(ordered) - 1]
    above_tps, above_fps = above
    counted = np.cumsum(flags, dtype=np.int64)
    tps = above_tps + counted[closes]
    fps = above_fps + (closes + 1) - counted[closes]
    before_tps = np.r_[above_tps, tps[:-1]].astype(np.float64)
    before_fps = np.r_[above_fps, fps[:-1]].astype(np.float64)
    roc_area = float(np.sum((fps - before_fps) * (tps + before_tps)))
    precision_sum = float(np.sum((tps - before_tps) * (tps / (tps + fps))))
    pick = np.isin(first + np.arange(len(closes)), wanted, assume_unique=True)
    thresholds = key_scores(ordered[closes[pick]].astype(np.uint32))
    return Walked(roc_area, precision_sum, tps[pick], fps[pick], thresholds)


def bucketed_ranking(
    buckets: Sequence[Sequence[Any]],
    run: MapBuckets[Any] = local_map,
    points: int | None = CURVE_POINTS,
) -> Ranking:
    """Rank the scores held in BUCKETS (per bucket, lowest first, its shards' ScoreKeys).

    Two maps over the buckets through RUN: their totals, then their walks given what is scored
    above them; what comes back is a few numbers and the kept curve points per bucket.
    """
    counts = run(totals, [((), [list(b)]) for b in buckets])
    positives = sum(p for p, _, _ in counts)
    negatives = sum(n for _, n, _ in counts)
    distinct = sum(d for _, _, d in counts)
    if points is None or distinct <= points:
        wanted = np.arange(distinct)
    else:
        wanted = np.unique(np.linspace(0, distinct - 1, points).round().astype(np.int64))
    # Highest bucket first: what lies above each bucket, and its first distinct score's index.
    tasks = []
    above_p = above_n = first = 0
    for b in reversed(range(len(buckets))):
        tasks.append((((above_p, above_n), first, wanted), [list(buckets[b])]))
        p, n, d = counts[b]
        above_p, above_n, first = above_p + p, above_n + n, first + d
    walked = run(walk, tasks)
    empty = np.empty(0, np.int64)
    return Ranking(
        positives=positives,
        negatives=negatives,
        roc_area=sum(w.roc_area for w in walked),
        precision_sum=sum(w.precision_sum for w in walked),
        tps=np.concatenate([w.tps for w in walked]) if walked else empty,
        fps=np.concatenate([w.fps for w in walked]) if walked else empty,
        thresholds=np.concatenate([w.thresholds for w in walked])
        if walked
        else np.empty(0, np.float32),
    )
