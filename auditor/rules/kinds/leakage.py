"""Rule kinds about the data: shared rows, label proxies, identifiers, drift, too-good scores.

Each kind compares the facts the evaluation computed (`auditor.facts.data`) with its thresholds;
none of them hashes, sorts, fits or reads anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.numbers import setting
from auditor.rules.kinds.common import fmt, not_applicable, pct, split_label
from auditor.rules.kinds.performance import normal_quantile
from auditor.rules.types import Outcome
from auditor.vocabulary import Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation

MOST_DRIFTED = 10  # features listed as evidence of drift (the facts hold every feature)


def _rows(ev: Evaluation, split: str) -> str:
    """Return what SPLIT's rows are called in messages: "images" for an image model, else "rows"."""
    rows = ev.rows.get(split)
    return "images" if rows is not None and rows.kind == "image" else "rows"


def facts_of(ev: Evaluation, family: str, split: str) -> Any:
    """Return the facts of FAMILY for SPLIT, or None; raise when computing them failed.

    Raising makes the rule an *error* result, as a kind that raises; the other rules still judge.
    """
    failure = ev.data.errors.get((family, split))
    if failure is not None:
        raise RuntimeError(f"computing its {family.replace('_', ' ')} facts raised {failure}")
    found = getattr(ev.data, family).get(split)
    # These compare the split with train.
    across = family in ("shared_rows", "drift", "groups", "temporal")
    given = split in ev.splits and split in ev.rows and (not across or "train" in ev.splits)
    if found is None and given and not (across and split == "train"):
        # The splits are there but their facts are not: a driver forgot `add_facts`. Passing
        # silently as "not applicable" would switch the leakage gate off.
        raise RuntimeError(
            f"the evaluation holds no {family.replace('_', ' ')} facts for the {split} split "
            "(auditor.evaluate.add_facts computes them)"
        )
    return found


def _per_feature(ev: Evaluation) -> str | None:
    """Say why per-column checks do not apply to a text model; None for tables and images.

    Images' facts say themselves which checks do not apply (drift reads their statistics).
    """
    if getattr(ev.model, "input_kind", "table") != "text":
        return None
    return "the model reads text, not table columns; the text checks judge it instead"


def _noise(rate: float, n: int) -> float:
    """2.58 binomial standard errors of a share RATE measured on N rows (99%)."""
    return 2.58 * math.sqrt(max(rate * (1 - rate), 1.0 / max(n, 1)) / max(n, 1))


def _files(example: Mapping[str, Any], split: str) -> dict[str, Any]:
    """Return the image files an example names (image folders only), keyed by split."""
    names = {"file": f"{split}_file", "train_file": "train_file"}
    return {names[key]: example[key] for key in names if key in example}


def leakage_duplicates(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when more judged-split rows appear (exactly or nearly) in train than chance explains."""
    split = params["split"]
    facts = facts_of(ev, "shared_rows", split)
    if facts is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    n = facts.rows_checked
    if n < params["min_rows"]:
        return not_applicable(f"the {split} split has {n} row(s), fewer than {params['min_rows']}")
    exact, near = facts.shared_rows, facts.near_duplicate_rows
    chance_exact = facts.shared_fraction_by_chance
    chance_near = facts.near_duplicate_fraction_by_chance
    # Beyond what unrelated records would share by chance, plus sampling noise around that level.
    excess_exact = exact / n - chance_exact - _noise(chance_exact, n)
    excess_near = near / n - chance_near - _noise(chance_near, n)
    observed = {
        "shared_rows": exact,
        "shared_fraction": exact / n,
        "shared_fraction_by_chance": chance_exact,
        "shared_rows_same_label": facts.shared_rows_same_label,
        "shared_rows_other_label": exact - facts.shared_rows_same_label,
        "near_duplicate_rows": near,
        "near_duplicate_fraction": near / n,
        "near_duplicate_fraction_by_chance": chance_near,
        "near_duplicate_method": facts.method,
        "rows_checked": n,
    }
    threshold = {
        "max_shared_fraction": params["max_shared_fraction"],
        "max_near_fraction": params["max_near_fraction"],
    }
    shown = [
        {
            f"{split}_row": e["row"],
            "train_row": e["train_row"],
            "match": e["match"],
            f"{split}_label": e["label"],
            "train_label": e["train_label"],
            # Image folders: the files, so that a reviewer can open both.
            **_files(e, split),
        }
        for e in facts.examples
    ]
    evidence = {"shared_rows": shown}
    rows = _rows(ev, split)
    chance_text = (
        f"; chance alone explains {pct(chance_exact + chance_near)}"
        if chance_exact + chance_near >= 0.001
        else ""
    )
    if excess_exact > params["max_shared_fraction"] or excess_near > params["max_near_fraction"]:
        message = (
            f"{exact:,} of {n:,} {split} {rows} ({pct(exact / n)}) also appear in the training "
            f"split{f', {near:,} more nearly ({pct(near / n)})' if near else ''}{chance_text}: "
            f"the model is scored on {rows} it was trained on, so its validation numbers "
            "overstate how it will do on new data."
        )
        return Outcome(Status.FAILED, message, observed, threshold, evidence)
    message = (
        f"{exact:,} of {n:,} {split} {rows} appear in the training split and {near:,} nearly"
        f"{chance_text}; limits {pct(params['max_shared_fraction'])} and "
        f"{pct(params['max_near_fraction'])} above chance."
    )
    return Outcome(Status.PASSED, message, observed, threshold, evidence if exact or near else {})


def duplicate_rows(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Report duplicate rows within one split, and identical rows that carry different labels."""
    split = params["split"]
    facts = facts_of(ev, "duplicates", split)
    if facts is None or split not in ev.splits:
        return not_applicable(f"no {split} split was given")
    n = facts.rows
    if n < 2:
        return not_applicable(f"the {split} split has fewer than 2 rows")
    duplicates, conflicting_rows = facts.duplicate_rows, facts.conflicting_label_rows
    near = facts.near_duplicate_rows  # images only: near copies within the split
    observed = {
        "duplicate_rows": duplicates,
        "duplicate_fraction": duplicates / n,
        "conflicting_label_rows": conflicting_rows,
        "conflicting_label_groups": facts.conflicting_label_groups,
    }
    evidence: dict[str, Any] = {"conflicting_labels": [dict(e) for e in facts.examples]}
    near_text = ""
    if near is not None:
        observed.update(near_duplicate_rows=near, near_duplicate_fraction=near / n)
        evidence["near_duplicates"] = [dict(e) for e in facts.near_examples]
        near_text = f"; {near:,} more have a near copy ({pct(near / n)})" if near else ""
    threshold = {"max_fraction": params["max_fraction"]}
    rows = _rows(ev, split)
    one = rows[:-1]  # image, row
    if (duplicates + (near or 0)) / n > params["max_fraction"] or conflicting_rows:
        conflict = (
            f"; {conflicting_rows:,} {rows} in {facts.conflicting_label_groups:,} group(s) "
            "of identical features carry different labels (label noise the model cannot learn)"
            if conflicting_rows
            else ""
        )
        return Outcome(
            Status.FAILED,
            f"{duplicates:,} of {n:,} {split} {rows} ({pct(duplicates / n)}) duplicate another "
            f"{one}{near_text}{conflict}: duplicates weigh some examples more and inflate metrics "
            "when they straddle a split.",
            observed,
            threshold,
            evidence,
        )
    return Outcome(
        Status.PASSED,
        f"{duplicates:,} of {n:,} {split} {rows} duplicate another {one}{near_text} (limit "
        f"{pct(params['max_fraction'])}); no identical {rows} carry different labels.",
        observed,
        threshold,
        {"near_duplicates": evidence["near_duplicates"]} if near else {},
    )


def leakage_target_proxy(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when a feature (or a set of them) gives the label away and the model relies on it.

    With the model's reliance measured (the audit's own facts), a candidate set fails when the
    model loses at least `min_reliance` accuracy with its columns shuffled, one of them alone is
    right on at least `min_accuracy` of rows (near-determinism), and that beats the model without
    them by `min_margin`. Without it (facts without a model), a near-certain candidate fails when
    its score beats the features that are no candidate by `min_margin`.
    """
    other_kind = _per_feature(ev)
    if other_kind:
        return not_applicable(other_kind)
    split = params["split"]
    facts = facts_of(ev, "proxies", split)
    if facts is None:
        return not_applicable(f"no {split} split was given")
    if facts.not_applicable:
        return not_applicable(facts.not_applicable)
    if facts.sample_rows < params["min_rows"] or facts.sample_classes < 2:
        return not_applicable(
            f"needs at least {params['min_rows']} {split} rows with several classes"
        )
    if not facts.usable_classes:
        return not_applicable(
            f"no class has {facts.min_class_rows} or more rows (and as many others) in the "
            f"{split} sample"
        )
    # The candidates come strongest first; the evaluation compared at most its
    # `proxy_candidates` of them, those scoring at least `proxy_min_score` alone.
    judged = [
        c for c in facts.candidates[: params["max_candidates"]] if c.score >= params["min_score"]
    ]
    names = {c.feature for c in judged}
    top = [dict(t) for t in facts.top_features]
    threshold = {
        "min_score": params["min_score"],
        "min_margin": params["min_margin"],
        "min_reliance": params["min_reliance"],
        "min_accuracy": params["min_accuracy"],
    }
    candidates = [
        {
            "feature": c.feature,
            "class": c.cls,
            "score": c.score,
            "accuracy": c.accuracy,
            "rest_score": c.rest_score,
            "honest_score": c.honest_score,
        }
        for c in judged
    ]
    sets = [s for s in facts.sets if set(s.features) <= names]
    if sets:
        return _proxy_by_reliance(split, facts, judged, sets, candidates, top, params, threshold)
    suspects = []
    for candidate in judged:
        rest = (
            candidate.honest_score if candidate.honest_score is not None else candidate.rest_score
        )
        # A feature that isolates one class of many scores high one-vs-rest, but says little
        # about the whole label: without it being near-certain, that is geometry, not a leak.
        certain = candidate.accuracy is None or candidate.accuracy >= params["min_accuracy"]
        if rest is not None and candidate.score - rest >= params["min_margin"] and certain:
            suspects.append(candidate)
    observed = {
        "method": facts.method,
        "sample_rows": facts.sample_rows,
        "top_features": top,
        "candidates": candidates,
        "suspects": [
            {"feature": c.feature, "class": c.cls, "score": c.score, "rest_score": c.rest_score}
            for c in suspects
        ],
    }
    if suspects:
        first = suspects[0]
        others = f" ({len(suspects) - 1} more)" if len(suspects) > 1 else ""
        rest = first.honest_score if first.honest_score is not None else first.rest_score
        rest_text = f"; all other features together reach {fmt(rest)}"
        return Outcome(
            Status.FAILED,
            f"Feature '{first.feature}' alone predicts class '{first.cls}' on {split} with ROC "
            f"AUC {fmt(first.score)}{rest_text}{others}: {GIVES_AWAY}",
            observed,
            threshold,
            {"single_feature_scores": top},
            features=tuple(c.feature for c in suspects),
        )
    lead = top[0] if top else None
    lead_text = f" (strongest: '{lead['feature']}' at {fmt(lead['score'])})" if lead else ""
    return Outcome(
        Status.PASSED,
        f"No single feature predicts the label on {split} "
        f"with ROC AUC of {setting(params['min_score'])} or more "
        f"while beating the other features by {setting(params['min_margin'])}{lead_text}.",
        observed,
        threshold,
    )


GIVES_AWAY = (
    "a column that gives the answer away is usually derived from the label or recorded after the "
    "outcome, and will not be there (or not be the same) in production."
)


def _proxy_by_reliance(
    split: str,
    facts: Any,
    judged: list[Any],
    sets: list[Any],
    candidates: list[dict[str, Any]],
    top: list[dict[str, Any]],
    params: Mapping[str, Any],
    threshold: Mapping[str, Any],
) -> Outcome:
    """Judge the candidate sets by the model's reliance on them and their near-determinism."""
    measured = [
        {
            "features": list(s.features),
            "score": s.score,
            "alone_accuracy": s.alone_accuracy,
            "model_accuracy": s.model_accuracy,
            "permuted_accuracy": s.permuted_accuracy,
            "reliance": s.reliance,
        }
        for s in sets
    ]
    suspects = [
        s
        for s in sets
        if s.reliance >= params["min_reliance"]
        and s.alone_accuracy >= params["min_accuracy"]
        and s.alone_accuracy - s.permuted_accuracy >= params["min_margin"]
    ]
    # A set is reported only when none of its members is a suspect alone: the smallest cause.
    alone = {s.features[0] for s in suspects if len(s.features) == 1}
    suspects = [s for s in suspects if len(s.features) == 1 or not alone & set(s.features)]
    honest = [c.honest_score for c in judged if c.honest_score is not None]
    observed = {
        "method": facts.method
        + "; the model's reliance: its accuracy with each candidate, and all of them together, "
        "shuffled in the sample",
        "sample_rows": facts.sample_rows,
        "top_features": top,
        "candidates": candidates,
        "reliance": measured,
        "honest_score": min(honest) if honest else None,
        "suspects": [list(s.features) for s in suspects],
    }
    if suspects:
        first = suspects[0]
        names = ", ".join(f"'{f}'" for f in first.features)
        what = f"Feature {names}" if len(first.features) == 1 else f"Features {names} together"
        each = "" if len(first.features) == 1 else " (each stands in for the other)"
        honest_text = (
            f"; the features that are no candidate reach ROC AUC {fmt(min(honest))}"
            if honest
            else ""
        )
        more = f" ({len(suspects) - 1} more)" if len(suspects) > 1 else ""
        return Outcome(
            Status.FAILED,
            f"{what} give{'s' if len(first.features) == 1 else ''} the label away on {split}: "
            f"alone {'it is' if len(first.features) == 1 else 'one of them is'} right on "
            f"{pct(first.alone_accuracy)} of rows (ROC AUC {fmt(first.score)}), and the model "
            f"relies on {'it' if len(first.features) == 1 else 'them'}{each}: shuffling "
            f"{'it' if len(first.features) == 1 else 'them'} drops the model's accuracy from "
            f"{pct(first.model_accuracy)} to {pct(first.permuted_accuracy)}{honest_text}{more}: "
            f"{GIVES_AWAY}",
            observed,
            threshold,
            {"single_feature_scores": top, "reliance": measured},
            features=tuple(f for s in suspects for f in s.features),
        )
    strongest = max(sets, key=lambda s: s.reliance)
    return Outcome(
        Status.PASSED,
        f"No feature gives the label away on {split}: the model relies most on "
        f"{', '.join(repr(f) for f in strongest.features)} (accuracy "
        f"{pct(strongest.model_accuracy)}, {pct(strongest.permuted_accuracy)} with it shuffled), "
        f"but no candidate alone is right on {pct(params['min_accuracy'])} of rows while beating "
        f"the model without it by {setting(params['min_margin'])}.",
        observed,
        threshold,
        {"reliance": measured},
    )


def _reasons(column: Any) -> str:
    reasons = []
    if column.named:
        reasons.append("named like an identifier")
    if column.unique_share is not None and getattr(column, "kind", "number") == "text":
        reasons.append(f"{pct(column.unique_share)} of its text values are distinct")
    elif column.unique_share is not None:
        reasons.append(f"{pct(column.unique_share)} unique, nearly consecutive whole numbers")
    if getattr(column, "pattern", None):
        reasons.append(f"its values are {column.pattern}s")
    if column.increasing:
        reasons.append("never decreases in file order")
    return "; ".join(reasons)


def leakage_identifier(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when a model input looks like a row identifier (and, optionally, predicts the label)."""
    other_kind = _per_feature(ev)
    if other_kind:
        return not_applicable(other_kind)
    facts = facts_of(ev, "identifiers", "train")
    if facts is None:
        return not_applicable("no train split was given")
    if facts.not_applicable:
        return not_applicable(facts.not_applicable)
    if facts.sample_rows < 2:
        return not_applicable(
            f"the train split has {facts.sample_rows} row(s); the check needs 2 or more"
        )
    found: list[dict[str, Any]] = []
    for column in facts.columns:
        predictive = column.score is not None and column.score >= params["min_score"]
        if params["require_predictive"] and not predictive:
            continue
        found.append(
            {
                "feature": column.feature,
                "reasons": _reasons(column),
                "score": column.score,
                "predictive": predictive,
            }
        )
    observed = {"identifier_columns": found}
    threshold = {
        "require_predictive": params["require_predictive"],
        "min_score": params["min_score"],
    }
    if found:
        first = found[0]
        predicts = (
            f" and predicts the label (ROC AUC {fmt(first['score'])})"
            if first["predictive"]
            else ""
        )
        more = f" ({len(found) - 1} more)" if len(found) > 1 else ""
        return Outcome(
            Status.FAILED,
            f"Feature '{first['feature']}' looks like a row identifier "
            f"({first['reasons']}){predicts}"
            f"{more}: an identifier carries no meaning the model can generalize from; when it "
            "predicts the label, the rows were ordered or numbered by outcome.",
            observed,
            threshold,
            {"identifier_columns": found},
            features=tuple(str(column["feature"]) for column in found),
        )
    what = (
        "a predictive identifier" if params["require_predictive"] else "an identifier-like column"
    )
    return Outcome(Status.PASSED, f"No model input is {what}.", observed, threshold)


def _drifted(entry: Mapping[str, Any]) -> str:
    """One drifted feature as the message names it; a text column with its unseen share."""
    unseen = entry.get("unseen_share")
    extra = f", {pct(unseen)} of its values unseen in train" if unseen else ""
    return f"'{entry['feature']}' (PSI {fmt(entry['psi'])}{extra})"


def split_drift(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when feature distributions (PSI) or class priors differ between train and the split."""
    other_kind = _per_feature(ev)
    if other_kind:
        return not_applicable(other_kind)
    split = params["split"]
    facts = facts_of(ev, "drift", split)
    if facts is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    if facts.sample_rows < params["min_rows"] or facts.train_sample_rows < params["min_rows"]:
        return not_applicable(f"needs at least {params['min_rows']} rows in train and {split}")
    drift = [dict(d) for d in facts.features]
    prior_shift, prior_pvalue = facts.class_prior_shift, facts.class_prior_pvalue
    prior_drift = prior_shift > params["max_prior_shift"] and prior_pvalue < params["alpha"]
    # A feature drifts when its PSI is large *and* the KS test says it is not sampling noise
    # (Bonferroni-corrected over the features), so small splits do not raise false alarms.
    alpha = params["alpha"] / max(len(drift), 1)
    # Text columns carry a chi-square p-value ("pvalue"); numeric ones the KS test's.
    drifted = [
        d
        for d in drift
        if d["psi"] > params["max_psi"] and d.get("pvalue", d.get("ks_pvalue", 1.0)) < alpha
    ]
    observed: dict[str, Any] = {
        "drifted_features": [d["feature"] for d in drifted],
        "max_psi": drift[0]["psi"] if drift else 0.0,
        "class_prior_shift": prior_shift,
        "class_prior_pvalue": prior_pvalue,
        "sample_rows": {"train": facts.train_sample_rows, split: facts.sample_rows},
        "method": facts.method,
    }
    threshold = {
        "max_psi": params["max_psi"],
        "alpha": params["alpha"],
        "max_prior_shift": params["max_prior_shift"],
    }
    evidence = {"most_drifted_features": drift[:MOST_DRIFTED]}
    if drifted or prior_drift:
        parts = []
        if drifted:
            names = ", ".join(_drifted(d) for d in drifted[:3])
            more = f" and {len(drifted) - 3} more" if len(drifted) > 3 else ""
            parts.append(f"{len(drifted)} feature(s) are distributed differently: {names}{more}")
        if prior_drift:
            parts.append(
                f"class shares differ by {pct(prior_shift)} (chi-square p {prior_pvalue:.2g})"
            )
        return Outcome(
            Status.FAILED,
            f"Train and {split} differ: {'; '.join(parts)}. "
            f"The {split} numbers do not describe the population the model was trained on; "
            "split at random (stratified), or by time on purpose.",
            observed,
            threshold,
            evidence,
            features=tuple(d["feature"] for d in drifted),
        )
    return Outcome(
        Status.PASSED,
        f"Train and {split} have similar feature distributions (largest PSI "
        f"{fmt(observed['max_psi'])}, limit {setting(params['max_psi'])}) and class shares "
        f"(shift {pct(prior_shift)}).",
        observed,
        threshold,
        evidence,
    )


def suspicious_validation(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Warn when the judged split scores better than training beyond sampling noise, or perfectly.

    The loss difference is judged at the lower end of its interval (z standard errors of both
    mean losses, at `confidence`); perfect accuracy only when the training accuracy makes it
    unlikely (below 1 - confidence) on that many rows.
    """
    split = params["split"]
    train, other = ev.splits.get("train"), ev.splits.get(split)
    if train is None or other is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    if other.n_rows < params["min_rows"]:
        return not_applicable(
            f"the {split} split has {other.n_rows} row(s), fewer than {params['min_rows']}"
        )
    t_loss, o_loss = train.metrics["loss"], other.metrics["loss"]
    if t_loss is None or o_loss is None:
        return not_applicable(f"needs the loss on the train and {split} splits")
    label = split_label(split)
    accuracy = other.metrics["accuracy"]
    margin = (t_loss - o_loss) / t_loss if t_loss else 0.0
    se = math.hypot(
        train.metrics.get("loss_standard_error") or 0.0,
        other.metrics.get("loss_standard_error") or 0.0,
    )
    noise = normal_quantile(params["confidence"]) * se
    judged = (t_loss - o_loss - noise) / t_loss if t_loss else 0.0
    # How likely a perfect score on this many rows is for a model as accurate as on training
    # (one error and one success added to the training counts: 200 of 200 is not certainty).
    train_accuracy = train.metrics["accuracy"]
    adjusted = (train_accuracy * train.n_rows + 1) / (train.n_rows + 2)
    chance_of_perfect = adjusted**other.n_rows
    observed = {
        "train_loss": t_loss,
        f"{split}_loss": o_loss,
        "relative_margin": margin,
        "judged_relative_margin": judged,
        f"{split}_accuracy": accuracy,
        "noise_margin": noise,
        "chance_of_perfect_accuracy": chance_of_perfect,
    }
    threshold = {"max_relative_margin": params["max_relative_margin"], "min_gap": params["min_gap"]}
    benign = (
        "Dropout and weight penalties make Keras' own training loss look worse than validation "
        "loss, but auditor measures both without dropout and without the penalty, so that "
        "benign cause is ruled out here; a smaller or easier validation split is the other "
        "innocent explanation."
    )
    beyond = t_loss - o_loss - noise
    if judged > params["max_relative_margin"] and beyond > params["min_gap"]:
        return Outcome(
            Status.FAILED,
            f"{label} loss {fmt(o_loss)} is {pct(margin)} below training loss {fmt(t_loss)} "
            f"({pct(judged)} after allowing {fmt(noise)} for sampling noise): validation should "
            "not be easier than training. Check for validation rows copied into training and for "
            f"columns derived from the label. {benign}",
            observed,
            threshold,
        )
    if accuracy == 1.0 and chance_of_perfect < 1 - params["confidence"]:
        return Outcome(
            Status.FAILED,
            f"{label} accuracy is 100% on {other.n_rows:,} rows, while a model as accurate as on "
            f"training ({pct(train_accuracy)}) would score that with chance "
            f"{chance_of_perfect:.2g}: perfect validation is rare without leakage. {benign}",
            observed,
            threshold,
        )
    perfect = (
        f"; 100% accuracy on {other.n_rows:,} rows has chance {chance_of_perfect:.2g} at the "
        f"training accuracy {pct(train_accuracy)}"
        if accuracy == 1.0
        else ""
    )
    return Outcome(
        Status.PASSED,
        f"{label} loss {fmt(o_loss)} is not suspiciously below training loss {fmt(t_loss)} "
        f"(beyond sampling noise of {fmt(noise)}){perfect}.",
        observed,
        threshold,
    )
