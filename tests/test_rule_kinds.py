"""Rule kinds judged on hand-built evaluations: one table of cases, common tests, the engine."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest
from helpers import (
    architecture,
    evaluation,
    split_from_predictions,
    split_with_metrics,
    text_evaluation,
    text_facts,
)
from test_context_leakage import with_context
from test_leakage import (
    copied_rows,
    copy_into,
    discrete_rows,
    identifier_rows,
    label_copy,
    normal_rows,
    rare_class_proxy,
    repeated_rows,
    repeated_share,
    shared_count,
    shifted_classes,
    two_views,
    with_rows,
)

from auditor.evaluate import Evaluation, SplitEvaluation
from auditor.rules.engine import blocking, run_rules
from auditor.rules.kinds import KINDS
from auditor.rules.types import Rule, RuleResult, RuleSet

VERDICTS = ("passed", "failed", "not_applicable")
BINARY = ("0", "1")
ANIMALS = ("cat", "dog", "fox")
# Values of the required parameters (those without a default) used when a case does not set them.
REQUIRED = {"min_recall": 0.5, "min_precision": 0.5}


# ---- builders ------------------------------------------------------------------------------------


def params_for(kind: str, **overrides: Any) -> dict[str, Any]:
    """The kind's defaults (and REQUIRED values), then the case's overrides."""
    params = {key: p.default for key, p in KINDS[kind].params.items()}
    params.update({k: v for k, v in REQUIRED.items() if k in params and params[k] is None})
    unknown = set(overrides) - set(params)
    assert not unknown, f"{kind} has no parameter(s) {unknown}"
    params.update(overrides)
    return params


def confusion_split(
    name: str,
    matrix: list[list[int]],
    classes: tuple[str, ...] = BINARY,
    *,
    confidence: float = 0.8,
    loss: float | None = None,
) -> SplitEvaluation:
    """A split whose confusion matrix (rows: true class, columns: predicted) is MATRIX.

    Every row gets probability CONFIDENCE on its predicted class, the rest spread evenly, so
    accuracy, recall, precision and the calibration error (|accuracy - confidence|) are known.
    """
    return _confusion_split(name, tuple(map(tuple, matrix)), classes, confidence, loss)


@functools.cache  # splits are immutable and scikit-learn takes a few ms per split
def _confusion_split(
    name: str,
    matrix: tuple[tuple[int, ...], ...],
    classes: tuple[str, ...],
    confidence: float,
    loss: float | None,
) -> SplitEvaluation:
    k = len(classes)
    ys, rows = [], []
    for true, counts in enumerate(matrix):
        for predicted, n in enumerate(counts):
            row = np.full(k, (1 - confidence) / (k - 1))
            row[predicted] = confidence
            ys += [true] * n
            rows += [row] * n
    return split_from_predictions(name, np.array(ys), np.array(rows), classes, loss=loss)


_plain_split = functools.cache(split_with_metrics)


def metrics_split(name: str, **overrides: Any) -> SplitEvaluation:
    """helpers.split_with_metrics(name, **overrides), computing the plausible split only once."""
    split = _plain_split(name)
    return dataclasses.replace(split, metrics={**split.metrics, **overrides})


def fitted(
    name: str,
    log_loss: float | None,
    baseline_log_loss: float,
    roc_auc: float | None = 0.6,
    loss: float | None = None,
) -> SplitEvaluation:
    """A split with chosen log loss, baseline log loss and ROC AUC (for the fit kinds)."""
    split = metrics_split(name, log_loss=log_loss, roc_auc=roc_auc, loss=loss)
    baseline = {**split.baseline, "log_loss": baseline_log_loss}
    return dataclasses.replace(split, baseline=baseline)


def losses(train: float | None, val: float | None) -> Evaluation:
    return evaluation(
        {"train": metrics_split("train", loss=train), "val": metrics_split("val", loss=val)}
    )


def against(ev: Evaluation, val: dict[str, Any], train: dict[str, Any] | None = None) -> Evaluation:
    """EV compared with a baseline audit whose val (and train) metrics are VAL (and TRAIN)."""
    splits: dict[str, Any] = {"val": {"metrics": val}}
    if train is not None:
        splits["train"] = {"metrics": train}
    return dataclasses.replace(ev, reference={"source": "deployed.json", "splits": splits})


def accuracies(train: float, val: float) -> Evaluation:
    return evaluation(
        {
            "train": metrics_split("train", accuracy=train),
            "val": metrics_split("val", accuracy=val),
        }
    )


def val_only(matrix: list[list[int]], classes: tuple[str, ...] = BINARY, **kw: Any) -> Evaluation:
    return evaluation({"val": confusion_split("val", matrix, classes, **kw)}, classes)


def train_only(matrix: list[list[int]], classes: tuple[str, ...] = BINARY) -> Evaluation:
    return evaluation({"train": confusion_split("train", matrix, classes)}, classes)


def regularized(
    l2: float = 0.0,
    l1: float = 0.0,
    penalty: float | None = None,
    train: tuple[float | None, float] = (0.66, 0.69),
    val: tuple[float | None, float] | None = (0.67, 0.69),
    readable: bool = True,
) -> Evaluation:
    """An evaluation for over_regularization: (log loss, baseline log loss) per split."""
    splits = {"train": fitted("train", *train, loss=train[0])}
    if val is not None:
        splits["val"] = fitted("val", *val, loss=val[0])
    return evaluation(splits, arch=architecture(l2=l2, l1=l1, readable=readable), penalty=penalty)


def weighted_train(negative: float, positive: float) -> Evaluation:
    """90 negatives and 10 positives, every row scored NEGATIVE or POSITIVE: ranks perfectly."""
    y = np.array([0] * 90 + [1] * 10)
    proba = np.where(y == 1, positive, negative)
    return evaluation({"train": split_from_predictions("train", y, proba, BINARY)})


# ---- the table -----------------------------------------------------------------------------------


class Case(NamedTuple):
    kind: str
    params: dict[str, Any]
    evaluation: Evaluation
    status: str
    message: str
    observed: dict[str, Any] | None = None
    threshold: dict[str, Any] | None = None


def case(
    id: str,
    kind: str,
    params: dict[str, Any],
    ev: Evaluation,
    status: str,
    message: str,
    observed: dict[str, Any] | None = None,
    threshold: dict[str, Any] | None = None,
) -> Any:
    return pytest.param(Case(kind, params, ev, status, message, observed, threshold), id=id)


MEMORIZES = "the model memorizes the training set and will do worse on new data."
HIDES = "the accuracy hides a model that misses most of the minority class."
OVER_REGULARIZED = (
    "holds the weights down: the model is over-regularized; lower the L1/L2 strength."
)
NOT_LEARNED = "the model has not learned the training data."
IMBALANCED = "accuracy will flatter the model; judge it on recall, precision and balanced accuracy."
SCORED_ON_TRAINING_ROWS = (
    "the model is scored on rows it was trained on, so its validation numbers overstate how it "
    "will do on new data."
)
DUPLICATES_WEIGH = (
    "duplicates weigh some examples more and inflate metrics when they straddle a split."
)
GIVES_AWAY = (
    "a column that gives the answer away is usually derived from the label or recorded after the "
    "outcome, and will not be there (or not be the same) in production."
)
NO_MEANING = (
    "an identifier carries no meaning the model can generalize from; when it predicts the label, "
    "the rows were ordered or numbered by outcome."
)
OTHER_POPULATION = (
    "The val numbers do not describe the population the model was trained on; split at random "
    "(stratified), or by time on purpose."
)
BENIGN = (
    "Dropout and weight penalties make Keras' own training loss look worse than validation loss, "
    "but auditor measures both without dropout and without the penalty, so that benign cause is "
    "ruled out here; a smaller or easier validation split is the other innocent explanation."
)

# Four whole numbers 0..9: 2,000 training and 2,000 val rows (the latter also with every 10th row
# copied from train), and the share of training rows that equal another training row (by
# np.unique, not by the library's hashes).
DIGITS_TRAIN = discrete_rows(2_000, 40, levels=10, features=4)
DIGITS_VAL = discrete_rows(2_000, 41, levels=10, features=4)
DIGITS_COPIED = copy_into(DIGITS_VAL, DIGITS_TRAIN, 0.1)
TRAIN_REPEATS = repeated_share(DIGITS_TRAIN[0])
assert TRAIN_REPEATS == 0.195

PATIENTS = np.repeat([f"P{i}" for i in range(10)], 10)
NEW_PATIENTS = [f"Q{i}" for i in range(4) for _ in range(2)]

CASES = [
    # ---- loss_gap: fails only when both the absolute and the relative gap are over the limits.
    case(
        "loss_gap-fails",
        "loss_gap",
        {},
        losses(0.27, 0.61),
        "failed",
        "Validation loss 0.610 is 0.340 above training loss 0.270 (125.9% higher; limits 0.15 and "
        f"25%): {MEMORIZES}",
        observed={"train_loss": 0.27, "val_loss": 0.61, "gap": 0.34, "relative_gap": 0.34 / 0.27},
        threshold={"max_gap": 0.15, "max_relative_gap": 0.25, "judged_on": "lower_bound"},
    ),
    case(
        "loss_gap-passes",
        "loss_gap",
        {},
        losses(0.30, 0.35),
        "passed",
        "Validation loss 0.350 is within 0.15 (or 25%) of training loss 0.300 (gap 0.0500).",
        observed={"gap": 0.05},
    ),
    case(
        "loss_gap-passes-absolute-over-relative-under",
        "loss_gap",
        {},
        losses(1.0, 1.2),
        "passed",
        "Validation loss 1.20 is within 0.15 (or 25%) of training loss 1.00 (gap 0.200).",
    ),
    case(
        "loss_gap-passes-val-below-train",
        "loss_gap",
        {},
        losses(0.40, 0.35),
        "passed",
        "Validation loss 0.350 is within 0.15 (or 25%) of training loss 0.400 (gap -0.0500).",
    ),
    case(
        "loss_gap-fails-many-times-as-high",
        "loss_gap",
        {},
        losses(0.02, 0.5),
        "failed",
        "Validation loss 0.500 is 0.480 above training loss 0.0200 (25 times as high; limits 0.15 "
        f"and 25%): {MEMORIZES}",
    ),
    case(
        "loss_gap-fails-zero-train-loss",
        "loss_gap",
        {},
        losses(0.0, 0.2),
        "failed",
        "Validation loss 0.200 is 0.200 above training loss 0 (more than 10 times as high; limits "
        f"0.15 and 25%): {MEMORIZES}",
        observed={"relative_gap": None},
    ),
    case(
        "loss_gap-test-split-with-own-limits",
        "loss_gap",
        {"split": "test", "max_gap": 0.05, "max_relative_gap": 0.1},
        evaluation(
            {"train": metrics_split("train", loss=0.2), "test": metrics_split("test", loss=0.3)}
        ),
        "failed",
        "Test loss 0.300 is 0.100 above training loss 0.200 (50% higher; limits 0.05 and 10%): "
        f"{MEMORIZES}",
        observed={"test_loss": 0.3},
        threshold={"max_gap": 0.05, "max_relative_gap": 0.1, "judged_on": "lower_bound"},
    ),
    case(
        "loss_gap-n/a-no-val",
        "loss_gap",
        {},
        evaluation({"train": metrics_split("train", loss=0.2)}),
        "not_applicable",
        "Not applicable: needs the loss on the train and val splits.",
    ),
    case(
        "loss_gap-n/a-loss-unknown",
        "loss_gap",
        {},
        losses(None, 0.5),
        "not_applicable",
        "Not applicable: needs the loss on the train and val splits.",
    ),
    # ---- metric_gap: proportions are judged at the lower end of the drop's 95% interval.
    case(
        "metric_gap-fails-point",
        "metric_gap",
        {"judge": "point"},
        accuracies(0.99, 0.90),
        "failed",
        "Accuracy drops from 0.990 on train to 0.900 on val (0.0900, limit 0.05): what the model "
        "learned does not carry over to unseen rows.",
        observed={"train_accuracy": 0.99, "val_accuracy": 0.90, "gap": 0.09},
        threshold={"max_gap": 0.05, "metric": "accuracy", "judged_on": "point"},
    ),
    case(
        "metric_gap-fails-beyond-noise",
        "metric_gap",
        {},
        evaluation(
            {
                "train": confusion_split("train", [[495, 5], [5, 495]]),  # 0.99 of 1,000
                "val": confusion_split("val", [[450, 50], [50, 450]]),  # 0.90 of 1,000
            }
        ),
        "failed",
        "Accuracy drops from 0.990 on train to 0.900 on val (0.0900; judged at the lower end of "
        "its 95% interval, 0.0703; limit 0.05): what the model learned does not carry over to "
        "unseen rows.",
        # Agresti-Caffo: (990 + 1) / 1,002 and (900 + 1) / 1,002, each p (1 - p) / 1,002.
        observed={"gap_standard_error": (991 * 11 / 1002**3 + 901 * 101 / 1002**3) ** 0.5},
        threshold={"max_gap": 0.05, "metric": "accuracy", "judged_on": "lower_bound"},
    ),
    case(
        "metric_gap-passes-small-split-noise",
        "metric_gap",
        {},
        accuracies(0.99, 0.90),  # the same drop on 100 rows each
        "passed",
        "Accuracy is 0.990 on train and 0.900 on val (gap 0.0900; judged at the lower end of its "
        "95% interval, 0.0241; limit 0.05 — within sampling noise).",
    ),
    case(
        "metric_gap-passes-chance-level",
        "metric_gap",
        {},
        evaluation(
            {
                "train": confusion_split("train", [[220, 180], [179, 221]]),  # 441 of 800
                "val": confusion_split("val", [[50, 50], [50, 50]]),  # 100 of 200
            }
        ),
        "passed",
        "Accuracy is 0.551 on train and 0.500 on val (gap 0.0513; judged at the lower end of its "
        "95% interval, -0.0258; limit 0.05 — within sampling noise).",
    ),
    case(
        "metric_gap-passes",
        "metric_gap",
        {},
        accuracies(0.92, 0.90),
        "passed",
        "Accuracy is 0.920 on train and 0.900 on val (gap 0.0200; judged at the lower end of its "
        "95% interval, -0.0616; limit 0.05).",
    ),
    case(
        "metric_gap-balanced-accuracy-multiclass",
        "metric_gap",
        {"metric": "balanced_accuracy"},
        evaluation(
            {
                "train": confusion_split("train", [[98, 1, 1], [1, 98, 1], [1, 1, 98]], ANIMALS),
                "val": confusion_split("val", [[90, 5, 5], [5, 90, 5], [5, 5, 90]], ANIMALS),
            },
            ANIMALS,
        ),
        "passed",
        "Balanced accuracy is 0.980 on train and 0.900 on val (gap 0.0800; judged at the lower end "
        "of its 95% interval, 0.0404; limit 0.05 — within sampling noise).",
    ),
    case(
        "metric_gap-roc_auc-own-limit",
        "metric_gap",
        {"metric": "roc_auc", "max_gap": 0.1},
        evaluation(
            {
                "train": metrics_split("train", roc_auc=0.95),
                "val": metrics_split("val", roc_auc=0.8),
            }
        ),
        "failed",
        "ROC AUC drops from 0.950 on train to 0.800 on val (0.150, limit 0.1): what the model "
        "learned does not carry over to unseen rows.",
    ),
    case(
        "metric_gap-n/a-no-val",
        "metric_gap",
        {},
        evaluation({"train": metrics_split("train")}),
        "not_applicable",
        "Not applicable: needs accuracy on the train and val splits.",
    ),
    case(
        "metric_gap-n/a-binary-metric-on-multiclass",
        "metric_gap",
        {"metric": "recall"},
        evaluation(
            {
                "train": confusion_split("train", [[8, 1, 1], [1, 8, 1], [1, 1, 8]], ANIMALS),
                "val": confusion_split("val", [[8, 1, 1], [1, 8, 1], [1, 1, 8]], ANIMALS),
            },
            ANIMALS,
        ),
        "not_applicable",
        "Not applicable: needs recall on the train and val splits.",
    ),
    # ---- recall_floor
    case(
        "recall_floor-fails",
        "recall_floor",
        {"min_recall": 0.5},
        val_only([[6, 2], [3, 1]]),
        "failed",
        "Recall of class '1' on val is 0.250, below the floor 0.5: the model misses 75% of that "
        "class (3 of 4 rows).",
        observed={"recall": {"0": 0.75, "1": 0.25}, "below_floor": ["1"]},
        threshold={"min_recall": 0.5},
    ),
    case(
        "recall_floor-passes",
        "recall_floor",
        {"min_recall": 0.5},
        val_only([[7, 1], [1, 3]]),
        "passed",
        "Every selected class has recall of at least 0.5 on val (lowest: class '1' at 0.750).",
        observed={"recall": {"0": 0.875, "1": 0.75}, "below_floor": []},
    ),
    case(
        "recall_floor-only-selected-class",
        "recall_floor",
        {"min_recall": 0.5, "classes": ["0"]},
        val_only([[6, 2], [3, 1]]),
        "passed",
        "Every selected class has recall of at least 0.5 on val (lowest: class '0' at 0.750).",
        observed={"recall": {"0": 0.75}},
    ),
    case(
        "recall_floor-positive-class",
        "recall_floor",
        {"min_recall": 0.2, "classes": "positive"},
        val_only([[6, 2], [3, 1]]),
        "passed",
        "Every selected class has recall of at least 0.2 on val (lowest: class '1' at 0.250).",
    ),
    case(
        "recall_floor-fails-several-classes",
        "recall_floor",
        {"min_recall": 0.5},
        val_only([[8, 1, 1], [6, 2, 2], [4, 3, 3]], ANIMALS),
        "failed",
        "Recall of class 'dog' on val is 0.200, below the floor 0.5: the model misses 80% of that "
        "class (8 of 10 rows) (1 more class(es) below the floor).",
        observed={"below_floor": ["dog", "fox"]},
    ),
    case(
        "recall_floor-skips-class-without-rows",
        "recall_floor",
        {"min_recall": 0.5},
        val_only([[5, 1], [0, 0]]),
        "passed",
        "Every selected class has recall of at least 0.5 on val (lowest: class '0' at 0.833).",
        observed={"recall": {"0": 5 / 6}},
    ),
    case(
        "recall_floor-n/a-selected-class-without-rows",
        "recall_floor",
        {"min_recall": 0.5, "classes": ["1"]},
        val_only([[5, 1], [0, 0]]),
        "not_applicable",
        "Not applicable: none of the selected classes has rows in the val split.",
    ),
    case(
        "recall_floor-n/a-unknown-class",
        "recall_floor",
        {"min_recall": 0.5, "classes": ["fraud"]},
        val_only([[6, 2], [3, 1]]),
        "not_applicable",
        "Not applicable: class(es) fraud are not among the model's 0, 1.",
    ),
    case(
        "recall_floor-n/a-positive-on-multiclass",
        "recall_floor",
        {"min_recall": 0.5, "classes": "positive"},
        val_only([[8, 1, 1], [1, 8, 1], [1, 1, 8]], ANIMALS),
        "not_applicable",
        "Not applicable: 'positive' selects the positive class of a binary model; this one is "
        "multiclass.",
    ),
    case(
        "recall_floor-n/a-no-val",
        "recall_floor",
        {"min_recall": 0.5},
        train_only([[6, 2], [3, 1]]),
        "not_applicable",
        "Not applicable: no val split was given.",
    ),
    # ---- precision_floor
    case(
        "precision_floor-fails",
        "precision_floor",
        {"min_precision": 0.5},
        val_only([[6, 3], [1, 2]]),
        "failed",
        "Precision of class '1' on val is 0.400, below the floor 0.5: 60% of the rows it labels "
        "'1' are something else.",
        observed={"precision": {"0": 6 / 7, "1": 0.4}, "below_floor": ["1"]},
        threshold={"min_precision": 0.5},
    ),
    case(
        "precision_floor-passes",
        "precision_floor",
        {"min_precision": 0.5},
        val_only([[7, 1], [1, 3]]),
        "passed",
        "Every selected class has precision of at least 0.5 on val (lowest: class '1' at 0.750).",
    ),
    case(
        "precision_floor-fails-multiclass",
        "precision_floor",
        {"min_precision": 0.7, "classes": ["dog", "fox"]},
        val_only([[8, 1, 1], [1, 5, 4], [1, 1, 8]], ANIMALS),
        "failed",
        "Precision of class 'fox' on val is 0.615, below the floor 0.7: 38.5% of the rows it "
        "labels 'fox' are something else.",
        observed={"precision": {"dog": 5 / 7, "fox": 8 / 13}, "below_floor": ["fox"]},
    ),
    case(
        "precision_floor-n/a-test-missing",
        "precision_floor",
        {"min_precision": 0.5, "split": "test"},
        val_only([[7, 1], [1, 3]]),
        "not_applicable",
        "Not applicable: no test split was given.",
    ),
    # ---- class_imbalance
    case(
        "class_imbalance-fails",
        "class_imbalance",
        {},
        train_only([[97, 0], [3, 0]]),
        "failed",
        "Class '0' outnumbers class '1' 32.3 to 1 in the train split (limit 10; '1' is 3% of "
        f"rows): {IMBALANCED}",
        observed={
            "class_counts": {"0": 97, "1": 3},
            "majority_class": "0",
            "minority_class": "1",
            "ratio": 97 / 3,
        },
        threshold={"max_ratio": 10.0},
    ),
    case(
        "class_imbalance-passes",
        "class_imbalance",
        {},
        train_only([[30, 30], [10, 30]]),
        "passed",
        "The largest class outnumbers the smallest 1.50 to 1 in the train split (limit 10).",
    ),
    case(
        "class_imbalance-passes-at-the-limit-multiclass",
        "class_imbalance",
        {},
        train_only([[50, 0, 0], [0, 30, 0], [0, 0, 5]], ANIMALS),
        "passed",
        "The largest class outnumbers the smallest 10.0 to 1 in the train split (limit 10).",
        observed={"majority_class": "cat", "minority_class": "fox", "ratio": 10.0},
    ),
    case(
        "class_imbalance-fails-own-limit",
        "class_imbalance",
        {"max_ratio": 1.2},
        train_only([[30, 30], [10, 30]]),
        "failed",
        "Class '0' outnumbers class '1' 1.50 to 1 in the train split (limit 1.2; '1' is 40% of "
        f"rows): {IMBALANCED}",
    ),
    case(
        "class_imbalance-fails-class-without-rows",
        "class_imbalance",
        {},
        train_only([[10, 0], [0, 0]]),
        "failed",
        "Class '1' has no rows in the train split: the model cannot learn or be judged on it.",
        observed={"ratio": None},
    ),
    case(
        "class_imbalance-n/a-no-train",
        "class_imbalance",
        {},
        val_only([[6, 2], [3, 1]]),
        "not_applicable",
        "Not applicable: no train split was given.",
    ),
    # ---- accuracy_paradox: near the baseline, or high accuracy with a low balanced accuracy.
    case(
        "accuracy_paradox-fails-at-baseline",
        "accuracy_paradox",
        {},
        val_only([[97, 0], [3, 0]]),
        "failed",
        "Accuracy on val is 97%, no better than the 97% of always predicting '0', and recall of "
        f"class '1' is 0%: {HIDES}",
        observed={
            "accuracy": 0.97,
            "majority_baseline_accuracy": 0.97,
            "lift_over_baseline": 0.0,
            "balanced_accuracy": 0.5,
            "minority_class": "1",
            "minority_recall": 0.0,
        },
        threshold={
            "max_lift": 0.02,
            "min_minority_recall": 0.5,
            "high_accuracy": 0.9,
            "min_balanced_accuracy": 0.7,
        },
    ),
    case(
        "accuracy_paradox-fails-just-above-baseline",
        "accuracy_paradox",
        {},
        val_only([[95, 0], [4, 1]]),
        "failed",
        "Accuracy on val is 96%, only 1% above the 95% of always predicting '0', and recall of "
        f"class '1' is 20%: {HIDES}",
    ),
    case(
        "accuracy_paradox-fails-high-accuracy-low-balanced-accuracy",
        "accuracy_paradox",
        {},
        val_only([[90, 0], [7, 3]]),
        "failed",
        "Accuracy on val is 93%, while balanced accuracy is only 65%, and recall of class '1' is "
        f"30%: {HIDES}",
        observed={"lift_over_baseline": 0.03, "balanced_accuracy": 0.65},
    ),
    case(
        "accuracy_paradox-passes-balanced",
        "accuracy_paradox",
        {},
        val_only([[45, 5], [5, 45]]),
        "passed",
        "Accuracy 90% on val is backed by balanced accuracy 90% and minority recall 90%.",
    ),
    case(
        "accuracy_paradox-passes-near-baseline-minority-found",
        "accuracy_paradox",
        {},
        val_only([[84, 6], [3, 7]]),
        "passed",
        "Accuracy 91% on val is backed by balanced accuracy 81.7% and minority recall 70%.",
    ),
    case(
        "accuracy_paradox-n/a-single-class",
        "accuracy_paradox",
        {},
        val_only([[9, 1], [0, 0]]),
        "not_applicable",
        "Not applicable: the val split holds a single class.",
    ),
    case(
        "accuracy_paradox-n/a-no-val",
        "accuracy_paradox",
        {},
        train_only([[45, 5], [5, 45]]),
        "not_applicable",
        "Not applicable: no val split was given.",
    ),
    # ---- underfitting
    case(
        "underfitting-fails",
        "underfitting",
        {},
        evaluation({"train": fitted("train", 0.66, 0.69, roc_auc=0.55)}),
        "failed",
        "Training log loss 0.660 is only 4.3% better than the 0.690 of predicting class "
        f"frequencies, and training ROC AUC is 0.550 (floor 0.65): {NOT_LEARNED}",
        observed={
            "train_log_loss": 0.66,
            "baseline_log_loss": 0.69,
            "loss_improvement": 1 - 0.66 / 0.69,
            "train_roc_auc": 0.55,
        },
        threshold={"min_loss_improvement": 0.1, "min_roc_auc": 0.65},
    ),
    case(
        "underfitting-fails-worse-than-baseline",
        "underfitting",
        {},
        evaluation({"train": fitted("train", 0.75, 0.69, roc_auc=0.5)}),
        "failed",
        "Training log loss 0.750 is 8.7% worse than the 0.690 of predicting class frequencies, and "
        f"training ROC AUC is 0.500 (floor 0.65): {NOT_LEARNED}",
    ),
    case(
        "underfitting-passes-learned",
        "underfitting",
        {},
        evaluation({"train": fitted("train", 0.3, 0.69, roc_auc=0.9)}),
        "passed",
        "Training log loss 0.300 is 56.5% below the 0.690 of predicting class frequencies: the "
        "model learned from its data.",
    ),
    case(
        # Class weights push the minority's scores up: loss above baseline, ranks perfectly.
        "underfitting-passes-class-weighted",
        "underfitting",
        {},
        weighted_train(negative=0.3, positive=0.6),
        "passed",
        "Training log loss 0.372 is 14.5% worse than the baseline's 0.325, but training ROC AUC "
        "1.00 shows the model ranks rows well (as a class-weighted model does).",
        observed={"train_roc_auc": 1.0},
    ),
    case(
        "underfitting-n/a-no-train",
        "underfitting",
        {},
        val_only([[6, 2], [3, 1]]),
        "not_applicable",
        "Not applicable: no train split was given.",
    ),
    case(
        "underfitting-n/a-single-class-train",
        "underfitting",
        {},
        train_only([[9, 1], [0, 0]]),
        "not_applicable",
        "Not applicable: needs log loss and ROC AUC on a train split with several classes.",
    ),
    # ---- over_regularization
    case(
        "over_regularization-passes-no-penalty",
        "over_regularization",
        {},
        regularized(),
        "passed",
        "The model has no L1/L2 weight penalty, so it cannot be over-regularized by one.",
    ),
    case(
        "over_regularization-fails-strong-l2",
        "over_regularization",
        {},
        regularized(l2=5.0, penalty=0.5),
        "failed",
        "Train and val log loss are only 4.3% better than and only 2.9% better than the baseline's "
        "while the penalty (coefficient up to 5, 43.1% of the training objective) "
        f"{OVER_REGULARIZED}",
        observed={
            "train_loss_improvement": 1 - 0.66 / 0.69,
            "val_loss_improvement": 1 - 0.67 / 0.69,
            "penalty": 0.5,
            "penalty_share": 0.5 / 1.16,
            "strongest_coefficient": 5.0,
        },
        threshold={
            "min_loss_improvement": 0.3,
            "min_penalty_share": 0.2,
            "strong_coefficient": 0.1,
        },
    ),
    case(
        "over_regularization-fails-large-penalty-share",
        "over_regularization",
        {},
        regularized(l2=0.05, penalty=0.5),
        "failed",
        "Train and val log loss are only 4.3% better than and only 2.9% better than the baseline's "
        "while the penalty (coefficient up to 0.05, 43.1% of the training objective) "
        f"{OVER_REGULARIZED}",
    ),
    case(
        "over_regularization-fails-strong-l1-unknown-penalty",
        "over_regularization",
        {},
        regularized(l1=0.2, train=(0.75, 0.69)),
        "failed",
        "Train and val log loss are 8.7% worse than and only 2.9% better than the baseline's "
        "while the penalty (coefficient up to 0.2, 0% of the training objective) "
        f"{OVER_REGULARIZED}",
    ),
    case(
        "over_regularization-passes-fits-despite-penalty",
        "over_regularization",
        {},
        regularized(l2=0.5, penalty=0.5, train=(0.3, 0.69), val=(0.35, 0.69)),
        "passed",
        "The model fits the data despite its penalty of up to 0.5: train log loss is 56.5% better "
        "than the baseline's.",
    ),
    case(
        "over_regularization-n/a-savedmodel",
        "over_regularization",
        {},
        regularized(l2=5.0, penalty=0.5, readable=False),
        "not_applicable",
        "Not applicable: the model format keeps no regularizer configuration.",
    ),
    case(
        "over_regularization-n/a-no-val",
        "over_regularization",
        {},
        regularized(l2=5.0, penalty=0.5, val=None),
        "not_applicable",
        "Not applicable: needs the train and val splits.",
    ),
    case(
        "over_regularization-n/a-no-log-loss",
        "over_regularization",
        {},
        regularized(l2=5.0, penalty=0.5, train=(None, 0.69)),
        "not_applicable",
        "Not applicable: needs log loss on splits with several classes.",
    ),
    # ---- calibration_error: one confidence for every row, so ECE = |accuracy - confidence|.
    case(
        "calibration_error-fails",
        "calibration_error",
        {},
        val_only([[30, 20], [20, 30]], confidence=0.9),
        "failed",
        "Predicted probabilities on val are off by 30% on average (expected calibration error, "
        "limit 10%): scores cannot be read as probabilities.",
        observed={"expected_calibration_error": 0.3, "n_rows": 100},
        threshold={"max_ece": 0.1},
    ),
    case(
        "calibration_error-passes",
        "calibration_error",
        {},
        val_only([[40, 10], [10, 40]], confidence=0.85),
        "passed",
        "Expected calibration error on val is 5% (limit 10%).",
    ),
    case(
        "calibration_error-fails-own-limit",
        "calibration_error",
        {"max_ece": 0.02},
        val_only([[40, 10], [10, 40]], confidence=0.85),
        "failed",
        "Predicted probabilities on val are off by 5% on average (expected calibration error, "
        "limit 2%): scores cannot be read as probabilities.",
    ),
    case(
        "calibration_error-n/a-no-val",
        "calibration_error",
        {},
        train_only([[40, 10], [10, 40]]),
        "not_applicable",
        "Not applicable: no val split was given.",
    ),
    # ---- leakage_group: ten training patients of ten rows; four of them also in val.
    case(
        "leakage_group-fails",
        "leakage_group",
        {},
        with_context(
            {"patient": PATIENTS},
            {"patient": np.array([f"P{i}" for i in range(4) for _ in range(3)] + NEW_PATIENTS)},
            np.arange(100) % 2,
            np.arange(20) % 2,
            ["patient"],
        ),
        "failed",
        "12 of 20 val rows (60%) belong to 4 of the 8 'patient' groups (50%) that also occur in "
        "the training split (such as 'P0', 'P1', 'P2'; limit 1% of rows): the model is scored on "
        "entities it was trained on, so the val numbers overstate how it does on new ones; split "
        "by group, so that no group lands on both sides (scikit-learn's GroupShuffleSplit or "
        "GroupKFold, with groups= this column).",
        observed={
            "patient": {
                "groups": 8,
                "shared_groups": 4,
                "shared_group_fraction": 0.5,
                "rows": 20,
                "shared_rows": 12,
                "shared_fraction": 0.6,
                "missing_rows": 0,
                "train_groups": 10,
            }
        },
        threshold={"max_shared_fraction": 0.01},
    ),
    case(
        "leakage_group-passes-group-split",
        "leakage_group",
        {"columns": ["patient"]},
        with_context(
            {"patient": PATIENTS},
            {"patient": np.array(NEW_PATIENTS * 2 + ["Q9"] * 4)},
            np.arange(100) % 2,
            np.arange(20) % 2,
            ["patient"],
        ),
        "passed",
        "No more than 1% of val rows belong to groups of the training split ('patient': 0 of 20 "
        "rows, 0 of 5 groups shared).",
    ),
    case(
        "leakage_group-n/a-no-column",
        "leakage_group",
        {},
        with_context({}, {}, np.arange(100) % 2, np.arange(20) % 2),
        "not_applicable",
        "Not applicable: no group column was given (--group-column, or params.columns).",
    ),
    # ---- leakage_temporal: training times 0..99, the label 1 from time 60 on.
    case(
        "leakage_temporal-fails-random-split",
        "leakage_temporal",
        {},
        with_context(
            {"t": np.arange(100.0)},
            {"t": np.arange(50.0, 70.0)},
            (np.arange(100) >= 60).astype(int),
            np.arange(20) % 2,
            (),
            "t",
        ),
        "failed",
        "20 of 20 val rows (100%) are earlier than the latest training row (99; limit 5%): "
        "training spans 0 to 99, val 50 to 69; the share of class '1' moves from 0% in the "
        "earliest tenth of the rows to 100% in the latest. The model is validated on times it "
        "was trained around, not on the later data it will meet; split by time (train on the "
        "earlier rows, validate on the later ones).",
        observed={"earlier_fraction": 1.0, "train_range": ["0", "99"], "val_range": ["50", "69"]},
        threshold={"max_earlier_fraction": 0.05},
    ),
    case(
        "leakage_temporal-passes-time-ordered",
        "leakage_temporal",
        {},
        with_context(
            {"t": np.arange(100.0)},
            {"t": np.arange(99.0, 119.0)},  # from the last training time on: ties are not earlier
            (np.arange(100) >= 60).astype(int),
            np.arange(20) % 2,
            (),
            "t",
        ),
        "passed",
        "0 of 20 val rows (0%) are earlier than the latest training row (limit 5%): training "
        "spans 0 to 99, val 99 to 118; the share of class '1' moves from 0% in the earliest tenth "
        "of the rows to 50% in the latest.",
    ),
    case(
        "leakage_temporal-n/a-no-column",
        "leakage_temporal",
        {},
        with_context({}, {}, np.arange(100) % 2, np.arange(20) % 2),
        "not_applicable",
        "Not applicable: no time column was given (--time-column).",
    ),
    # ---- leakage_duplicates: val rows 0.. copied from train rows 10.. (see test_leakage.py).
    case(
        "leakage_duplicates-fails",
        "leakage_duplicates",
        {},
        copied_rows(5, relabel=2),
        "failed",
        f"5 of 50 val rows (10%) also appear in the training split: {SCORED_ON_TRAINING_ROWS}",
        observed={
            "shared_rows": 5,
            "shared_fraction": 0.1,
            "shared_rows_same_label": 3,
            "shared_rows_other_label": 2,
            "near_duplicate_rows": 0,
            "rows_checked": 50,
        },
        threshold={"max_shared_fraction": 0.01, "max_near_fraction": 0.05},
    ),
    # Three continuous features: chance is nil, and the allowance for sampling noise on 50 rows is
    # 2.58 x sqrt(1 / 50) / sqrt(50) = 5.16%, so more than 1% + 5.16% (3.08 rows) fail: 4 do, 3
    # pass (test_leakage.py has the same boundary at 200 and 1,000 rows).
    case(
        "leakage_duplicates-fails-one-row-over-limit-and-noise",
        "leakage_duplicates",
        {},
        copied_rows(4),
        "failed",
        f"4 of 50 val rows (8%) also appear in the training split: {SCORED_ON_TRAINING_ROWS}",
    ),
    case(
        "leakage_duplicates-passes-within-noise",
        "leakage_duplicates",
        {},
        copied_rows(3),
        "passed",
        "3 of 50 val rows appear in the training split and 0 nearly; limits 1% and 5% above "
        "chance.",
        observed={"shared_rows": 3, "shared_fraction": 0.06},
    ),
    case(
        "leakage_duplicates-passes",
        "leakage_duplicates",
        {},
        copied_rows(0),
        "passed",
        "0 of 50 val rows appear in the training split and 0 nearly; limits 1% and 5% above "
        "chance.",
        observed={"shared_fraction_by_chance": 0.0},
    ),
    # 5 copies fail the 1% limit (leakage_duplicates-fails): 10% - 5.16% is under a 10% limit.
    case(
        "leakage_duplicates-passes-test-split-own-limit",
        "leakage_duplicates",
        {"split": "test", "max_shared_fraction": 0.1},
        copied_rows(5, split="test"),
        "passed",
        "5 of 50 test rows appear in the training split and 0 nearly; limits 10% and 5% above "
        "chance.",
        observed={"shared_rows": 5, "shared_fraction": 0.1},
    ),
    # Four whole numbers 0..9 and 2,000 training rows: 1 - (1 - 10^-4)^2,000 = 18.1% of independent
    # val rows match by chance (17.98% from the train marginals). The chance LK01 takes is the
    # higher share of training rows that equal another training row: 390 of 2,000, 19.5%
    # (TRAIN_REPEATS, counted with np.unique). The noise allowance on 2,000 val rows is
    # 2.58 x sqrt(19.5% x 80.5% / 2,000) = 2.29 points.
    case(
        "leakage_duplicates-passes-matches-by-chance",
        "leakage_duplicates",
        {},
        with_rows({"train": DIGITS_TRAIN, "val": DIGITS_VAL}, "abcd"),
        "passed",
        "342 of 2,000 val rows appear in the training split and 0 nearly; chance alone explains "
        "19.5%; limits 1% and 5% above chance.",
        observed={
            "shared_rows": shared_count(DIGITS_TRAIN[0], DIGITS_VAL[0]),
            "shared_fraction_by_chance": TRAIN_REPEATS,
        },
    ),
    case(
        # 200 copies (10%) on top of chance: 510 rows, 25.5% - 19.5% - 2.29% = 3.7 points above
        # chance and noise. (5% copies, 428 rows, stay within: 21.4% - 19.5% - 2.29% < 1%.)
        "leakage_duplicates-fails-copies-beyond-chance",
        "leakage_duplicates",
        {},
        with_rows({"train": DIGITS_TRAIN, "val": DIGITS_COPIED}, "abcd"),
        "failed",
        "510 of 2,000 val rows (25.5%) also appear in the training split; chance alone explains "
        f"19.5%: {SCORED_ON_TRAINING_ROWS}",
        observed={
            "shared_rows": shared_count(DIGITS_TRAIN[0], DIGITS_COPIED[0]),
            "shared_fraction_by_chance": TRAIN_REPEATS,
        },
    ),
    case(
        "leakage_duplicates-n/a-no-train",
        "leakage_duplicates",
        {},
        with_rows({"val": normal_rows(50, seed=2)}, "abc"),
        "not_applicable",
        "Not applicable: needs the train and val splits.",
    ),
    case(
        "leakage_duplicates-n/a-too-few-rows",
        "leakage_duplicates",
        {"min_rows": 60},
        copied_rows(5),
        "not_applicable",
        "Not applicable: the val split has 50 row(s), fewer than 60.",
    ),
    # ---- duplicate_rows: the last rows of a 40-row train split repeat its first rows.
    case(
        "duplicate_rows-fails-conflicting-labels",
        "duplicate_rows",
        {},
        repeated_rows(4, conflicts=2),
        "failed",
        "4 of 40 train rows (10%) duplicate another row; 4 rows in 2 group(s) of identical "
        f"features carry different labels (label noise the model cannot learn): {DUPLICATES_WEIGH}",
        observed={
            "duplicate_rows": 4,
            "duplicate_fraction": 0.1,
            "conflicting_label_rows": 4,
            "conflicting_label_groups": 2,
        },
        threshold={"max_fraction": 0.05},
    ),
    case(
        "duplicate_rows-fails-own-limit",
        "duplicate_rows",
        {"max_fraction": 0.01},
        repeated_rows(2, conflicts=0),
        "failed",
        f"2 of 40 train rows (5%) duplicate another row: {DUPLICATES_WEIGH}",
    ),
    case(
        "duplicate_rows-passes-at-the-limit",
        "duplicate_rows",
        {},
        repeated_rows(2, conflicts=0),
        "passed",
        "2 of 40 train rows duplicate another row (limit 5%); no identical rows carry different "
        "labels.",
    ),
    case(
        "duplicate_rows-n/a-one-row",
        "duplicate_rows",
        {},
        repeated_rows(0, conflicts=0, n=1),
        "not_applicable",
        "Not applicable: the train split has fewer than 2 rows.",
    ),
    case(
        "duplicate_rows-n/a-no-val",
        "duplicate_rows",
        {"split": "val"},
        repeated_rows(2, conflicts=0),
        "not_applicable",
        "Not applicable: no val split was given.",
    ),
    # ---- leakage_target_proxy
    case(
        "leakage_target_proxy-fails-label-copy",
        "leakage_target_proxy",
        {},
        label_copy(),
        "failed",
        "Feature 'leak' alone predicts class '1' on val with ROC AUC 1.00; all other features "
        f"together reach 0.487: {GIVES_AWAY}",
        threshold={
            "min_score": 0.95,
            "min_margin": 0.05,
            "min_reliance": 0.05,
            "min_accuracy": 0.95,
        },
    ),
    case(
        "leakage_target_proxy-passes-strong-but-not-alone",
        "leakage_target_proxy",
        {},
        with_rows({"val": two_views(200, seed=6)}, "abc"),
        "passed",
        "No single feature predicts the label on val with ROC AUC of 0.95 or more while beating "
        "the other features by 0.05 (strongest: 'a' at 0.990).",
        observed={"suspects": []},
    ),
    case(
        "leakage_target_proxy-n/a-single-class-val",
        "leakage_target_proxy",
        {},
        shifted_classes(200),
        "not_applicable",
        "Not applicable: needs at least 50 val rows with several classes.",
    ),
    # Binary: class '1' is scored against the rest, and 2 positives are too few.
    case(
        "leakage_target_proxy-n/a-rare-class",
        "leakage_target_proxy",
        {},
        with_rows({"val": two_views(300, seed=56, positives=2)}, "abc"),
        "not_applicable",
        "Not applicable: no class has 10 or more rows (and as many others) in the val sample.",
    ),
    # Multiclass: 'fox' (5 rows) is left out; 'cat' and 'dog' still give the leak away. The leak
    # orders every class perfectly (AUC 0.9999 after binning); the other features are noise, so
    # about 0.5 (0.477: one standard error, 0.024, below, for 298 'cat' rows against 302).
    case(
        "leakage_target_proxy-fails-beside-a-rare-class",
        "leakage_target_proxy",
        {},
        rare_class_proxy((298, 297, 5)),
        "failed",
        "Feature 'leak' alone predicts class 'cat' on val with ROC AUC 1.00; all other features "
        f"together reach 0.477: {GIVES_AWAY}",
    ),
    case(
        "leakage_target_proxy-n/a-no-class-of-ten",
        "leakage_target_proxy",
        {},
        rare_class_proxy((48, 1, 1)),
        "not_applicable",
        "Not applicable: no class has 10 or more rows (and as many others) in the val sample.",
    ),
    case(
        "leakage_target_proxy-n/a-too-few-rows",
        "leakage_target_proxy",
        {"min_rows": 150},
        label_copy(),
        "not_applicable",
        "Not applicable: needs at least 150 val rows with several classes.",
    ),
    # ---- text kinds (their messages are in test_data_kinds.py; here: every verdict)
    case(
        "text_near_duplicates-fails",
        "text_near_duplicates",
        {"max_fraction": 0.01},
        text_evaluation(val=text_facts(near_copies=10)),
        "failed",
        "10 of 500 sampled val texts (2%) nearly copy a training text (most of their word triples "
        "shared, more than exact copies after normalization): the model is scored on texts it "
        "has practically seen.",
    ),
    case(
        "text_near_duplicates-passes",
        "text_near_duplicates",
        {},
        text_evaluation(val=text_facts()),
        "passed",
        "0 of 500 sampled val texts nearly copy a training text (limit 2%).",
    ),
    case(
        "text_near_duplicates-n/a-few-texts",
        "text_near_duplicates",
        {"min_rows": 1000},
        text_evaluation(val=text_facts()),
        "not_applicable",
        "Not applicable: the val sample has 500 text(s), fewer than 1000.",
    ),
    case(
        "token_proxy-fails-lower-bar",
        "token_proxy",
        {"min_score": 0.6},
        text_evaluation(val=text_facts()),
        "failed",
        "Token 'great' alone predicts class '1' on val with ROC AUC 0.700 (in 20% of the texts): "
        "a word that gives the label away is usually an artefact of how the texts were collected "
        "(a template, a signature, a source tag) and will not be there in production.",
    ),
    case(
        "token_proxy-passes",
        "token_proxy",
        {},
        text_evaluation(val=text_facts()),
        "passed",
        "No token alone predicts the label on val with ROC AUC of 0.95 or more (strongest: "
        "'great' at 0.700).",
    ),
    case(
        "token_proxy-n/a-few-texts",
        "token_proxy",
        {"min_rows": 1000},
        text_evaluation(val=text_facts()),
        "not_applicable",
        "Not applicable: the val sample has 500 text(s), fewer than 1000.",
    ),
    case(
        "text_drift-fails-length",
        "text_drift",
        {},
        text_evaluation(val=text_facts(length_psi=0.9, length_ks_pvalue=1e-9, length_median=40.0)),
        "failed",
        "Train and val texts differ: texts are 40.0 words long (median) against 12.0 in training "
        "(PSI 0.900). The val numbers do not describe the texts the model was trained on.",
    ),
    case(
        "text_drift-passes-noise",
        "text_drift",
        {},
        text_evaluation(val=text_facts(length_psi=0.9, length_ks_pvalue=0.2)),
        "passed",
        "Train and val texts have similar lengths (PSI 0.900, limit 0.25) and vocabulary (1% of "
        "words unseen in training).",
    ),
    case(
        "text_drift-n/a-table",
        "text_drift",
        {},
        evaluation({"train": split_with_metrics("train"), "val": split_with_metrics("val")}),
        "not_applicable",
        "Not applicable: the model reads table input, not text.",
    ),
    # ---- leakage_identifier
    case(
        "leakage_identifier-fails-sorted-by-label",
        "leakage_identifier",
        {"require_predictive": True},
        identifier_rows("id"),
        "failed",
        "Feature 'id' looks like a row identifier (named like an identifier; 100% unique, nearly "
        "consecutive whole numbers; never decreases in file order) and predicts the label (ROC "
        f"AUC 0.999): {NO_MEANING}",
        threshold={"require_predictive": True, "min_score": 0.7},
    ),
    case(
        "leakage_identifier-fails-not-predictive",
        "leakage_identifier",
        {},
        identifier_rows("customer_id"),
        "failed",
        # 500 numbers out of a million: unique, but not consecutive; the name gives it away.
        "Feature 'customer_id' looks like a row identifier (named like an identifier): "
        f"{NO_MEANING}",
    ),
    case(
        "leakage_identifier-passes-not-predictive",
        "leakage_identifier",
        {"require_predictive": True},
        identifier_rows("customer_id"),
        "passed",
        "No model input is a predictive identifier.",
        observed={"identifier_columns": []},
    ),
    case(
        "leakage_identifier-passes-age",
        "leakage_identifier",
        {},
        identifier_rows("age"),
        "passed",
        "No model input is an identifier-like column.",
    ),
    case(
        "leakage_identifier-n/a-no-train",
        "leakage_identifier",
        {},
        with_rows({"val": normal_rows(100, seed=5)}, "abc"),
        "not_applicable",
        "Not applicable: no train split was given.",
    ),
    case(
        "leakage_identifier-n/a-one-row-train",
        "leakage_identifier",
        {},
        with_rows({"train": normal_rows(1, seed=5)}, "abc"),
        "not_applicable",
        "Not applicable: the train split has 1 row(s); the check needs 2 or more.",
    ),
    # ---- split_drift: identical features, class shares as given (see test_leakage.py for PSI).
    case(
        "split_drift-fails-class-shares",
        "split_drift",
        {},
        shifted_classes(160),
        "failed",
        # 100/100 in train, 40/160 in val: chi-square (with Yates' correction) 38.3, p 6.2e-10.
        "Train and val differ: class shares differ by 30% (chi-square p 6.2e-10). "
        f"{OTHER_POPULATION}",
        observed={
            "drifted_features": [],
            "max_psi": 0.0,
            "class_prior_shift": 0.3,
            "class_prior_pvalue": 6.214951730882236e-10,
        },
        threshold={"max_psi": 0.25, "alpha": 0.01, "max_prior_shift": 0.1},
    ),
    case(
        "split_drift-passes",
        "split_drift",
        {},
        shifted_classes(100),
        "passed",
        "Train and val have similar feature distributions (largest PSI 0, limit 0.25) and class "
        "shares (shift 0%).",
    ),
    case(
        "split_drift-passes-own-prior-limit",
        "split_drift",
        {"max_prior_shift": 0.35},
        shifted_classes(160),
        "passed",
        "Train and val have similar feature distributions (largest PSI 0, limit 0.25) and class "
        "shares (shift 30%).",
    ),
    case(
        # 50/50 in train, 38/62 in val: 12 points, but chi-square p 0.117 is no evidence at 0.01.
        "split_drift-passes-shift-within-noise",
        "split_drift",
        {},
        shifted_classes(62, n=100),
        "passed",
        "Train and val have similar feature distributions (largest PSI 0, limit 0.25) and class "
        "shares (shift 12%).",
        observed={"class_prior_shift": 0.12, "class_prior_pvalue": 0.1171245},
    ),
    case(
        "split_drift-fails-shift-own-alpha",
        "split_drift",
        {"alpha": 0.2},
        shifted_classes(62, n=100),
        "failed",
        f"Train and val differ: class shares differ by 12% (chi-square p 0.12). {OTHER_POPULATION}",
    ),
    case(
        "split_drift-n/a-too-few-rows",
        "split_drift",
        {},
        shifted_classes(40, n=80),
        "not_applicable",
        "Not applicable: needs at least 100 rows in train and val.",
    ),
    # ---- suspicious_validation: noise is 2.58 standard errors of the val loss.
    case(
        "suspicious_validation-fails-loss",
        "suspicious_validation",
        {},
        evaluation(
            {
                "train": metrics_split("train", loss=0.4),
                "val": metrics_split("val", loss=0.25, loss_standard_error=0.01, accuracy=0.9),
            }
        ),
        "failed",
        "Validation loss 0.250 is 37.5% below training loss 0.400 (31.1% after allowing 0.0258 for "
        "sampling noise): validation should not be easier than training. Check for validation "
        f"rows copied into training and for columns derived from the label. {BENIGN}",
        observed={"relative_margin": 0.375, "noise_margin": 0.025758293, "val_accuracy": 0.9},
        threshold={"max_relative_margin": 0.2, "min_gap": 0.02},
    ),
    case(
        "suspicious_validation-passes-within-noise",
        "suspicious_validation",
        {},
        evaluation(
            {
                "train": metrics_split("train", loss=0.4),
                "val": metrics_split("val", loss=0.3, loss_standard_error=0.05, accuracy=0.9),
            }
        ),
        "passed",
        "Validation loss 0.300 is not suspiciously below training loss 0.400 (beyond sampling "
        "noise of 0.129).",
    ),
    case(
        "suspicious_validation-passes-below-min-gap",
        "suspicious_validation",
        {},
        evaluation(
            {
                "train": metrics_split("train", loss=0.05),
                "val": metrics_split("val", loss=0.035, accuracy=0.99),
            }
        ),
        "passed",
        "Validation loss 0.0350 is not suspiciously below training loss 0.0500 (beyond sampling "
        "noise of 0).",
        observed={"relative_margin": 0.3},
    ),
    case(
        "suspicious_validation-fails-perfect-accuracy",
        "suspicious_validation",
        {},
        evaluation(
            {
                "train": metrics_split("train", loss=0.4, accuracy=0.9),
                "val": metrics_split("val", loss=0.38, accuracy=1.0),
            }
        ),
        "failed",
        "Validation accuracy is 100% on 100 rows, while a model as accurate as on training (90%) "
        "would score that with chance 1.1e-05: perfect validation is rare without leakage. "
        f"{BENIGN}",
    ),
    case(
        "suspicious_validation-passes-perfect-accuracy-by-chance",
        "suspicious_validation",
        {},
        evaluation(
            {
                "train": metrics_split("train", loss=0.4, accuracy=0.99),
                "val": metrics_split("val", loss=0.38, accuracy=1.0),
            }
        ),
        "passed",
        "Validation loss 0.380 is not suspiciously below training loss 0.400 (beyond sampling "
        "noise of 0); 100% accuracy on 100 rows has chance 0.14 at the training accuracy 99%.",
        observed={"chance_of_perfect_accuracy": (100 / 102) ** 100},
    ),
    case(
        "suspicious_validation-passes-small-split-within-both-errors",
        "suspicious_validation",
        {},
        evaluation(
            {
                # 30% lower and 0.03 below, but both mean losses are uncertain by 0.01.
                "train": metrics_split("train", loss=0.1, loss_standard_error=0.01),
                "val": metrics_split("val", loss=0.07, loss_standard_error=0.01, accuracy=0.98),
            }
        ),
        "passed",
        "Validation loss 0.0700 is not suspiciously below training loss 0.100 (beyond sampling "
        "noise of 0.0364).",
    ),
    case(
        "suspicious_validation-n/a-tiny-val",
        "suspicious_validation",
        {},
        evaluation(
            {
                "train": confusion_split("train", [[40, 10], [10, 40]], loss=0.4),
                "val": confusion_split("val", [[8, 2], [2, 8]], loss=0.2),
            }
        ),
        "not_applicable",
        "Not applicable: the val split has 20 row(s), fewer than 30.",
    ),
    case(
        "suspicious_validation-n/a-loss-unknown",
        "suspicious_validation",
        {},
        losses(0.4, None),
        "not_applicable",
        "Not applicable: needs the loss on the train and val splits.",
    ),
    case(
        "suspicious_validation-fails-test-split",
        "suspicious_validation",
        {"split": "test"},
        evaluation(
            {
                "train": metrics_split("train", loss=0.4),
                "test": metrics_split("test", loss=0.25, loss_standard_error=0.01, accuracy=0.9),
            }
        ),
        "failed",
        "Test loss 0.250 is 37.5% below training loss 0.400 (31.1% after allowing 0.0258 for "
        "sampling noise): validation should not be easier than training. Check for validation "
        f"rows copied into training and for columns derived from the label. {BENIGN}",
        observed={"test_loss": 0.25, "relative_margin": 0.375},
    ),
    case(
        "suspicious_validation-n/a-no-train",
        "suspicious_validation",
        {},
        val_only([[40, 10], [10, 40]]),
        "not_applicable",
        "Not applicable: needs the train and val splits.",
    ),
    # ---- against a baseline model ---------------------------------------------------------------
    case(
        "metric_regression-fails-accuracy-drop",
        "metric_regression",
        {"metric": "accuracy"},
        against(accuracies(0.9, 0.8), val={"accuracy": 0.85}),
        "failed",
        "Accuracy on val drops from 0.850 (baseline) to 0.800 (candidate), 0.0500 or 5.9% (limits "
        "0.01 and 0%): the candidate is worse than the model it would replace.",
        observed={"regressed": ["accuracy"]},
    ),
    case(
        "metric_regression-passes-accuracy-holds",
        "metric_regression",
        {"metric": "accuracy"},
        against(accuracies(0.9, 0.8), val={"accuracy": 0.795}),
        "passed",
        "Accuracy on val holds against the baseline (largest drop 0; limit 0.01).",
    ),
    case(
        "metric_regression-n/a-no-baseline",
        "metric_regression",
        {},
        losses(0.2, 0.3),
        "not_applicable",
        "Not applicable: no baseline (--baseline or --baseline-model) with a val split.",
    ),
    case(
        "loss_gap_regression-fails-gap-grew",
        "loss_gap_regression",
        {},
        against(losses(0.2, 0.4), val={"loss": 0.25}, train={"loss": 0.2}),
        "failed",
        "The train/val loss gap grew from 0.0500 (baseline) to 0.200 (candidate), by 0.150 (limit "
        "0.05): the candidate overfits more than the model it would replace.",
        observed={"candidate_gap": 0.2, "baseline_gap": 0.05, "growth": 0.15},
    ),
    case(
        "loss_gap_regression-passes-same-gap",
        "loss_gap_regression",
        {},
        against(losses(0.2, 0.4), val={"loss": 0.45}, train={"loss": 0.25}),
        "passed",
        "The train/val loss gap is 0.200 against the baseline's 0.200 (growth limit 0.05).",
    ),
    case(
        "loss_gap_regression-n/a-no-train-in-baseline",
        "loss_gap_regression",
        {},
        against(losses(0.2, 0.4), val={"loss": 0.45}),
        "not_applicable",
        "Not applicable: no baseline with train and val splits.",
    ),
]


def _approx(expected: Any) -> Any:
    if isinstance(expected, float):
        return pytest.approx(expected)
    if isinstance(expected, dict):
        return {k: _approx(v) for k, v in expected.items()}
    return expected


@pytest.mark.parametrize("c", CASES)
def test_rule_case(c: Case) -> None:
    outcome = KINDS[c.kind].fn(c.evaluation, params_for(c.kind, **c.params))
    assert (outcome.status, outcome.message) == (c.status, c.message)
    for key, value in (c.observed or {}).items():
        assert outcome.observed[key] == _approx(value), key
    if c.threshold is not None:
        assert dict(outcome.threshold) == _approx(c.threshold)


def test_table_covers_every_kind_and_verdict() -> None:
    seen = {(p.values[0].kind, p.values[0].status) for p in CASES}
    missing = {(kind, status) for kind in KINDS for status in VERDICTS} - seen
    assert not missing


# ---- known library bugs --------------------------------------------------------------------------


@pytest.mark.parametrize("train", [(0.66, 0.69), (0.75, 0.69)], ids=["4%-better", "9%-worse"])
def test_over_regularization_does_not_call_a_weak_fit_a_fit(train: tuple[float, float]) -> None:
    ev = regularized(l2=0.001, penalty=0.001, train=train)
    outcome = KINDS["over_regularization"].fn(ev, params_for("over_regularization"))
    assert outcome.status == "passed"  # a weak penalty is not over-regularization...
    assert "fits the data" not in outcome.message  # ...but the model does not fit the data either


def test_precision_floor_does_not_describe_predictions_never_made() -> None:
    ev = val_only([[8, 0], [4, 0]])  # class '1' is never predicted: its precision is undefined
    outcome = KINDS["precision_floor"].fn(ev, params_for("precision_floor"))
    assert "of the rows it labels '1' are something else" not in outcome.message


def test_underfitting_does_not_call_a_far_higher_loss_close() -> None:
    ev = weighted_train(negative=0.45, positive=0.55)  # log loss 0.598 vs baseline 0.325
    outcome = KINDS["underfitting"].fn(ev, params_for("underfitting"))
    assert outcome.status == "passed"
    assert "close to the baseline" not in outcome.message


def test_underfitting_passes_strongly_class_weighted_model() -> None:
    # Log loss 84% above the baseline's, yet every positive outranks every negative.
    outcome = KINDS["underfitting"].fn(weighted_train(0.45, 0.55), params_for("underfitting"))
    assert outcome.status == "passed"
    assert outcome.observed["loss_improvement"] == pytest.approx(
        1 - 0.5978370 / 0.3250830, abs=1e-6
    )
    assert outcome.observed["train_roc_auc"] == 1.0


# ---- common tests over every kind ----------------------------------------------------------------

THREE = [[8, 1, 1], [1, 8, 1], [1, 1, 8]]
COMMON_EVALUATIONS: dict[str, Callable[[], Evaluation]] = {
    "no-splits": lambda: evaluation({}),
    "train-only": lambda: train_only([[50, 10], [10, 30]]),
    "single-class-val": lambda: evaluation(
        {
            "train": confusion_split("train", [[50, 10], [10, 30]]),
            "val": confusion_split("val", [[15, 5], [0, 0]]),
        }
    ),
    "single-class-train-and-val": lambda: evaluation(
        {
            "train": confusion_split("train", [[0, 0], [5, 15]]),
            "val": confusion_split("val", [[0, 0], [2, 8]]),
        }
    ),
    "multiclass": lambda: evaluation(
        {
            name: confusion_split(name, THREE, ANIMALS, loss=0.4)
            for name in ("train", "val", "test")
        },
        ANIMALS,
    ),
    "multiclass-class-missing-from-val": lambda: evaluation(
        {
            "train": confusion_split("train", THREE, ANIMALS),
            "val": confusion_split("val", [[8, 1, 1], [1, 8, 1], [0, 0, 0]], ANIMALS),
        },
        ANIMALS,
    ),
}
ARCHITECTURES = {
    "no-penalty": (architecture(), None),
    "strong-l2": (architecture(l2=5.0), 0.5),
    "savedmodel": (architecture(l2=5.0, readable=False), None),
}


@functools.cache
def common_evaluation(name: str) -> Evaluation:
    """Built once: kinds are pure functions, and the multiclass metrics take a while to compute."""
    return COMMON_EVALUATIONS[name]()


def with_architecture(ev: Evaluation, arch: str) -> Evaluation:
    found, penalty = ARCHITECTURES[arch]
    return dataclasses.replace(ev, architecture=found, regularization_penalty=penalty)


def param_variants(kind: str) -> list[dict[str, Any]]:
    """Defaults, then each choice of each parameter with choices, and a few `classes` values."""
    variants: list[dict[str, Any]] = [params_for(kind)]
    for key, param in KINDS[kind].params.items():
        values: list[Any] = list(param.choices or ())
        if param.type == "classes":
            values = ["all", "positive", ["1"], ["cat", "fox"]]
        variants += [params_for(kind, **{key: value}) for value in values]
    return variants


def assert_valid(outcome: Any) -> None:
    assert outcome.status in VERDICTS
    assert isinstance(outcome.message, str) and outcome.message.endswith(".")
    assert (outcome.status == "not_applicable") == outcome.message.startswith("Not applicable: ")
    assert not re.search(r"\b(nan|None|inf)\b", outcome.message), outcome.message
    # Observed values and thresholds go to report.json as they are.
    json.dumps({"observed": outcome.observed, "threshold": outcome.threshold}, allow_nan=False)


@pytest.mark.parametrize("ev_name", COMMON_EVALUATIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_kind_gives_a_verdict_on_partial_input(kind: str, ev_name: str) -> None:
    base = common_evaluation(ev_name)
    for arch in ARCHITECTURES:
        ev = with_architecture(base, arch)
        for params in param_variants(kind):
            assert_valid(KINDS[kind].fn(ev, params))


@pytest.mark.parametrize("kind", KINDS)
def test_kind_is_not_applicable_without_splits(kind: str) -> None:
    ev = with_architecture(evaluation({}), "strong-l2")
    assert KINDS[kind].fn(ev, params_for(kind)).status == "not_applicable"


@pytest.mark.parametrize("kind", [k for k, spec in KINDS.items() if "split" in spec.params])
def test_kind_is_not_applicable_on_an_absent_split(kind: str) -> None:
    ev = with_architecture(common_evaluation("single-class-val"), "strong-l2")
    outcome = KINDS[kind].fn(ev, params_for(kind, split="test"))
    assert outcome.status == "not_applicable"
    assert "test" in outcome.message


def rule(
    rule_id: str, kind: str, severity: str = "error", enabled: bool = True, **params: Any
) -> Rule:
    return Rule(
        id=rule_id,
        kind=kind,
        severity=severity,
        params=params_for(kind, **params),
        summary=f"{kind} summary",
        why=f"{kind} why",
        what_to_do=f"{kind} what to do",
        category=KINDS[kind].category,
        enabled=enabled,
    )


def rule_set(*rules: Rule) -> RuleSet:
    return RuleSet(name="test", version="0", source="<test>", rules=rules)


@pytest.mark.parametrize("ev_name", COMMON_EVALUATIONS)
def test_run_rules_never_errors_on_partial_input(ev_name: str) -> None:
    rules = rule_set(*(rule(f"R{i}", kind) for i, kind in enumerate(KINDS)))
    for arch in ARCHITECTURES:
        results = run_rules(with_architecture(common_evaluation(ev_name), arch), rules)
        assert [r.rule.id for r in results] == [r.id for r in rules.rules]
        for result in results:
            assert result.status in VERDICTS, (result.rule.kind, result.message)


# ---- the engine ----------------------------------------------------------------------------------


def test_kind_that_raises_becomes_an_error_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(ev: Evaluation, params: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(KINDS, "loss_gap", dataclasses.replace(KINDS["loss_gap"], fn=broken))
    rules = rule_set(
        rule("CA01", "calibration_error"),
        rule("OF01", "loss_gap"),
        rule("OF02", "loss_gap", enabled=False),
        rule("CI01", "class_imbalance", split="val"),
    )
    results = run_rules(val_only([[30, 20], [20, 30]], confidence=0.9), rules)
    assert [(r.rule.id, r.status) for r in results] == [
        ("CA01", "failed"),
        ("OF01", "error"),
        ("CI01", "passed"),
    ]
    error = results[1]
    assert error.message == "The check raised ZeroDivisionError: boom"
    assert (dict(error.observed), dict(error.threshold)) == ({}, {})
    assert results[0].message.startswith("Predicted probabilities on val are off by 30% on average")


def test_run_rules_copies_the_outcome() -> None:
    rules = rule_set(rule("OF01", "loss_gap", severity="warning"))
    (result,) = run_rules(losses(0.27, 0.61), rules)
    outcome = KINDS["loss_gap"].fn(losses(0.27, 0.61), rules.rules[0].params)
    assert result.rule is rules.rules[0]
    assert (result.status, result.message, result.observed, result.threshold) == (
        outcome.status,
        outcome.message,
        outcome.observed,
        outcome.threshold,
    )
    assert result.failed
    assert result.to_dict()["severity"] == "warning"


def verdict(rule_id: str, severity: str, status: str) -> RuleResult:
    return RuleResult(rule=rule(rule_id, "loss_gap", severity=severity), status=status, message="m")


BLOCKING_RESULTS = [
    verdict("I-failed", "info", "failed"),
    verdict("W-failed", "warning", "failed"),
    verdict("E-failed", "error", "failed"),
    verdict("I-error", "info", "error"),
    verdict("W-error", "warning", "error"),
    verdict("E-passed", "error", "passed"),
    verdict("E-n/a", "error", "not_applicable"),
    verdict("E-waived", "error", "waived"),
]


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        ("info", ["I-failed", "W-failed", "E-failed", "I-error", "W-error"]),
        ("warning", ["W-failed", "E-failed", "W-error"]),
        ("error", ["E-failed"]),
        ("never", []),
    ],
)
def test_blocking(fail_on: str, expected: list[str]) -> None:
    assert [r.rule.id for r in blocking(BLOCKING_RESULTS, fail_on)] == expected
    assert blocking([], fail_on) == []
