"""Compares two audits' report.json: metrics with deltas, findings added and resolved, regressions.

Whether NEW is worse is judged by the rule set's regression rules (category `regression`, RG01-RG03
in the default set), the same rules `--baseline` runs in an audit: NEW's numbers are the
candidate's, OLD's report is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.evaluation import SPLIT_ORDER, Evaluation, SplitEvaluation
from auditor.loading.architecture import Architecture
from auditor.loading.model import ModelInfo
from auditor.loading.reference import load_reference
from auditor.options import AuditOptions
from auditor.rules import RuleSet, load_rule_set, run_rules
from auditor.rules.engine import blocking
from auditor.rules.types import RuleResult
from auditor.vocabulary import METRICS, Category, Status

_FAILING = (Status.FAILED.value, Status.ERROR.value)


@dataclass(frozen=True)
class MetricDelta:
    """One metric on one split in both audits; `change` says which way NEW moved it."""

    split: str
    key: str
    label: str
    old: float | None
    new: float | None
    higher_is_better: bool

    @property
    def delta(self) -> float | None:
        """NEW minus OLD, or None when either is missing."""
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def change(self) -> str:
        """Say how NEW moved the metric: better, worse, same, or empty when a side is missing."""
        delta = self.delta
        if delta is None:
            return ""
        if abs(delta) < 5e-4:  # below half a thousandth: no change worth a word
            return "same"
        return "better" if (delta > 0) == self.higher_is_better else "worse"


@dataclass(frozen=True)
class Comparison:
    """Two audits side by side, and the regression rules' results on NEW against OLD."""

    old: dict[str, Any]
    new: dict[str, Any]
    rule_set: RuleSet
    results: tuple[RuleResult, ...]
    fail_on: str = AuditOptions.fail_on

    @property
    def blocking(self) -> list[RuleResult]:
        """The regression results that fail the comparison at the chosen level."""
        return blocking(self.results, self.fail_on)

    @property
    def worse(self) -> bool:
        """Whether NEW is worse than OLD by the rule set's regression rules."""
        return bool(self.blocking)

    @property
    def metrics(self) -> list[MetricDelta]:
        """Every metric either audit has, split by split (train, val, test first)."""
        old_splits, new_splits = self.old["splits"], self.new["splits"]
        names = [s for s in SPLIT_ORDER if s in old_splits or s in new_splits]
        names += sorted((set(old_splits) | set(new_splits)) - set(names))
        rows = []
        for split in names:
            before = (old_splits.get(split) or {}).get("metrics") or {}
            after = (new_splits.get(split) or {}).get("metrics") or {}
            for metric in METRICS:
                old, new = _number(before.get(metric.key)), _number(after.get(metric.key))
                if old is None and new is None:
                    continue
                rows.append(
                    MetricDelta(split, metric.key, metric.label, old, new, metric.higher_is_better)
                )
        return rows

    @property
    def added(self) -> list[dict[str, Any]]:
        """Findings (failed or broken rules) of NEW that OLD did not have."""
        before = {r["rule_id"] for r in _findings(self.old)}
        return [r for r in _findings(self.new) if r["rule_id"] not in before]

    @property
    def resolved(self) -> list[dict[str, Any]]:
        """Findings of OLD that NEW no longer has."""
        after = {r["rule_id"] for r in _findings(self.new)}
        return [r for r in _findings(self.old) if r["rule_id"] not in after]

    @property
    def kept(self) -> list[dict[str, Any]]:
        """Findings both audits have (NEW's wording)."""
        before = {r["rule_id"] for r in _findings(self.old)}
        return [r for r in _findings(self.new) if r["rule_id"] in before]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in doc.get("results") or [] if r.get("status") in _FAILING]


def compare_reports(
    old: str | Path | dict[str, Any],
    new: str | Path | dict[str, Any],
    rules: Any = None,
    fail_on: str = AuditOptions.fail_on,
) -> Comparison:
    """Compare two report.json files (paths or loaded documents); see `Comparison`.

    RULES is a rule-set file, a bundled name or a loaded `RuleSet` (default: the bundled default);
    only its regression rules judge. FAIL_ON is the lowest severity of a regression that counts.
    """
    before, after = load_reference(old, "report"), load_reference(new, "report")
    rule_set = rules if isinstance(rules, RuleSet) else load_rule_set(rules)
    regression = replace(
        rule_set, rules=tuple(r for r in rule_set.rules if r.category == Category.REGRESSION)
    )
    candidate = replace(_evaluation(after), reference=before)
    results = tuple(run_rules(candidate, regression))
    return Comparison(before, after, rule_set, results, fail_on)


def _evaluation(doc: dict[str, Any]) -> Evaluation:
    """Rebuild the facts of a report.json the regression rules judge: model, classes, metrics."""
    where = doc["source"]
    try:
        model = doc["model"]
        known = {f.name for f in fields(ModelInfo)}
        values: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in model.items()
            if key in known
        }
        info = ModelInfo(**values)
        splits = {
            name: SplitEvaluation(
                name=name,
                path=str(split.get("path", "")),
                n_rows=int(split.get("n_rows", 0)),
                class_counts=dict(split.get("class_counts") or {}),
                metrics=dict(split["metrics"]),
                confusion_matrix=list(split.get("confusion_matrix") or []),
                baseline=dict(split.get("baseline") or {}),
            )
            for name, split in doc["splits"].items()
        }
        return Evaluation(
            model=info,
            classes=tuple(str(c) for c in doc["classes"]),
            features=tuple(doc.get("features") or ()),
            splits=splits,
            architecture=Architecture(layers=(), config_readable=False),
            threshold=float(doc.get("threshold", 0.5)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditorError(
            f"{where}: not a complete auditor report.json ({type(exc).__name__}: {exc})"
        ) from None
