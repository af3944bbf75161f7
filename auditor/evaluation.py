"""The evaluation's values: what the model did on every split, and facts about data and model.

The rules judge an `Evaluation`; nothing here reads files or runs the model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.facts.data import DataFacts
from auditor.facts.rows import SplitRows
from auditor.facts.weights import WeightAnalysis, analyse_weights
from auditor.loading.architecture import Architecture
from auditor.loading.model import ModelInfo
from auditor.metrics import PredictionSums

SPLIT_ORDER = ("train", "val", "test")
DEFAULT_RECALL_FLOOR = 0.5  # the recall the threshold advice aims at when no rule names a floor


@dataclass(frozen=True)
class SplitEvaluation:
    """Everything measured on one split. `y`, `proba` and what follows them stay out of the JSON.

    `y` and `proba` hold every row's label and probabilities where the engine keeps them (the
    local engine); an engine that leaves the rows on its workers keeps them empty (`y` holds the
    labels when a fact needs them: image splits, a time column). What the figures read comes
    with every engine: `sums` (calibration bins, score histograms, micro-average bins) and
    `curves`; the advice's thresholds are `recall_thresholds` where the engine found them while
    it held the scores (Ray), else found from `y` and `proba` when asked (local).
    """

    name: str
    path: str
    n_rows: int
    class_counts: dict[str, int]
    metrics: dict[str, Any]
    confusion_matrix: list[list[int]]
    baseline: dict[str, Any]
    dropped_rows: int = 0
    # Missing values per text column (columns without any are left out).
    missing_values: dict[str, int] = field(default_factory=dict)
    # How an image split was read (an image folder's decoding and resizing); empty for tables.
    reading: str = ""
    y: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False, compare=False)
    proba: np.ndarray = field(
        default_factory=lambda: np.empty((0, 2), np.float32), repr=False, compare=False
    )
    # Per class with both outcomes: one-vs-rest ROC and PR curves at most CURVE_POINTS long.
    curves: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )
    sums: PredictionSums | None = field(default=None, repr=False, compare=False)
    # Binary: (class, recall floor) -> (threshold on P(class 1), recall, precision), or None when
    # no threshold reaches the floor; for the rule set's floors (`rules.engine.recall_floors`).
    recall_thresholds: dict[tuple[int, float], tuple[float, float, float] | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the split's measurements as report.json holds them (without `y` and `proba`).

        `reading` only for image splits.
        """
        facts = {
            "path": self.path,
            "n_rows": self.n_rows,
            "dropped_rows": self.dropped_rows,
            "class_counts": dict(self.class_counts),
            "metrics": self.metrics,
            "confusion_matrix": self.confusion_matrix,
            "baseline": self.baseline,
            **({"missing_values": dict(self.missing_values)} if self.missing_values else {}),
        }
        if self.reading:
            facts["reading"] = self.reading
        return facts


@dataclass(frozen=True)
class Evaluation:
    """The model's behaviour on every split, plus the facts about the model the rules need."""

    model: ModelInfo
    classes: tuple[str, ...]
    features: tuple[str, ...]
    splits: dict[str, SplitEvaluation]
    architecture: Architecture
    # The features read as text (the model's named string inputs), coded as categories.
    text_features: tuple[str, ...] = ()
    regularization_penalty: float | None = None
    threshold: float = 0.5
    # Facts about the data the rules judge, computed after the pass for the rules that read them.
    data: DataFacts = field(default_factory=DataFacts, repr=False)
    # Each split's row facts (statistics, a sample, what its rows matched): what the data facts
    # come from.
    rows: dict[str, SplitRows] = field(default_factory=dict, compare=False, repr=False)
    reference: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    # Which engine ran, with how many workers, shards and rows (report.json's `engine`).
    engine: dict[str, Any] = field(default_factory=dict, compare=False)
    # The group and time columns (--group-column, --time-column) of every split: split -> column
    # -> one value per evaluated row, as stored (text, numbers or dates).
    context: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @functools.cached_property
    def weight_analysis(self) -> WeightAnalysis:
        """Norms, sparsity and first-layer feature mass of the model's weights, computed once."""
        return analyse_weights(self.architecture, self.features)

    @property
    def task(self) -> str:
        """The model's task: "binary" or "multiclass"."""
        return self.model.task

    def metric(self, split: str, name: str) -> float | None:
        """Return metric NAME on SPLIT as a float, or None when either is missing."""
        found = self.splits.get(split)
        if found is None:
            return None
        value = found.metrics.get(name)
        return float(value) if value is not None else None
