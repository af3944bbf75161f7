"""Exact ROC AUC, average precision and curve points from scores bucketed by value range.

A float32's bit pattern, with the sign handled (`score_keys`), orders like its value, so sorted
splitter keys range-partition the scores: bucket b holds only scores below every score of bucket
b + 1, and tied scores share a bucket. The top bits of the keys are such splitters
(`bit_splitters`), but probabilities share their sign and most of their exponent bits, so a few
buckets would hold nearly every score; quantiles of a sample of the keys (`sample_splitters`:
the Ray engine predicts the first split's head rows for them) balance them. One bucket object
holds every class's scores in its ranges (`partition_classes`), so that each map over the
buckets ranks every class at once (`rank_classes`). Each bucket is ranked on its own (`walk`), given
what the driver learns from every bucket's totals (`totals`: positives, negatives, distinct
scores): the positives and negatives scored above it, and the index of its first distinct score
among all of them. The Mann-Whitney sum (ties as halves) is then a sum of exact integers over
buckets, the average precision a sum over buckets of each threshold's precision times the
recall it adds, and the curves' evenly spread thresholds are picked by global index: what
`auditor.metrics.ranking` gives from one sort of every score (to the last bit for the counts and
points, to float summation order for the precision sum). On a binary split the same walk finds
the decision thresholds that give either class a recall floor (`reached`, `recall_thresholds`).

NumPy only: an engine runs `totals` and `walk` wherever the buckets are, and passes the function
that maps them over buckets (`auditor.facts.buckets.MapBuckets`); the driver sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.facts.buckets import MapBuckets, local_map
from auditor.metrics import CURVE_POINTS, Ranking, key_scores, score_keys


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
    """BUCKETS - 1 splitters at the quantiles of a sample of scores: as many rows in each bucket.

    Always BUCKETS - 1 of them (tied quantiles repeat, leaving buckets empty), so that every
    class's scores are cut into the same number of buckets. No sample: every score in the first.
    """
    if buckets < 2:
        return np.empty(0, np.uint32)
    keys = np.sort(score_keys(sample))
    if not len(keys):
        return np.full(buckets - 1, np.iinfo(np.uint32).max, np.uint32)
    at = np.linspace(0, len(keys), buckets + 1)[1:-1].astype(np.int64)
    return keys[np.minimum(at, len(keys) - 1)]


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


def partition_classes(
    y: np.ndarray, proba: np.ndarray, splitters: Sequence[np.ndarray]
) -> list[tuple[ScoreKeys, ...]]:
    """Cut one batch's scores of every class, one-vs-rest, by value range (SPLITTERS per class).

    Per bucket, lowest first, a tuple of each class's ScoreKeys in its range: one object per
    bucket, ranked for all classes at once (`class_totals`, `class_walks`).
    """
    per_class = [partition_scores(y == c, proba[:, c], cut) for c, cut in enumerate(splitters)]
    return list(zip(*per_class, strict=True))


def join_classes(parts: Sequence[tuple[ScoreKeys, ...]]) -> tuple[ScoreKeys, ...]:
    """One shard's batches of one bucket (PARTS, in order) as one tuple of ScoreKeys."""
    if len(parts) == 1:
        return parts[0]
    return tuple(ScoreKeys(*_join(column)) for column in zip(*parts, strict=True))


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
    reach: tuple[tuple[Any, Any], ...] = ()  # per recall floor, see `reached`


def walk(
    above: tuple[int, int],
    first: int,
    wanted: np.ndarray,
    parts: Sequence[ScoreKeys],
    reach: Reach | None = None,
) -> Walked:
    """Rank one bucket's scores, highest first, after ABOVE = (positives, negatives) scored higher.

    FIRST is the global index of the bucket's highest distinct score, WANTED the global indices
    of the distinct scores whose curve points are kept. With REACH (class 1 of a binary split),
    the thresholds that reach its recall floors are found too (`reached`).
    """
    keys, hits = _join(parts)
    if not len(keys):
        empty = np.empty(0, np.int64)
        nothing = tuple((None, None) for _ in reach.floors) if reach is not None else ()
        return Walked(0.0, 0.0, empty, empty, np.empty(0, np.float32), nothing)
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
    finds: tuple[tuple[Any, Any], ...] = ()
    if reach is not None:
        scores = key_scores(ordered[closes].astype(np.uint32))
        finds = reached(tps, fps, (before_tps, before_fps), scores, reach)
    return Walked(roc_area, precision_sum, tps[pick], fps[pick], thresholds, finds)


def class_totals(classes: Sequence[int], parts: Sequence[Sequence[ScoreKeys]]) -> list[Any]:
    """`totals` of one bucket for each of CLASSES (PARTS: its shards' tuples of ScoreKeys)."""
    return [totals([part[c] for part in parts]) for c in classes]


def class_walks(asks: Sequence[tuple[Any, ...]], parts: Sequence[Sequence[ScoreKeys]]) -> list[Any]:
    """`walk` one bucket for each ASK: (class, above, first, wanted, reach)."""
    return [
        walk(above, first, wanted, [part[c] for part in parts], reach)
        for c, above, first, wanted, reach in asks
    ]


@dataclass(frozen=True)
class Reach:
    """Recall floors to find on a binary split's class-1 ranking (see `walk`)."""

    floors: tuple[float, ...]
    positives: int  # of class 1
    negatives: int


def reached(
    walk_tps: np.ndarray,
    walk_fps: np.ndarray,
    before: tuple[np.ndarray, np.ndarray],
    scores: np.ndarray,
    reach: Reach,
) -> tuple[tuple[Any, Any], ...]:
    """Per floor of REACH: the bucket's first class-1 and last class-0 threshold that reach it.

    Class 1 at threshold s (predicted when p1 >= s) has recall tps/positives, which rises down
    the ranking: the first distinct score that reaches the floor is the highest threshold that
    does. Class 0 at cut c (predicted when p1 <= c) has recall (negatives - fps above c) /
    negatives, which falls down the ranking: the last score that reaches it is the lowest cut.
    Each is (score, true positives, false positives) of class 1 at or above it (class 1), or
    above it (class 0); None where no score of the bucket reaches the floor.
    """
    found = []
    recall_1 = walk_tps / max(reach.positives, 1)
    recall_0 = (reach.negatives - before[1]) / max(reach.negatives, 1)
    for floor in reach.floors:
        ones = np.flatnonzero(recall_1 >= floor)
        zeros = np.flatnonzero(recall_0 >= floor)
        one = (
            (scores[ones[0]], int(walk_tps[ones[0]]), int(walk_fps[ones[0]])) if len(ones) else None
        )
        zero = (
            (scores[zeros[-1]], int(before[0][zeros[-1]]), int(before[1][zeros[-1]]))
            if len(zeros)
            else None
        )
        found.append((one, zero))
    return tuple(found)


def rank_classes(
    buckets: Sequence[Sequence[Any]],
    classes: Sequence[int],
    run: MapBuckets[Any] = local_map,
    points: int | None = CURVE_POINTS,
    floors: Sequence[float] = (),
) -> tuple[dict[int, Ranking], dict[tuple[int, float], tuple[float, float, float] | None]]:
    """Rank CLASSES one-vs-rest on the scores in BUCKETS; on a binary split, find FLOORS too.

    BUCKETS: per bucket, lowest first, its shards' tuples of ScoreKeys (one per class). Two maps
    over the buckets through RUN, each for every class at once: their totals, then their walks
    given what is scored above them; what comes back is a few numbers and the kept curve points
    per bucket and class. With FLOORS (and class 1 among CLASSES), the walk of class 1 also finds
    each recall floor's threshold (`recall_thresholds`).
    """
    counts = run(class_totals, [((list(classes),), [list(b)]) for b in buckets])
    order = list(reversed(range(len(buckets))))  # highest bucket first
    asks: list[list[tuple[Any, ...]]] = [[] for _ in buckets]
    totals_of: dict[int, tuple[int, int]] = {}
    reach = None
    for j, c in enumerate(classes):
        positives = sum(bucket[j][0] for bucket in counts)
        negatives = sum(bucket[j][1] for bucket in counts)
        distinct = sum(bucket[j][2] for bucket in counts)
        totals_of[c] = (positives, negatives)
        if points is None or distinct <= points:
            wanted = np.arange(distinct)
        else:
            wanted = np.unique(np.linspace(0, distinct - 1, points).round().astype(np.int64))
        mine = Reach(tuple(floors), positives, negatives) if c == 1 and floors else None
        reach = mine or reach
        # What lies above each bucket, and the index of its first distinct score.
        above_p = above_n = first = 0
        for b in order:
            asks[b].append((c, (above_p, above_n), first, wanted, mine))
            p, n, d = counts[b][j]
            above_p, above_n, first = above_p + p, above_n + n, first + d
    walked = run(class_walks, [((asks[b],), [list(buckets[b])]) for b in order])
    rankings = {}
    for j, c in enumerate(classes):
        mine_walks = [bucket[j] for bucket in walked]
        rankings[c] = Ranking(
            *totals_of[c],
            roc_area=sum(w.roc_area for w in mine_walks),
            precision_sum=sum(w.precision_sum for w in mine_walks),
            tps=_joined([w.tps for w in mine_walks], np.int64),
            fps=_joined([w.fps for w in mine_walks], np.int64),
            thresholds=_joined([w.thresholds for w in mine_walks], np.float32),
        )
    found = {}
    if reach is not None:
        one = classes.index(1)
        found = recall_thresholds(reach, [bucket[one].reach for bucket in walked])
    return rankings, found


def _joined(arrays: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype)


def recall_thresholds(
    reach: Reach, per_bucket: Sequence[tuple[tuple[Any, Any], ...]]
) -> dict[tuple[int, float], tuple[float, float, float] | None]:
    """Per (class, floor): (threshold on P(class 1), recall, precision), from the buckets' finds.

    PER_BUCKET is highest bucket first. Class 1's threshold is the first bucket's find (the
    highest that reaches the floor); class 0's the last one's (the lowest cut), and class 0 is
    predicted below the threshold, so it sits just above the cut.
    """
    p, n = reach.positives, reach.negatives
    found: dict[tuple[int, float], tuple[float, float, float] | None] = {}
    for i, floor in enumerate(reach.floors):
        ones = [finds[i][0] for finds in per_bucket if finds[i][0] is not None]
        zeros = [finds[i][1] for finds in per_bucket if finds[i][1] is not None]
        if ones and p:
            score, tps, fps = ones[0]
            found[(1, floor)] = (float(score), tps / p, tps / (tps + fps))
        else:
            found[(1, floor)] = None
        if zeros and n:
            score, tps_above, fps_above = zeros[-1]
            kept = n - fps_above  # class 0 rows at or below the cut
            threshold = float(np.nextafter(np.float64(score), np.inf))
            found[(0, floor)] = (threshold, kept / n, kept / (kept + p - tps_above))
        else:
            found[(0, floor)] = None
    return found


def recall_table(
    y: np.ndarray, p1: np.ndarray, floors: Sequence[float]
) -> dict[tuple[int, float], tuple[float, float, float] | None]:
    """Per (class, floor) of a binary split held whole: its threshold, recall and precision.

    The rows in one bucket, walked as an engine's buckets are (`rank_classes`), so that both
    give the same thresholds.
    """
    empty = ScoreKeys(np.empty(0, np.uint32), np.empty(0, bool))
    bucket = [(empty, ScoreKeys(score_keys(p1), np.asarray(y) == 1))]
    return rank_classes([bucket], [1], points=0, floors=floors)[1]
