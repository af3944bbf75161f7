"""The values of the rules engine: rules, rule sets, kinds, their parameters and results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from auditor.vocabulary import Category, Severity, Status

if TYPE_CHECKING:
    from auditor.evaluation import Evaluation


def severity_rank(severity: str) -> int:
    """Order severities: info < warning < error."""
    return Severity(severity).rank


@dataclass(frozen=True)
class Param:
    """One parameter a kind accepts: its type, bounds, default and meaning."""

    type: str  # "number", "integer", "string", "split", "classes", "bool", "columns"
    help: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def describe(self) -> str:
        """Return the constraint as words, for error messages and docs."""
        if self.type in ("number", "integer"):
            noun = "a number" if self.type == "number" else "a whole number"
            if self.minimum is not None and self.maximum is not None:
                return f"{noun} in [{self.minimum:g}, {self.maximum:g}]"
            if self.minimum is not None:
                return f"{noun} >= {self.minimum:g}"
            return noun
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type == "classes":
            return "'all', 'positive' or a list of class names"
        if self.type == "bool":
            return "true or false"
        if self.type == "columns":
            return "a column name or a list of them"
        return "a string"


@dataclass(frozen=True)
class Outcome:
    """What a kind observed: a status, one sentence, the observed values and the threshold."""

    status: str  # a Status; the engine checks it is one
    message: str
    observed: Mapping[str, Any] = field(default_factory=dict)
    threshold: Mapping[str, Any] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    # What a failure is about, so that waivers can be scoped to some classes or features.
    classes: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


KindFn = Callable[["Evaluation", Mapping[str, Any]], Outcome]


@dataclass(frozen=True)
class Kind:
    """A rule kind: a pure function of an Evaluation, the category it reports, its parameters."""

    fn: KindFn
    category: Category
    summary: str
    params: Mapping[str, Param]
    # The family of data facts it judges (`auditor.facts.data`), computed for its `split`.
    facts: str = ""


@dataclass(frozen=True)
class Rule:
    """One declared rule of a rule set."""

    id: str
    kind: str
    severity: Severity
    params: Mapping[str, Any]
    summary: str
    why: str
    what_to_do: str
    category: Category  # its kind's
    example: str = ""
    enabled: bool = True
    source: str = ""


@dataclass(frozen=True)
class Waiver:
    """An accepted failure: a rule (optionally only some classes or features), why, until when."""

    rule: str
    reason: str
    expires: date | None = None
    classes: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    source: str = ""

    def expired(self, today: date) -> bool:
        """Whether the waiver no longer applies on TODAY (it still holds on its expiry date)."""
        return self.expires is not None and today > self.expires

    def to_dict(self) -> dict[str, Any]:
        """Return the waiver as report.json holds it."""
        return {
            "rule": self.rule,
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "classes": list(self.classes),
            "features": list(self.features),
            "source": self.source,
        }


@dataclass(frozen=True)
class RuleSet:
    """A named, versioned list of rules, after `extends` has been resolved."""

    name: str
    version: str
    source: str
    rules: tuple[Rule, ...]
    waivers: tuple[Waiver, ...] = ()

    def get(self, rule_id: str) -> Rule | None:
        """Return the rule with id RULE_ID, or None when the set has none."""
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def enabled(self) -> tuple[Rule, ...]:
        """The rules that are switched on, in set order."""
        return tuple(r for r in self.rules if r.enabled)


@dataclass(frozen=True)
class RuleResult:
    """A rule's verdict on an evaluation, as it appears under `results` in report.json."""

    rule: Rule
    status: Status
    message: str
    observed: Mapping[str, Any] = field(default_factory=dict)
    threshold: Mapping[str, Any] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    waiver: Mapping[str, Any] | None = None
    classes: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether the rule failed (a waived failure has the status `waived` instead)."""
        return self.status == Status.FAILED

    @property
    def passed(self) -> bool:
        """Whether the rule passed."""
        return self.status == Status.PASSED

    def to_dict(self) -> dict[str, Any]:
        """Return the result as report.json holds it under `results`."""
        return {
            "rule_id": self.rule.id,
            "kind": self.rule.kind,
            "category": self.rule.category,
            "severity": self.rule.severity,
            "status": self.status,
            "message": self.message,
            "observed": dict(self.observed),
            "threshold": dict(self.threshold),
            "evidence": dict(self.evidence),
            "waiver": dict(self.waiver) if self.waiver else None,
            "classes": list(self.classes),
            "features": list(self.features),
            "summary": self.rule.summary,
            "why": self.rule.why,
            "what_to_do": self.rule.what_to_do,
        }
