"""The words an audit's verdicts are written in: statuses, severities and categories, defined once.

They are `str` enums: a member equals its plain string ("failed" == Status.FAILED), prints and
formats as it, and JSON holds it as a plain string. This is the lowest layer: it imports nothing
from auditor.
"""

from __future__ import annotations

from enum import Enum


class Word(str, Enum):
    """A word of the vocabulary: `str()` and `format()` give its plain value, as JSON does."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Return the plain values, in declaration order (for messages, choices and schemas)."""
        return tuple(str(member.value) for member in cls)


class Status(Word):
    """What became of a rule on an evaluation."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"  # the check raised: it could not judge, and it blocks like a failure
    WAIVED = "waived"  # failed, but an active waiver accepts the failure


class Severity(Word):
    """How much a failed rule matters; declared from the least to the most severe."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """The severity's place in the order info < warning < error."""
        return list(Severity).index(self)


class Category(Word):
    """What a rule is about.

    Declared in reading order: within one severity, what a reviewer should read first. Data
    problems that make every number suspect come first, then generalization, then the class-level
    and secondary checks.
    """

    LEAKAGE_DUPLICATES = "leakage_duplicates"
    LEAKAGE_TARGET_PROXY = "leakage_target_proxy"
    LEAKAGE_IDENTIFIER = "leakage_identifier"
    OVERFITTING = "overfitting"
    UNDERFITTING = "underfitting"
    ACCURACY_PARADOX = "accuracy_paradox"
    RECALL_FLOOR = "recall_floor"
    REGRESSION = "regression"
    PRECISION_FLOOR = "precision_floor"
    SUSPICIOUS_VALIDATION = "suspicious_validation"
    SPLIT_DRIFT = "split_drift"
    CLASS_IMBALANCE = "class_imbalance"
    CALIBRATION = "calibration"

    @property
    def rank(self) -> int:
        """The category's place in the reading order."""
        return list(Category).index(self)

    @property
    def about_data(self) -> bool:
        """Whether the category's rules judge the rows themselves (leakage, drift), not metrics."""
        return self in _DATA_CATEGORIES


_DATA_CATEGORIES = frozenset(
    {
        Category.LEAKAGE_DUPLICATES,
        Category.LEAKAGE_TARGET_PROXY,
        Category.LEAKAGE_IDENTIFIER,
        Category.SPLIT_DRIFT,
    }
)

NEVER = "never"  # the --fail-on level at which no result fails the gate
FAIL_ON: tuple[str, ...] = (*Severity.values(), NEVER)
