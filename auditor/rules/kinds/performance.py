"""Rule kinds that judge the model's metrics: gaps, floors, accuracy paradox, fit, calibration."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.numbers import setting
from auditor.rules.kinds.common import (
    fmt,
    metric_name,
    not_applicable,
    pct,
    selected_classes,
    split_label,
    split_or_none,
)
from auditor.rules.types import Outcome
from auditor.vocabulary import METRICS, Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation, SplitEvaluation


def normal_quantile(confidence: float) -> float:
    """Return the two-sided normal quantile of CONFIDENCE (1.96 for 0.95)."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def _bound(gap: float, se: float, params: Mapping[str, Any]) -> float:
    """Return the end of GAP's interval that PARAMS' `judge` reads (GAP itself for `point`)."""
    if params["judge"] == "point" or not se:
        return gap
    half = normal_quantile(params["confidence"]) * se
    return gap - half if params["judge"] == "lower_bound" else gap + half


def _judged(gap: float, bound: float, params: Mapping[str, Any]) -> str:
    """Say which end of the interval was judged, when it is not the point estimate."""
    if bound == gap:
        return ""
    end = "lower" if params["judge"] == "lower_bound" else "upper"
    return f"; judged at the {end} end of its {pct(params['confidence'])} interval, {fmt(bound)}"


def loss_gap(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the judged split's data loss exceeds training loss by both limits.

    With `judge: lower_bound` (the default) the gap is judged at the lower end of its interval
    (z standard errors of the two mean losses): a gap that sampling noise explains passes.
    """
    split = params["split"]
    train, other = ev.metric("train", "loss"), ev.metric(split, "loss")
    if train is None or other is None:
        return not_applicable(f"needs the loss on the train and {split} splits")
    gap = other - train
    se = sum((ev.metric(s, "loss_standard_error") or 0.0) ** 2 for s in ("train", split)) ** 0.5
    bound = _bound(gap, se, params)

    def relative_to_train(value: float) -> float:
        return value / train if train > 0 else float("inf") if value > 0 else 0.0

    relative, judged_relative = relative_to_train(gap), relative_to_train(bound)
    max_gap, max_rel = params["max_gap"], params["max_relative_gap"]
    observed = {
        "train_loss": train,
        f"{split}_loss": other,
        "gap": gap,
        "relative_gap": relative if relative != float("inf") else None,
        "loss": ev.model.loss,
        "gap_standard_error": se,
        "judged_gap": bound,
    }
    threshold = {"max_gap": max_gap, "max_relative_gap": max_rel, "judged_on": params["judge"]}
    name = split_label(split)
    judged = _judged(gap, bound, params)
    if bound > max_gap and judged_relative > max_rel:
        message = (
            f"{name} loss {fmt(other)} is {fmt(gap)} above training loss {fmt(train)} "
            f"({_relative(relative)}{judged}; limits {setting(max_gap)} and {pct(max_rel)}): the "
            "model memorizes the training set and will do worse on new data."
        )
        return Outcome(Status.FAILED, message, observed, threshold)
    noise = " — within sampling noise" if judged and gap > max_gap and relative > max_rel else ""
    message = (
        f"{name} loss {fmt(other)} is within {setting(max_gap)} (or {pct(max_rel)}) of training "
        f"loss {fmt(train)} (gap {fmt(gap)}{judged}{noise})."
    )
    return Outcome(Status.PASSED, message, observed, threshold)


def _proportion_variance(successes: float, n: float) -> float:
    """Variance of a proportion of N, with one success and one failure added (Agresti-Caffo).

    Without them a proportion of 0 or 1 would have no variance: 200 of 200 is not certainty.
    """
    p = (successes + 1) / (n + 2)
    return p * (1 - p) / (n + 2)


def metric_standard_error(split: SplitEvaluation, metric: str, classes: tuple[str, ...]) -> float:
    """Return the standard error of a proportion-like metric on SPLIT (NaN for other metrics).

    Accuracy is a proportion of rows, recall of a class's rows, precision of the rows predicted
    as it; balanced accuracy and the macro averages are means of per-class proportions.
    """
    per_class = split.metrics.get("per_class") or {}
    predicted = [sum(column) for column in zip(*split.confusion_matrix, strict=True)]

    def class_variance(name: str, kind: str) -> float | None:
        stats = per_class.get(name)
        if stats is None or stats.get(kind) is None:
            return None
        n = stats["support"] if kind == "recall" else predicted[classes.index(name)]
        return _proportion_variance(stats[kind] * n, n) if n else 0.0

    if metric == "accuracy":
        return _proportion_variance(split.metrics["accuracy"] * split.n_rows, split.n_rows) ** 0.5
    if metric in ("recall", "precision") and len(classes) == 2:
        found = class_variance(classes[1], metric)
        return found**0.5 if found is not None else float("nan")
    kind = {"balanced_accuracy": "recall", "recall_macro": "recall"}.get(
        metric, "precision" if metric == "precision_macro" else ""
    )
    if not kind:
        return float("nan")
    names = [c for c in classes if kind == "precision" or per_class.get(c, {}).get("support")]
    parts = [class_variance(c, kind) for c in names]
    if not names or any(v is None for v in parts):
        return float("nan")
    return sum(v for v in parts if v is not None) ** 0.5 / len(names)


def metric_gap(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when a higher-is-better metric drops from train to the judged split by over max_gap.

    Accuracy, recall, precision and their class averages are proportions: with `judge:
    lower_bound` (the default) the drop is judged at the lower end of its interval, so a drop
    that sampling noise explains (a chance-level model, a small split) passes. Other metrics are
    judged on the point estimate.
    """
    split, metric = params["split"], params["metric"]
    train, other = ev.metric("train", metric), ev.metric(split, metric)
    if train is None or other is None:
        return not_applicable(f"needs {metric} on the train and {split} splits")
    gap = train - other
    se = math.hypot(
        metric_standard_error(ev.splits["train"], metric, ev.classes),
        metric_standard_error(ev.splits[split], metric, ev.classes),
    )
    bound = _bound(gap, 0.0 if math.isnan(se) else se, params)
    observed = {
        f"train_{metric}": train,
        f"{split}_{metric}": other,
        "gap": gap,
        "gap_standard_error": None if math.isnan(se) else se,
        "judged_gap": bound,
    }
    threshold = {"max_gap": params["max_gap"], "metric": metric, "judged_on": params["judge"]}
    judged = _judged(gap, bound, params)
    sep = "; " if judged else ", "
    if bound > params["max_gap"]:
        return Outcome(
            Status.FAILED,
            f"{metric_name(metric)} drops from {fmt(train)} on train to {fmt(other)} on {split} "
            f"({fmt(gap)}{judged}{sep}limit {setting(params['max_gap'])}): what the model learned "
            "does not carry over to unseen rows.",
            observed,
            threshold,
        )
    noise = " — within sampling noise" if judged and gap > params["max_gap"] else ""
    return Outcome(
        Status.PASSED,
        f"{metric_name(metric)} is {fmt(train)} on train and {fmt(other)} on {split} "
        f"(gap {fmt(gap)}{judged}{sep}limit {setting(params['max_gap'])}{noise}).",
        observed,
        threshold,
    )


def _class_floor(ev: Evaluation, params: Mapping[str, Any], metric: str, floor_key: str) -> Outcome:
    split = split_or_none(ev, params["split"])
    if split is None:
        return not_applicable(f"no {params['split']} split was given")
    floor = params[floor_key]
    classes = selected_classes(ev, params["classes"])
    if isinstance(classes, str):
        return not_applicable(classes)
    values: dict[str, float] = {}
    intervals: dict[str, list[float]] = {}
    low: list[str] = []
    judge, confidence = params["judge"], params["confidence"]
    predicted = [sum(col) for col in zip(*split.confusion_matrix, strict=True)]
    for name in classes:
        stats = split.metrics["per_class"][name]
        i = ev.classes.index(name)
        if metric == "recall" and stats["support"] == 0:
            continue  # no rows of this class: recall is undefined, not zero
        if metric == "precision" and predicted[i] == 0:
            continue  # never predicted: precision is undefined (the recall floor catches this)
        values[name] = stats[metric]
        # The proportion's Wilson interval: recall counts the class's rows, precision the
        # predictions.
        n = int(stats["support"]) if metric == "recall" else int(predicted[i])
        lo, hi = wilson(split.confusion_matrix[i][i], n, confidence)
        intervals[name] = [lo, hi]
        judged = {"point": stats[metric], "lower_bound": lo, "upper_bound": hi}[judge]
        if judged < floor:
            low.append(name)
    if not values:
        return not_applicable(f"none of the selected classes has rows in the {split.name} split")
    observed = {metric: values, "below_floor": low, "interval": intervals, "confidence": confidence}
    threshold = {floor_key: floor}
    if judge != "point":
        threshold["judged_on"] = judge
    if not low:
        worst = min(values, key=lambda c: values[c])
        judged = (
            ""
            if judge == "point"
            else f", judged on the {judge.replace('_', ' ')} of its {pct(confidence)} interval "
            f"{fmt(intervals[worst][0])}-{fmt(intervals[worst][1])}"
        )
        return Outcome(
            Status.PASSED,
            f"Every selected class has {metric} of at least {setting(floor)} on {split.name} "
            f"(lowest: class '{worst}' at {fmt(values[worst])}{judged}).",
            observed,
            threshold,
        )
    worst = min(low, key=lambda c: values[c])
    counts = split.metrics["per_class"][worst]
    if metric == "recall":
        missed = round(counts["support"] * (1 - values[worst]))
        detail = (
            f"the model misses {pct(1 - values[worst])} of that class "
            f"({missed} of {counts['support']} rows)"
        )
    else:
        detail = f"{pct(1 - values[worst])} of the rows it labels '{worst}' are something else"
    others = f" ({len(low) - 1} more class(es) below the floor)" if len(low) > 1 else ""
    below = f"below the floor {setting(floor)}"
    if judge != "point":
        # The point estimate may clear the floor; what fails is the judged end of the interval.
        lo, hi = intervals[worst]
        bound = "even its upper" if judge == "upper_bound" else "its lower"
        judged = hi if judge == "upper_bound" else lo
        below = (
            f"and {bound} {pct(confidence)} bound {fmt(judged)} is {below} "
            f"(interval {fmt(lo)}-{fmt(hi)})"
        )
    return Outcome(
        Status.FAILED,
        f"{metric.capitalize()} of class '{worst}' on {split.name} is {fmt(values[worst])}, "
        f"{below}: {detail}{others}.",
        observed,
        threshold,
        classes=tuple(low),
    )


def wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion: sound for small n and proportions near 0 or 1."""
    from scipy.stats import norm

    if n == 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def recall_floor(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the recall of any selected class on the judged split is below min_recall."""
    return _class_floor(ev, params, "recall", "min_recall")


def precision_floor(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the precision of any selected class on the judged split is below min_precision."""
    return _class_floor(ev, params, "precision", "min_precision")


def accuracy_paradox(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when accuracy looks good only because the majority class dominates."""
    split = split_or_none(ev, params["split"])
    if split is None:
        return not_applicable(f"no {params['split']} split was given")
    accuracy = split.metrics["accuracy"]
    balanced = split.metrics["balanced_accuracy"]
    baseline = split.baseline["accuracy"]
    counts = split.class_counts
    present = {c: n for c, n in counts.items() if n > 0}
    if len(present) < 2:
        return not_applicable(f"the {split.name} split holds a single class")
    majority = max(present, key=lambda c: present[c])
    minority = {c: split.metrics["per_class"][c]["recall"] for c in present if c != majority}
    weakest = min(minority, key=lambda c: minority[c])
    lift = accuracy - baseline
    observed = {
        "accuracy": accuracy,
        "majority_baseline_accuracy": baseline,
        "lift_over_baseline": lift,
        "balanced_accuracy": balanced,
        "minority_class": weakest,
        "minority_recall": minority[weakest],
    }
    threshold = {
        "max_lift": params["max_lift"],
        "min_minority_recall": params["min_minority_recall"],
        "high_accuracy": params["high_accuracy"],
        "min_balanced_accuracy": params["min_balanced_accuracy"],
    }
    near_baseline = lift <= params["max_lift"] and minority[weakest] < params["min_minority_recall"]
    hides = accuracy >= params["high_accuracy"] and balanced < params["min_balanced_accuracy"]
    if near_baseline or hides:
        majority_name = split.baseline["majority_class"]
        if not near_baseline:
            reason = f"while balanced accuracy is only {pct(balanced)}"
        elif lift <= 0:
            reason = f"no better than the {pct(baseline)} of always predicting '{majority_name}'"
        else:
            reason = (
                f"only {pct(lift)} above the {pct(baseline)} of always predicting '{majority_name}'"
            )
        return Outcome(
            Status.FAILED,
            f"Accuracy on {split.name} is {pct(accuracy)}, {reason}, and recall of class "
            f"'{weakest}' is {pct(minority[weakest])}: the accuracy hides a model that misses most "
            "of the minority class.",
            observed,
            threshold,
            classes=(weakest,),
        )
    return Outcome(
        Status.PASSED,
        f"Accuracy {pct(accuracy)} on {split.name} is backed by balanced accuracy "
        f"{pct(balanced)} and minority recall {pct(minority[weakest])}.",
        observed,
        threshold,
    )


def underfitting(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when training log loss is close to the baseline's *and* ranking is near chance."""
    split = split_or_none(ev, "train")
    if split is None:
        return not_applicable("no train split was given")
    model_loss = split.metrics["log_loss"]
    base_loss = split.baseline["log_loss"]
    auc = split.metrics["roc_auc"]
    if model_loss is None or base_loss is None or auc is None or base_loss <= 0:
        return not_applicable("needs log loss and ROC AUC on a train split with several classes")
    improvement = 1 - model_loss / base_loss
    observed = {
        "train_log_loss": model_loss,
        "baseline_log_loss": base_loss,
        "loss_improvement": improvement,
        "train_roc_auc": auc,
    }
    threshold = {
        "min_loss_improvement": params["min_loss_improvement"],
        "min_roc_auc": params["min_roc_auc"],
    }
    if improvement < params["min_loss_improvement"] and auc < params["min_roc_auc"]:
        return Outcome(
            Status.FAILED,
            f"Training log loss {fmt(model_loss)} is {_versus(improvement)} the "
            f"{fmt(base_loss)} of predicting class frequencies, and training ROC AUC is "
            f"{fmt(auc)} (floor {setting(params['min_roc_auc'])}): the model has not learned the "
            "training data.",
            observed,
            threshold,
        )
    if improvement >= params["min_loss_improvement"]:
        message = (
            f"Training log loss {fmt(model_loss)} is {pct(improvement)} below the "
            f"{fmt(base_loss)} of predicting class frequencies: the model learned from its data."
        )
    else:
        message = (
            f"Training log loss {fmt(model_loss)} is {_versus(improvement)} the baseline's "
            f"{fmt(base_loss)}, but training ROC AUC {fmt(auc)} shows the model ranks rows well "
            "(as a class-weighted model does)."
        )
    return Outcome(Status.PASSED, message, observed, threshold)


def over_regularization(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when train *and* val loss stay near the baseline while a strong penalty is active."""
    arch = ev.architecture
    if not arch.config_readable:
        return not_applicable("the model format keeps no regularizer configuration")
    coefficients = [
        max(p.l1, p.l2)
        for layer in arch.layers
        for p in (layer.kernel_regularizer, layer.recurrent_regularizer, layer.bias_regularizer)
        if p is not None and p.active
    ]
    if not coefficients:
        return Outcome(
            Status.PASSED,
            "The model has no L1/L2 weight penalty, so it cannot be over-regularized by one.",
        )
    train, val = split_or_none(ev, "train"), split_or_none(ev, params["split"])
    if train is None or val is None:
        return not_applicable(f"needs the train and {params['split']} splits")
    improvements = {}
    for s in (train, val):
        loss, base = s.metrics["log_loss"], s.baseline["log_loss"]
        if loss is None or base is None or base <= 0:
            return not_applicable("needs log loss on splits with several classes")
        improvements[s.name] = 1 - loss / base
    penalty = ev.regularization_penalty or 0.0
    train_loss = train.metrics["loss"] or 0.0
    share = penalty / (penalty + train_loss) if penalty + train_loss > 0 else 0.0
    strongest = max(coefficients)
    observed = {
        "train_loss_improvement": improvements["train"],
        f"{val.name}_loss_improvement": improvements[val.name],
        "penalty": penalty,
        "penalty_share": share,
        "strongest_coefficient": strongest,
    }
    threshold = {
        "min_loss_improvement": params["min_loss_improvement"],
        "min_penalty_share": params["min_penalty_share"],
        "strong_coefficient": params["strong_coefficient"],
    }
    weak_fit = all(v < params["min_loss_improvement"] for v in improvements.values())
    strong = share >= params["min_penalty_share"] or strongest >= params["strong_coefficient"]
    if weak_fit and strong:
        return Outcome(
            Status.FAILED,
            f"Train and {val.name} log loss are {_versus(improvements['train'])} and "
            f"{_versus(improvements[val.name])} the baseline's while the penalty "
            f"(coefficient up to {setting(strongest)}, {pct(share)} of the training objective) "
            "holds the weights down: the model is over-regularized; lower the L1/L2 strength.",
            observed,
            threshold,
        )
    if not weak_fit:
        message = (
            f"The model fits the data despite its penalty of up to {setting(strongest)}: train log "
            f"loss is {_versus(improvements['train']).replace('only ', '')} the baseline's."
        )
    else:
        message = (
            f"Train log loss is {_versus(improvements['train'])} the baseline's, but the penalty "
            f"(up to {setting(strongest)}, {pct(share)} of the objective) is too weak to be the "
            "cause."
        )
    return Outcome(Status.PASSED, message, observed, threshold)


def calibration_error(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the expected calibration error on the judged split exceeds max_ece."""
    split = split_or_none(ev, params["split"])
    if split is None:
        return not_applicable(f"no {params['split']} split was given")
    ece = split.metrics["expected_calibration_error"]
    observed = {"expected_calibration_error": ece, "n_rows": split.n_rows}
    threshold = {"max_ece": params["max_ece"]}
    if ece > params["max_ece"]:
        return Outcome(
            Status.FAILED,
            f"Predicted probabilities on {split.name} are off by {pct(ece)} on average "
            f"(expected calibration error, limit {pct(params['max_ece'])}): scores cannot be read "
            "as probabilities.",
            observed,
            threshold,
        )
    return Outcome(
        Status.PASSED,
        f"Expected calibration error on {split.name} is {pct(ece)} "
        f"(limit {pct(params['max_ece'])}).",
        observed,
        threshold,
    )


def _versus(improvement: float) -> str:
    """Say how a loss compares with the baseline's, given 1 - loss / baseline_loss."""
    if improvement < 0:
        return f"{pct(-improvement)} worse than"
    if improvement == 0:
        return "no better than"
    return f"only {pct(improvement)} better than"


def _relative(relative: float) -> str:
    if relative >= 10:
        return (
            "more than 10 times as high"
            if relative == float("inf")
            else f"{relative + 1:,.0f} times as high"
        )
    return f"{pct(relative)} higher"


# The metrics a gap or regression rule can judge: those that fall when the model gets worse.
METRIC_CHOICES = tuple(sorted(m.key for m in METRICS if m.higher_is_better))
