"""Runs a rule set over an evaluation; a kind that raises becomes an `error` result, not a crash."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from auditor.rules.kinds import KINDS
from auditor.rules.types import RuleResult, RuleSet, Waiver, severity_rank
from auditor.vocabulary import NEVER, Category, Severity, Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation

# Results in reading order: what blocks or could not be judged, the accepted failures, the rest.
_STATUS_ORDER = {
    Status.ERROR: 0,
    Status.FAILED: 0,
    Status.WAIVED: 1,
    Status.PASSED: 2,
    Status.NOT_APPLICABLE: 3,
}


def apply_waivers(results: list[RuleResult], rule_set: RuleSet, today: date) -> list[RuleResult]:
    """Mark failed results that an active waiver covers as `waived`; say when a waiver expired."""
    out = []
    for result in results:
        waiver = next((w for w in rule_set.waivers if _covers(w, result)), None)
        if result.status != Status.FAILED or waiver is None:
            out.append(result)
            continue
        info = {**waiver.to_dict(), "expired": waiver.expired(today)}
        if waiver.expired(today):
            message = (
                f"{result.message} (The waiver of {result.rule.id} expired on "
                f"{waiver.expires}; renew or remove it in {waiver.source}.)"
            )
            out.append(replace(result, message=message, waiver=info))
        else:
            until = f" until {waiver.expires}" if waiver.expires else ""
            message = f"Waived{until}: {waiver.reason} — {result.message}"
            out.append(replace(result, status=Status.WAIVED, message=message, waiver=info))
    return out


def _covers(waiver: Waiver, result: RuleResult) -> bool:
    if waiver.rule != result.rule.id:
        return False
    classes, features = set(result.classes), set(result.features)
    if waiver.classes and not (classes and classes <= set(waiver.classes)):
        return False
    if waiver.features and not (features and features <= set(waiver.features)):
        return False
    return True


def facts_needed(rule_set: RuleSet) -> set[tuple[str, str]]:
    """Return the (family, split) data facts the enabled rules judge, for evaluation to compute."""
    needed = set()
    for rule in rule_set.enabled:
        kind = KINDS[rule.kind]
        if kind.facts:
            needed.add((kind.facts, str(rule.params.get("split", "train"))))
    return needed


def group_columns(rule_set: RuleSet) -> tuple[str, ...]:
    """Return the group columns the enabled rules name in their `columns` (read beside features)."""
    return tuple(
        dict.fromkeys(
            column
            for rule in rule_set.enabled
            if KINDS[rule.kind].facts == "groups"
            for column in rule.params.get("columns", ())
        )
    )


def recall_floors(rule_set: RuleSet) -> tuple[float, ...]:
    """Return the recall floors (`min_recall`) of the enabled rules, for the threshold advice."""
    return tuple(
        sorted(
            {float(r.params["min_recall"]) for r in rule_set.enabled if "min_recall" in r.params}
        )
    )


def proxy_bounds(rule_set: RuleSet) -> tuple[int, float] | None:
    """Return how many proxy candidates, down to which score, the enabled rules judge at most.

    The evaluation compares at least these many with the other features, so a rule's own
    `max_candidates` and `min_score` are never cut short by the evaluation's defaults.
    """
    params = [r.params for r in rule_set.enabled if KINDS[r.kind].facts == "proxies"]
    if not params:
        return None
    return max(int(p["max_candidates"]) for p in params), min(float(p["min_score"]) for p in params)


def run_rules(
    evaluation: Evaluation,
    rule_set: RuleSet,
    timings: dict[str, float] | None = None,
    today: date | None = None,
) -> list[RuleResult]:
    """Judge the evaluation with every enabled rule, in rule-set order.

    TIMINGS, when given, gains the seconds spent in the data (leakage and drift) checks and in the
    metric checks, so benchmarks can tell them apart.
    """
    results = []
    for rule in rule_set.enabled:
        kind = KINDS[rule.kind]
        started = time.perf_counter()
        try:
            outcome = kind.fn(evaluation, rule.params)
            status = Status(outcome.status)  # a word outside the vocabulary is a broken kind too
        except Exception as exc:  # A broken kind must not hide the other rules' verdicts.
            results.append(
                RuleResult(
                    rule=rule,
                    status=Status.ERROR,
                    message=f"The check raised {type(exc).__name__}: {exc}",
                )
            )
            continue
        finally:
            if timings is not None:
                key = "leakage_rules" if Category(rule.category).about_data else "metric_rules"
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - started
        results.append(
            RuleResult(
                rule=rule,
                status=status,
                message=outcome.message,
                observed=outcome.observed,
                threshold=outcome.threshold,
                evidence=outcome.evidence,
                classes=outcome.classes,
                features=outcome.features,
            )
        )
    return apply_waivers(results, rule_set, today or date.today())


def blocking(results: Iterable[RuleResult], fail_on: str) -> list[RuleResult]:
    """Return the results that fail the gate: failed (or broken) rules at or above FAIL_ON."""
    if fail_on == NEVER:
        return []
    floor = severity_rank(fail_on)
    return [
        r
        for r in results
        if r.status in (Status.FAILED, Status.ERROR) and severity_rank(r.rule.severity) >= floor
    ]


def invalidating(results: Iterable[RuleResult]) -> list[RuleResult]:
    """Return the failed leakage rules of error severity: they make the measured metrics suspect.

    A waived failure is accepted, and a rule that raised could not judge: neither counts.
    """
    return [
        r
        for r in results
        if r.status == Status.FAILED
        and Category(r.rule.category).leakage
        and Severity(r.rule.severity) == Severity.ERROR
    ]


def distrust(results: Iterable[RuleResult]) -> str:
    """Say why the metrics are not trustworthy (a leakage error failed), or "" when they are."""
    leaks = invalidating(results)
    if not leaks:
        return ""
    ids = ", ".join(r.rule.id for r in leaks)
    return (
        f"The metrics are not trustworthy: {ids} found leakage between the splits, so every "
        "number measured on the leaked rows (losses, gaps, recall, precision) overstates the "
        "model. Fix the split and audit again."
    )


def sort_key(result: RuleResult) -> tuple[int, int, int, str]:
    """Order results for reading: failures first, most severe first, most telling category first.

    The category's place is its place in `Category`: a category cannot be left out of the order.
    """
    return (
        _STATUS_ORDER[Status(result.status)],
        -Severity(result.rule.severity).rank,
        Category(result.rule.category).rank,
        result.rule.id,
    )


def by_cause(results: Iterable[RuleResult]) -> list[tuple[RuleResult, tuple[RuleResult, ...]]]:
    """Return the failed results one cause at a time: (the one to show, the others of its cause).

    Rules of one kind judging one subject (the same split, metric, classes: every parameter that
    is not a number or a switch) report one cause at different limits, as OF01 and OF02 do. The
    first in reading order, the most severe, leads; the others are named beside it.
    """
    causes: dict[tuple[object, ...], list[RuleResult]] = {}
    for result in sorted(results, key=sort_key):
        if result.status != Status.FAILED:
            if result.status == Status.ERROR:
                causes[("error", result.rule.id)] = [result]
            continue
        kind = KINDS.get(result.rule.kind)
        subject = tuple(
            (name, repr(result.rule.params.get(name, param.default)))
            for name, param in sorted((kind.params if kind else {}).items())
            if param.type not in ("number", "integer", "bool")
        )
        causes.setdefault((result.rule.kind, subject), []).append(result)
    return [(first, tuple(rest)) for first, *rest in causes.values()]
