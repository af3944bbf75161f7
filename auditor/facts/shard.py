"""What one shard of a split contributes to the evaluation, as a value that merges in file order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.facts.buckets import RowKeys
from auditor.facts.rows import RowFacts


def moments(values: np.ndarray) -> np.ndarray:
    """Count, sum and sum of squares of per-row losses: their mean and standard error, mergeable."""
    v = values.astype(np.float64)
    return np.array([len(v), v.sum(), (v * v).sum()])


def standard_error(moments: np.ndarray) -> float | None:
    """Return the standard error of the mean of the values MOMENTS sum up (None below two)."""
    n, total, squares = moments
    if n < 2:
        return None
    variance = max((squares - total * total / n) / (n - 1), 0.0)
    return float(np.sqrt(variance / n))


@dataclass
class ShardFacts:
    """Labels, probabilities, loss moments and row facts of one shard, batch by batch.

    Labels and probabilities are kept whole (4 + 4k bytes a row): exact AUCs need every score.
    `report` is the reader's account of the shard's rows (read, invalid, first invalid). `keys`
    are the handles of the rows' bucketed hashes, per bucket one per shard (`take_keys`): the
    `RowKeys` themselves, or references to where an engine keeps them.
    """

    rows: RowFacts
    labels: list[np.ndarray] = field(default_factory=list)
    probas: list[np.ndarray] = field(default_factory=list)
    loss_parts: list[np.ndarray] = field(default_factory=list)  # each batch's loss moments
    report: Any = None
    keys: list[list[Any]] = field(default_factory=list)

    def add(self, y: np.ndarray, proba: np.ndarray, losses: np.ndarray) -> None:
        """Keep one batch's labels, probabilities and per-row losses."""
        self.labels.append(y.astype(np.int32))  # 4 bytes a row: labels are class indices
        self.probas.append(proba)
        self.loss_parts.append(moments(losses))

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
            labels=self.labels + other.labels,
            probas=self.probas + other.probas,
            loss_parts=self.loss_parts + other.loss_parts,
            report=report,
            keys=[a + b for a, b in zip(self.keys, other.keys, strict=True)]
            if self.keys and other.keys
            else self.keys or other.keys,
        )

    def take_keys(self, bits: int) -> list[RowKeys]:
        """Hand over the rows as 2**BITS buckets of (near hash, hash, label, row); see RowFacts."""
        return self.rows.take_keys(self.y(), bits)

    def y(self) -> np.ndarray:
        """Every label of the shard, in file order."""
        return np.concatenate(self.labels) if self.labels else np.empty(0, np.int32)

    def proba(self, n_classes: int) -> np.ndarray:
        """Every predicted probability row of the shard, in file order."""
        if not self.probas:
            return np.empty((0, n_classes), np.float32)
        return np.concatenate(self.probas)

    def loss_moments(self) -> np.ndarray:
        """Count, sum and sum of squares of the per-row losses over the shard."""
        return np.sum(self.loss_parts, axis=0) if self.loss_parts else np.zeros(3)
