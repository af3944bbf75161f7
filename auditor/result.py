"""The value an audit produces: evaluation, rule results, advice and the gate's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.options import AuditOptions
from auditor.rules.engine import blocking

if TYPE_CHECKING:  # only for annotations: the value needs neither data loading nor Keras
    from auditor.evaluation import Evaluation
    from auditor.regularization import Recommendation
    from auditor.rules.types import RuleResult, RuleSet
    from auditor.study.values import StudyResult
    from auditor.sweep import SweepResult


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit found; the writers in `auditor.report` render it."""

    evaluation: Evaluation
    rule_set: RuleSet
    results: tuple[RuleResult, ...]
    recommendations: tuple[Recommendation, ...]
    fail_on: str = AuditOptions.fail_on
    created: str = ""
    sweep: SweepResult | None = None
    study: StudyResult | None = None
    history: dict[str, list[float]] | None = None
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def blocking(self) -> list[RuleResult]:
        """Results that fail the gate at the chosen --fail-on level."""
        return blocking(self.results, self.fail_on)

    @property
    def passed(self) -> bool:
        """Whether no result fails the gate at the chosen --fail-on level."""
        return not self.blocking

    @property
    def verdict(self) -> str:
        """The gate's verdict: "pass" or "fail"."""
        return "pass" if self.passed else "fail"
