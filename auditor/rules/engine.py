"""Runs a rule set over an evaluation; a kind that raises becomes an `error` result, not a crash."""

from __future__ import annotations

import time
from collections.abc import Iterable

from auditor.evaluate import Evaluation
from auditor.rules.kinds import KINDS
from auditor.rules.types import SEVERITIES, RuleResult, RuleSet, severity_rank

FAIL_ON = ("info", "warning", "error", "never")


DATA_CATEGORIES = frozenset(
    {"leakage_duplicates", "leakage_target_proxy", "leakage_identifier", "split_drift"}
)


def run_rules(
    evaluation: Evaluation, rule_set: RuleSet, timings: dict[str, float] | None = None
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
        except Exception as exc:  # A broken kind must not hide the other rules' verdicts.
            results.append(
                RuleResult(
                    rule=rule,
                    status="error",
                    message=f"The check raised {type(exc).__name__}: {exc}",
                )
            )
            continue
        finally:
            if timings is not None:
                key = "leakage_rules" if rule.category in DATA_CATEGORIES else "metric_rules"
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - started
        results.append(
            RuleResult(
                rule=rule,
                status=outcome.status,
                message=outcome.message,
                observed=outcome.observed,
                threshold=outcome.threshold,
                evidence=outcome.evidence,
            )
        )
    return results


def blocking(results: Iterable[RuleResult], fail_on: str) -> list[RuleResult]:
    """Return the results that fail the gate: failed (or broken) rules at or above FAIL_ON."""
    if fail_on == "never":
        return []
    floor = severity_rank(fail_on)
    return [
        r
        for r in results
        if r.status in ("failed", "error") and severity_rank(r.rule.severity) >= floor
    ]


def sort_key(result: RuleResult) -> tuple[int, int, str]:
    """Order results for reading: failures first, most severe first."""
    status_order = {"error": 0, "failed": 0, "waived": 1, "passed": 2, "not_applicable": 3}
    return (status_order.get(result.status, 4), -SEVERITIES.index(result.rule.severity), result.rule.id)
