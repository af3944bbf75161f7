"""What one shard of a split contributes to the evaluation, as a value that merges in file order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.facts.buckets import RowKeys
from auditor.facts.rows import RowFacts
from auditor.facts.scores import ScoreKeys, join_classes, partition_classes
from auditor.metrics import PredictionSums


def standard_error(moments: np.ndarray) -> float | None:
    """Return the standard error of the mean of the values MOMENTS sum up (None below two)."""
    n, total, squares = moments
    if n < 2:
        return None
    variance = max((squares - total * total / n) / (n - 1), 0.0)
    return float(np.sqrt(variance / n))


@dataclass(frozen=True)
class Scoring:
    """How a shard keeps its predictions, beyond the sums every engine merges.

    Without SPLITTERS the rows' labels and probabilities are kept whole (4 + 4k bytes a row), for
    an engine whose driver holds the split. With them (one array of sorted score keys per class,
    `auditor.facts.scores.sample_splitters`), each class's scores are cut into value-range buckets
    that stay where the shard ran, and the probabilities are not kept; the labels only when
    KEEP_LABELS (a fact needs them row by row: image splits, a time column).
    """

    n_classes: int
    threshold: float = 0.5
    splitters: tuple[np.ndarray, ...] | None = None
    keep_labels: bool = True

    @property
    def score_buckets(self) -> int:
        """How many buckets each class's scores are cut into (0: the rows are kept whole)."""
        return 0 if self.splitters is None else len(self.splitters[0]) + 1


@dataclass
class ShardFacts:
    """Prediction sums, labels, scores and row facts of one shard, batch by batch.

    `report` is the reader's account of the shard's rows (read, invalid, first invalid). `keys`
    are the handles of the rows' bucketed hashes, per bucket one per shard (`take_keys`), and
    `scores` those of the bucketed score keys (`take_scores`): the values themselves, or
    references to where an engine keeps them.
    """

    rows: RowFacts
    scoring: Scoring
    sums: PredictionSums
    labels: list[np.ndarray] = field(default_factory=list)
    probas: list[np.ndarray] = field(default_factory=list)
    score_parts: list[list[tuple[ScoreKeys, ...]]] = field(default_factory=list)  # per batch
    report: Any = None
    keys: list[list[Any]] = field(default_factory=list)
    scores: list[list[Any]] = field(default_factory=list)

    @classmethod
    def start(cls, rows: RowFacts, scoring: Scoring) -> ShardFacts:
        """Return a shard's facts before its first batch."""
        return cls(rows, scoring, PredictionSums.empty(scoring.n_classes, scoring.threshold))

    def add(self, y: np.ndarray, proba: np.ndarray, losses: np.ndarray) -> None:
        """Sum one batch's predictions, and keep its labels and probabilities or scores."""
        self.sums.add(y, proba, losses)
        self.labels.append(y.astype(np.int32))  # 4 bytes a row: labels are class indices
        if self.scoring.splitters is None:
            self.probas.append(proba)
        else:
            self.score_parts.append(partition_classes(y, proba, self.scoring.splitters))

    def merge(self, other: ShardFacts) -> ShardFacts:
        """Combine two consecutive shards of one split (SELF first), as one pass would."""
        report = (
            other.report
            if self.report is None
            else self.report
            if other.report is None
            else self.report.merge(other.report)
        )
        return ShardFacts(
            rows=self.rows.merge(other.rows),
            scoring=self.scoring,
            sums=self.sums.merge(other.sums),
            labels=self.labels + other.labels,
            probas=self.probas + other.probas,
            report=report,
            keys=_joined_handles(self.keys, other.keys),
            scores=_joined_handles(self.scores, other.scores),
        )

    def take_keys(self, bits: int) -> list[RowKeys]:
        """Hand over the rows as 2**BITS buckets of (near hash, hash, label, row); see RowFacts."""
        return self.rows.take_keys(self.y(), bits)

    def take_scores(self) -> list[tuple[ScoreKeys, ...]]:
        """Hand over the bucketed scores: per bucket, lowest first, each class's ScoreKeys."""
        parts, self.score_parts = self.score_parts, []
        if not parts:
            empty = ScoreKeys(np.empty(0, np.uint32), np.empty(0, bool))
            return [(empty,) * self.scoring.n_classes] * self.scoring.score_buckets
        return [join_classes(bucket) for bucket in zip(*parts, strict=True)]

    def y(self) -> np.ndarray:
        """Every label of the shard, in file order."""
        return np.concatenate(self.labels) if self.labels else np.empty(0, np.int32)

    def proba(self, n_classes: int) -> np.ndarray:
        """Every predicted probability row of the shard, in file order."""
        if not self.probas:
            return np.empty((0, n_classes), np.float32)
        return np.concatenate(self.probas)


def _joined_handles(first: list[list[Any]], second: list[list[Any]]) -> list[list[Any]]:
    """Per bucket, the handles of both shards (FIRST's first)."""
    if first and second:
        return [a + b for a, b in zip(first, second, strict=True)]
    return first or second
