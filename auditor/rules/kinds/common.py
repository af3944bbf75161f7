"""Helpers shared by rule kinds: formatting numbers and choosing splits and classes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from auditor.numbers import significant
from auditor.rules.types import Outcome
from auditor.vocabulary import METRIC, Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation, SplitEvaluation


def metric_name(metric: str) -> str:
    """Return the name a reader knows a metric by, as it starts a sentence ("ROC AUC")."""
    known = METRIC.get(metric)
    return known.name if known is not None else metric


def fmt(value: float | None) -> str:
    """Format a metric for a sentence, as every report writes numbers (`auditor.numbers`)."""
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "infinite"
    return significant(value)


def pct(value: float | None) -> str:
    """Format a fraction as a percentage."""
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "infinitely"
    shown = f"{100 * value:.1f}".rstrip("0").rstrip(".")
    return f"{shown}%"


def split_label(split: str) -> str:
    """Name a split as a sentence starts it: "Validation", "Test", "Training"."""
    return {"val": "Validation", "test": "Test", "train": "Training"}.get(split, split)


def not_applicable(reason: str) -> Outcome:
    """Return the outcome of a rule whose inputs are missing."""
    return Outcome(Status.NOT_APPLICABLE, f"Not applicable: {reason}.")


def split_or_none(ev: Evaluation, name: str) -> SplitEvaluation | None:
    """Return the split called NAME, or None when it was not given."""
    return ev.splits.get(name)


def selected_classes(ev: Evaluation, spec: Any) -> list[str] | str:
    """Resolve a `classes` parameter to class names; a string return is a not-applicable reason."""
    if spec in (None, "all"):
        return list(ev.classes)
    if spec == "positive":
        if len(ev.classes) != 2:
            return "'positive' selects the positive class of a binary model; this one is multiclass"
        return [ev.classes[1]]
    unknown = [str(c) for c in spec if str(c) not in ev.classes]
    if unknown:
        return f"class(es) {', '.join(unknown)} are not among the model's {', '.join(ev.classes)}"
    return [str(c) for c in spec]
