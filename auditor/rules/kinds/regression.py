"""Rule kinds that compare the candidate with a reference audit (the model in production)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.numbers import setting
from auditor.rules.kinds.common import fmt, metric_name, not_applicable, pct
from auditor.rules.types import Outcome
from auditor.vocabulary import Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation


def _reference_metrics(ev: Evaluation, split: str) -> dict[str, Any] | None:
    if ev.reference is None:
        return None
    return ev.reference.get("splits", {}).get(split, {}).get("metrics")


def metric_regression(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when a metric (or a per-class metric) drops from the reference by over both limits."""
    split, metric = params["split"], params["metric"]
    reference = _reference_metrics(ev, split)
    if reference is None:
        return not_applicable(f"no baseline (--baseline or --baseline-model) with a {split} split")
    candidate = ev.splits.get(split)
    if candidate is None:
        return not_applicable(f"no {split} split was given")
    pairs: dict[str, tuple[float, float]] = {}
    owners: dict[str, str] = {}  # pair name -> class, for per-class comparisons
    if params["per_class"]:
        for cls in ev.classes:
            before = reference.get("per_class", {}).get(cls, {}).get(metric)
            after = candidate.metrics["per_class"].get(cls, {}).get(metric)
            if before is not None and after is not None:
                pairs[f"class '{cls}'"] = (float(before), float(after))
                owners[f"class '{cls}'"] = cls
    else:
        before, after = reference.get(metric), candidate.metrics.get(metric)
        if before is not None and after is not None:
            pairs[metric] = (float(before), float(after))
    if not pairs:
        return not_applicable(f"{metric} is missing from the candidate or the baseline")
    drops = {name: (b - a, (b - a) / b if b > 0 else 0.0) for name, (b, a) in pairs.items()}
    worse = [
        name
        for name, (drop, rel) in drops.items()
        if drop > params["max_drop"] and rel > params["max_relative_drop"]
    ]
    observed = {
        "metric": metric,
        "baseline": {name: b for name, (b, _) in pairs.items()},
        "candidate": {name: a for name, (_, a) in pairs.items()},
        "drop": {name: d for name, (d, _) in drops.items()},
        "regressed": worse,
        "baseline_source": ev.reference.get("source") if ev.reference else None,
    }
    threshold = {"max_drop": params["max_drop"], "max_relative_drop": params["max_relative_drop"]}
    if worse:
        name = max(worse, key=lambda n: drops[n][0])
        b, a = pairs[name]
        label = f"{metric_name(metric)} of {name}" if params["per_class"] else metric_name(metric)
        more = f" ({len(worse) - 1} more)" if len(worse) > 1 else ""
        return Outcome(
            Status.FAILED,
            f"{label} on {split} drops from {fmt(b)} (baseline) to {fmt(a)} "
            f"(candidate), {fmt(b - a)} or {pct(drops[name][1])} "
            f"(limits {setting(params['max_drop'])} and {pct(params['max_relative_drop'])}){more}: "
            "the candidate is worse than the model it would replace.",
            observed,
            threshold,
            classes=tuple(owners[n] for n in worse if n in owners),
        )
    biggest = max(drops, key=lambda n: drops[n][0])
    return Outcome(
        Status.PASSED,
        f"{metric_name(metric)} on {split} holds against the baseline "
        f"(largest drop {fmt(max(drops[biggest][0], 0.0))}"
        f"{'' if not params['per_class'] else ', ' + biggest}; "
        f"limit {setting(params['max_drop'])}).",
        observed,
        threshold,
    )


def loss_gap_regression(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the train/val loss gap grew by more than max_growth over the reference's."""
    split = params["split"]
    ref_val, ref_train = _reference_metrics(ev, split), _reference_metrics(ev, "train")
    if ref_val is None or ref_train is None:
        return not_applicable(f"no baseline with train and {split} splits")
    t, v = ev.metric("train", "loss"), ev.metric(split, "loss")
    if t is None or v is None or ref_val.get("loss") is None or ref_train.get("loss") is None:
        return not_applicable(f"needs the loss on train and {split} for both models")
    gap, ref_gap = v - t, float(ref_val["loss"]) - float(ref_train["loss"])
    growth = gap - ref_gap
    observed = {"candidate_gap": gap, "baseline_gap": ref_gap, "growth": growth}
    threshold = {"max_growth": params["max_growth"]}
    if growth > params["max_growth"]:
        return Outcome(
            Status.FAILED,
            f"The train/{split} loss gap grew from {fmt(ref_gap)} (baseline) to {fmt(gap)} "
            f"(candidate), by {fmt(growth)} (limit {setting(params['max_growth'])}): the candidate "
            "overfits more than the model it would replace.",
            observed,
            threshold,
        )
    return Outcome(
        Status.PASSED,
        f"The train/{split} loss gap is {fmt(gap)} against the baseline's {fmt(ref_gap)} "
        f"(growth limit {setting(params['max_growth'])}).",
        observed,
        threshold,
    )
