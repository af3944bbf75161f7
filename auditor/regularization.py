"""Advice: reads the model's regularization and weights and recommends concrete L1/L2 changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.evaluate import Evaluation
from auditor.rules.types import RuleResult


@dataclass(frozen=True)
class Recommendation:
    """One concrete change, with the evidence behind it."""

    action: str
    layers: tuple[str, ...]
    current: dict[str, Any]
    suggested: dict[str, Any]
    reason: str
    evidence: tuple[str, ...]
    expected_effect: str
    snippet: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "layers": list(self.layers),
            "current": self.current,
            "suggested": self.suggested,
            "reason": self.reason,
            "evidence": list(self.evidence),
            "expected_effect": self.expected_effect,
            "snippet": self.snippet,
            "details": self.details,
        }


def recommend(evaluation: Evaluation, results: Sequence[RuleResult]) -> list[Recommendation]:
    """Return the regularization recommendations for this evaluation and its rule results."""
    return []
