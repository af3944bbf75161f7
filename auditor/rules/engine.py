"""Runs a rule set over an evaluation; a kind that raises becomes an `error` result, not a crash."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.evaluate import Evaluation
from auditor.rules.kinds import KINDS
from auditor.rules.types import SEVERITIES, RuleResult, RuleSet, severity_rank

FAIL_ON = ("info", "warning", "error", "never")


def run_rules(evaluation: Evaluation, rule_set: RuleSet) -> list[RuleResult]:
    """Judge the evaluation with every enabled rule, in rule-set order."""
    results = []
    for rule in rule_set.enabled:
        kind = KINDS[rule.kind]
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
