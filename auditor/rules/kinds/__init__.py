"""The registry of rule kinds: one explicit table from kind name to function, category, params."""

from __future__ import annotations

from auditor.rules.kinds.balance import class_imbalance
from auditor.rules.kinds.context import leakage_group, leakage_temporal
from auditor.rules.kinds.leakage import (
    duplicate_rows,
    leakage_duplicates,
    leakage_identifier,
    leakage_target_proxy,
    split_drift,
    suspicious_validation,
)
from auditor.rules.kinds.performance import (
    METRIC_CHOICES,
    accuracy_paradox,
    calibration_error,
    loss_gap,
    metric_gap,
    over_regularization,
    precision_floor,
    recall_floor,
    underfitting,
)
from auditor.rules.kinds.regression import loss_gap_regression, metric_regression
from auditor.rules.kinds.text import text_drift, text_near_duplicates, token_proxy
from auditor.rules.types import Kind, Param
from auditor.vocabulary import Category

SPLITS = ("train", "val", "test")


def _split(default: str = "val") -> Param:
    return Param("split", "split to judge", default=default, choices=SPLITS)


def _judge(default: str = "point") -> Param:
    return Param(
        "string",
        "judge the point estimate, or the lower/upper bound of its confidence interval",
        default=default,
        choices=("point", "lower_bound", "upper_bound"),
    )


def _confidence(default: float = 0.95) -> Param:
    return Param(
        "number", "confidence level of the interval", default=default, minimum=0.5, maximum=0.999
    )


def _count(help_text: str, default: int) -> Param:
    return Param("integer", help_text, default=default, minimum=1)


def _fraction(help_text: str, default: float | None = None) -> Param:
    return Param(
        "number", help_text, default=default, required=default is None, minimum=0.0, maximum=1.0
    )


KINDS: dict[str, Kind] = {
    "loss_gap": Kind(
        loss_gap,
        Category.OVERFITTING,
        "Data loss on the judged split minus training loss (absolute and relative).",
        {
            "split": _split(),
            "max_gap": Param("number", "largest allowed absolute gap", default=0.15, minimum=0.0),
            "max_relative_gap": Param(
                "number", "largest allowed gap relative to training loss", default=0.25, minimum=0.0
            ),
            # Beyond sampling noise by default: the lower end of the gap's interval is judged.
            "judge": _judge("lower_bound"),
            "confidence": _confidence(),
        },
    ),
    "metric_gap": Kind(
        metric_gap,
        Category.OVERFITTING,
        "Drop of a higher-is-better metric from train to the judged split.",
        {
            "split": _split(),
            "metric": Param(
                "string", "metric to compare", default="accuracy", choices=METRIC_CHOICES
            ),
            "max_gap": _fraction("largest allowed drop", 0.05),
            "judge": _judge("lower_bound"),
            "confidence": _confidence(),
        },
    ),
    "recall_floor": Kind(
        recall_floor,
        Category.RECALL_FLOOR,
        "Recall of each selected class on the judged split.",
        {
            "split": _split(),
            "min_recall": _fraction("lowest acceptable recall"),
            "classes": Param("classes", "which classes to check", default="all"),
            "judge": _judge(),
            "confidence": _confidence(),
        },
    ),
    "precision_floor": Kind(
        precision_floor,
        Category.PRECISION_FLOOR,
        "Precision of each selected class on the judged split.",
        {
            "split": _split(),
            "min_precision": _fraction("lowest acceptable precision"),
            "classes": Param("classes", "which classes to check", default="all"),
            "judge": _judge(),
            "confidence": _confidence(),
        },
    ),
    "class_imbalance": Kind(
        class_imbalance,
        Category.CLASS_IMBALANCE,
        "Ratio of the largest to the smallest class.",
        {
            "split": _split("train"),
            "max_ratio": Param(
                "number", "largest allowed majority/minority ratio", default=10.0, minimum=1.0
            ),
        },
    ),
    "accuracy_paradox": Kind(
        accuracy_paradox,
        Category.ACCURACY_PARADOX,
        "High accuracy that comes from the majority class, not from the model.",
        {
            "split": _split(),
            "max_lift": _fraction(
                "accuracy above the majority baseline that still counts as 'near'", 0.02
            ),
            "min_minority_recall": _fraction("recall a minority class needs", 0.5),
            "high_accuracy": _fraction("accuracy that counts as 'high'", 0.9),
            "min_balanced_accuracy": _fraction("balanced accuracy a high accuracy needs", 0.7),
        },
    ),
    "underfitting": Kind(
        underfitting,
        Category.UNDERFITTING,
        "Training loss near the class-frequency baseline and ranking near chance.",
        {
            "min_loss_improvement": _fraction(
                "relative log-loss improvement over the baseline", 0.1
            ),
            "min_roc_auc": _fraction("training ROC AUC that shows real ranking", 0.65),
        },
    ),
    "over_regularization": Kind(
        over_regularization,
        Category.UNDERFITTING,
        "Train and validation loss both near the baseline while a strong L1/L2 penalty is active.",
        {
            "split": _split(),
            "min_loss_improvement": _fraction(
                "relative log-loss improvement a fitted model shows", 0.3
            ),
            "min_penalty_share": _fraction("share of the training objective that is penalty", 0.2),
            "strong_coefficient": Param(
                "number", "an L1/L2 coefficient that counts as strong", default=0.1, minimum=0.0
            ),
        },
    ),
    "calibration_error": Kind(
        calibration_error,
        Category.CALIBRATION,
        "Expected calibration error of the predicted probabilities.",
        {
            "split": _split(),
            "max_ece": _fraction("largest allowed expected calibration error", 0.1),
        },
    ),
    "leakage_duplicates": Kind(
        leakage_duplicates,
        Category.LEAKAGE_DUPLICATES,
        "Rows of the judged split that also appear in the training split, exactly or nearly.",
        {
            "split": _split(),
            "max_shared_fraction": _fraction("largest allowed share of exact duplicates", 0.01),
            "max_near_fraction": _fraction("largest allowed share of near duplicates", 0.05),
            "min_rows": _count("fewest rows for the check to apply", 1),
        },
        facts="shared_rows",
    ),
    "duplicate_rows": Kind(
        duplicate_rows,
        Category.LEAKAGE_DUPLICATES,
        "Duplicate rows within one split, and identical rows with different labels.",
        {
            "split": _split("train"),
            "max_fraction": _fraction("largest allowed share of duplicates", 0.05),
        },
        facts="duplicates",
    ),
    "leakage_group": Kind(
        leakage_group,
        Category.LEAKAGE_GROUP,
        "Rows of the judged split whose group (patient, customer, device: --group-column) also "
        "occurs in the training split.",
        {
            "split": _split(),
            "columns": Param(
                "columns",
                "group columns to judge, read beside the features (default: every --group-column)",
                default=[],
            ),
            "max_shared_fraction": _fraction(
                "largest allowed share of rows whose group occurs in train", 0.01
            ),
        },
        facts="groups",
    ),
    "leakage_temporal": Kind(
        leakage_temporal,
        Category.LEAKAGE_TEMPORAL,
        "Rows of the judged split earlier than the latest training row (--time-column), and the "
        "label rate over time.",
        {
            "split": _split(),
            "max_earlier_fraction": _fraction(
                "largest allowed share of rows earlier than the latest training row", 0.05
            ),
        },
        facts="temporal",
    ),
    "leakage_target_proxy": Kind(
        leakage_target_proxy,
        Category.LEAKAGE_TARGET_PROXY,
        "A feature, or a set of them, that predicts the label almost alone and that the model "
        "relies on.",
        {
            "split": _split(),
            "min_score": _fraction("single-feature ROC AUC that counts as 'almost alone'", 0.95),
            "min_margin": _fraction(
                "how much better than the others: the model without the candidates (accuracy), "
                "or the features that are no candidate (ROC AUC, when no model was measured)",
                0.05,
            ),
            "min_reliance": _fraction(
                "accuracy the model loses with the candidate(s) shuffled that counts as relying",
                0.05,
            ),
            "min_accuracy": _fraction(
                "accuracy of a candidate alone on the whole label that counts as near-certain",
                0.95,
            ),
            "min_rows": _count("fewest sampled rows for the check to apply", 50),
            "max_candidates": _count(
                "strongest features judged against the rest (at most the evaluation's "
                "proxy_candidates are compared)",
                5,
            ),
        },
        facts="proxies",
    ),
    "leakage_identifier": Kind(
        leakage_identifier,
        Category.LEAKAGE_IDENTIFIER,
        "Model inputs that look like row identifiers (name, unique whole numbers, monotonic).",
        {
            "require_predictive": Param(
                "bool", "fail only when the identifier also predicts the label", default=False
            ),
            "min_score": _fraction("single-feature ROC AUC that counts as predictive", 0.7),
        },
        facts="identifiers",
    ),
    "split_drift": Kind(
        split_drift,
        Category.SPLIT_DRIFT,
        "Feature distributions (PSI, Kolmogorov-Smirnov) and class shares that differ between "
        "train and the split.",
        {
            "split": _split(),
            "max_psi": Param(
                "number", "largest allowed population stability index", default=0.25, minimum=0.0
            ),
            "alpha": _fraction("KS significance level, shared over the features", 0.01),
            "max_prior_shift": _fraction(
                "largest allowed total variation between class shares", 0.1
            ),
            "min_rows": _count("fewest sampled rows per split for the check to apply", 100),
        },
        facts="drift",
    ),
    "text_near_duplicates": Kind(
        text_near_duplicates,
        Category.LEAKAGE_DUPLICATES,
        "Texts of the split that nearly copy a training text (MinHash over word shingles).",
        {
            "split": _split(),
            "max_fraction": _fraction("largest allowed share of near copies", 0.02),
            "min_rows": _count("fewest sampled texts for the check to apply", 50),
        },
        facts="text",
    ),
    "token_proxy": Kind(
        token_proxy,
        Category.LEAKAGE_TARGET_PROXY,
        "A token whose presence alone predicts a class almost perfectly.",
        {
            "split": _split(),
            "min_score": _fraction("ROC AUC of the token's presence that counts as alone", 0.95),
            "min_rows": _count("fewest sampled texts for the check to apply", 50),
        },
        facts="text",
    ),
    "text_drift": Kind(
        text_drift,
        Category.SPLIT_DRIFT,
        "Text lengths (PSI, Kolmogorov-Smirnov) and the share of words unseen in training.",
        {
            "split": _split(),
            "max_psi": Param(
                "number", "largest allowed PSI of the length in words", default=0.25, minimum=0.0
            ),
            "alpha": _fraction("KS significance level", 0.01),
            "max_oov_increase": _fraction(
                "largest allowed rise of the out-of-vocabulary share over training's own", 0.1
            ),
            "min_rows": _count("fewest sampled texts per split for the check to apply", 100),
        },
        facts="text",
    ),
    "suspicious_validation": Kind(
        suspicious_validation,
        Category.SUSPICIOUS_VALIDATION,
        "Validation loss well below training loss, or perfect validation accuracy.",
        {
            "split": _split(),
            "max_relative_margin": _fraction(
                "how far below training loss validation loss may be", 0.2
            ),
            "min_gap": Param(
                "number", "smallest absolute loss difference that counts", default=0.02, minimum=0.0
            ),
            "confidence": _confidence(0.99),
            "min_rows": _count("fewest rows for the check to apply", 30),
        },
    ),
    "metric_regression": Kind(
        metric_regression,
        Category.REGRESSION,
        "Drop of a metric (or of each class's metric) from the baseline model to the candidate.",
        {
            "split": _split(),
            "metric": Param(
                "string", "metric to compare", default="roc_auc", choices=METRIC_CHOICES
            ),
            "per_class": Param(
                "bool",
                "compare the metric of every class (precision, recall, f1, roc_auc, pr_auc)",
                default=False,
            ),
            "max_drop": _fraction("largest allowed absolute drop", 0.01),
            "max_relative_drop": _fraction("largest allowed drop relative to the baseline", 0.0),
        },
    ),
    "loss_gap_regression": Kind(
        loss_gap_regression,
        Category.REGRESSION,
        "Growth of the train/val loss gap from the baseline model to the candidate.",
        {
            "split": _split(),
            "max_growth": Param(
                "number", "largest allowed growth of the gap", default=0.05, minimum=0.0
            ),
        },
    ),
}
