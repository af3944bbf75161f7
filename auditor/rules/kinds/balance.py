"""Rule kinds about the data's class balance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.numbers import setting
from auditor.rules.kinds.common import fmt, not_applicable, pct, split_or_none
from auditor.rules.types import Outcome
from auditor.vocabulary import Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation


def class_imbalance(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the largest class outnumbers the smallest by more than max_ratio."""
    split = split_or_none(ev, params["split"])
    if split is None:
        return not_applicable(f"no {params['split']} split was given")
    counts = split.class_counts
    largest = max(counts, key=lambda c: counts[c])
    smallest = min(counts, key=lambda c: counts[c])
    ratio = counts[largest] / counts[smallest] if counts[smallest] else float("inf")
    observed = {
        "class_counts": dict(counts),
        "majority_class": largest,
        "minority_class": smallest,
        "ratio": ratio if ratio != float("inf") else None,
    }
    threshold = {"max_ratio": params["max_ratio"]}
    if counts[smallest] == 0:
        return Outcome(
            Status.FAILED,
            f"Class '{smallest}' has no rows in the {split.name} split: the model cannot learn or "
            "be judged on it.",
            observed,
            threshold,
        )
    share = counts[smallest] / split.n_rows
    if ratio > params["max_ratio"]:
        return Outcome(
            Status.FAILED,
            f"Class '{largest}' outnumbers class '{smallest}' {fmt(ratio)} to 1 in the "
            f"{split.name} split (limit {setting(params['max_ratio'])}; '{smallest}' is "
            f"{pct(share)} of rows): accuracy will flatter the model; judge it on recall, "
            "precision and balanced accuracy.",
            observed,
            threshold,
        )
    return Outcome(
        Status.PASSED,
        f"The largest class outnumbers the smallest {fmt(ratio)} to 1 in the {split.name} split "
        f"(limit {setting(params['max_ratio'])}).",
        observed,
        threshold,
    )
