"""The words an audit's verdicts are written in: statuses, severities, categories and metrics.

Each is defined once, here. Statuses, severities and categories are `str` enums: a member equals
its plain string ("failed" == Status.FAILED), prints and formats as it, and JSON holds it as a
plain string. This is the lowest layer: it imports nothing from auditor.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    LEAKAGE_GROUP = "leakage_group"  # one entity (patient, customer) on both sides of the split
    LEAKAGE_TEMPORAL = "leakage_temporal"  # validation rows from before the training rows
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
    def leakage(self) -> bool:
        """Whether a failure means the splits leak: the metrics were measured on leaked rows."""
        return self.value.startswith("leakage_")

    @property
    def about_data(self) -> bool:
        """Whether the category's rules judge the rows themselves (leakage, drift), not metrics."""
        return self in _DATA_CATEGORIES


_DATA_CATEGORIES = frozenset(
    {
        Category.LEAKAGE_DUPLICATES,
        Category.LEAKAGE_GROUP,
        Category.LEAKAGE_TEMPORAL,
        Category.LEAKAGE_TARGET_PROXY,
        Category.LEAKAGE_IDENTIFIER,
        Category.SPLIT_DRIFT,
    }
)

NEVER = "never"  # the --fail-on level at which no result fails the gate
FAIL_ON: tuple[str, ...] = (*Severity.values(), NEVER)


@dataclass(frozen=True)
class Metric:
    """A metric report.json holds per split: its key, how text names it, which way is better."""

    key: str
    name: str  # as a sentence starts it: "ROC AUC drops from 0.91 on train to 0.74 on val"
    label: str  # its row in the report's table of metrics
    higher_is_better: bool


# Every metric the rules judge or the report shows, in the order of the report's table.
METRICS: tuple[Metric, ...] = (
    Metric("loss", "Loss", "Loss (data)", higher_is_better=False),
    Metric("log_loss", "Log loss", "Log loss", higher_is_better=False),
    Metric("accuracy", "Accuracy", "Accuracy", higher_is_better=True),
    Metric("balanced_accuracy", "Balanced accuracy", "Balanced accuracy", higher_is_better=True),
    Metric("precision_macro", "Precision (macro)", "Precision (macro)", higher_is_better=True),
    Metric("recall_macro", "Recall (macro)", "Recall (macro)", higher_is_better=True),
    Metric("f1_macro", "F1 (macro)", "F1 (macro)", higher_is_better=True),
    Metric("precision", "Precision", "Precision (positive class)", higher_is_better=True),
    Metric("recall", "Recall", "Recall (positive class)", higher_is_better=True),
    Metric("f1", "F1", "F1 (positive class)", higher_is_better=True),
    Metric("roc_auc", "ROC AUC", "ROC AUC", higher_is_better=True),
    Metric("pr_auc", "PR AUC", "PR AUC (average precision)", higher_is_better=True),
    Metric("brier_score_loss", "Brier score", "Brier score", higher_is_better=False),
    Metric(
        "expected_calibration_error",
        "Expected calibration error",
        "Expected calibration error",
        higher_is_better=False,
    ),
)
METRIC = {metric.key: metric for metric in METRICS}
