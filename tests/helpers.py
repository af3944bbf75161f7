"""Builders of hand-made Evaluations for rule tests: no Keras, known answers."""

from __future__ import annotations

from typing import Any

import numpy as np

from auditor.evaluate import Evaluation, SplitEvaluation
from auditor.loading.architecture import Architecture, LayerFacts, Penalty
from auditor.loading.model import ModelInfo
from auditor.metrics import PredictionSums, baseline_metrics, measure


def model_info(n_classes: int = 2, loss: str = "binary_crossentropy") -> ModelInfo:
    return ModelInfo(
        path="model.keras",
        format="keras",
        name="model",
        task="binary" if n_classes == 2 else "multiclass",
        n_classes=n_classes,
        output="probability",
        input_names=("x",),
        named_inputs=False,
        n_features=3,
        input_shape=(None, 3),
        parameter_count=10,
        loss=loss,
        loss_source="compiled",
    )


def architecture(l2: float = 0.0, l1: float = 0.0, readable: bool = True) -> Architecture:
    reg = Penalty(l1=l1, l2=l2) if (l1 or l2) else None
    kernel = np.ones((3, 4), dtype=np.float32)
    return Architecture(
        layers=(
            LayerFacts(
                "dense", "Dense", units=4, activation="relu", kernel_regularizer=reg, kernel=kernel
            ),
            LayerFacts(
                "out", "Dense", units=1, activation="sigmoid", kernel=np.ones((4, 1), np.float32)
            ),
        ),
        config_readable=readable,
    )


def split_from_predictions(
    name: str,
    y: np.ndarray,
    proba: np.ndarray,
    classes: tuple[str, ...],
    priors: np.ndarray | None = None,
    loss: float | None = None,
) -> SplitEvaluation:
    """A SplitEvaluation computed exactly as the evaluator does, from labels and probabilities."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    if priors is None:
        priors = np.bincount(y, minlength=len(classes)) / len(y)
    if loss is None:
        clipped = np.clip(proba[np.arange(len(y)), y], 1e-7, 1)
        loss = float(-np.log(clipped).mean())
    metrics, curves, matrix = measure(y, proba, classes, loss=loss)
    baseline = baseline_metrics(np.bincount(y, minlength=len(priors)), priors)
    baseline["majority_class"] = classes[int(np.argmax(priors))]
    counts = np.bincount(y, minlength=len(classes))
    return SplitEvaluation(
        name=name,
        path=f"{name}.csv",
        n_rows=len(y),
        class_counts={c: int(n) for c, n in zip(classes, counts, strict=True)},
        metrics=metrics,
        confusion_matrix=matrix,
        baseline=baseline,
        y=y,
        proba=proba,
        curves=curves,
        sums=PredictionSums.of(y, proba),
    )


def split_with_metrics(
    name: str, classes: tuple[str, ...] = ("0", "1"), **overrides: Any
) -> SplitEvaluation:
    """A plausible split whose metrics are then overridden by keyword (for threshold tests)."""
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 40)
    p = np.clip(y * 0.7 + rng.uniform(0, 0.3, len(y)), 0, 1)
    split = split_from_predictions(name, y, p, classes)
    metrics = dict(split.metrics)
    per_class = overrides.pop("per_class", None)
    metrics.update(overrides)
    if per_class:
        metrics["per_class"] = {
            c: {**v, **per_class.get(c, {})} for c, v in metrics["per_class"].items()
        }
    return SplitEvaluation(**{**split.__dict__, "metrics": metrics})


def evaluation(
    splits: dict[str, SplitEvaluation],
    classes: tuple[str, ...] = ("0", "1"),
    arch: Architecture | None = None,
    penalty: float | None = None,
) -> Evaluation:
    return Evaluation(
        model=model_info(len(classes)),
        classes=classes,
        features=("a", "b", "c"),
        splits=splits,
        architecture=arch or architecture(),
        regularization_penalty=penalty,
    )


def text_facts(**values: Any) -> Any:
    """Hand-built text facts of one split (`auditor.facts.text.TextFacts`): clean by default."""
    from auditor.facts.text import TextFacts

    clean: dict[str, Any] = {
        "sample_rows": 500,
        "near_checked": 500,
        "near_copies": 0,
        "near_unavailable": None,
        "near_examples": (),
        "tokens": ({"token": "great", "class": "1", "score": 0.7, "text_share": 0.2},),
        "length_psi": 0.02,
        "length_ks_pvalue": 0.5,
        "length_median": 12.0,
        "train_length_median": 12.0,
        "oov_share": 0.01,
        "train_oov_share": 0.02,
        "method": "text",
    }
    return TextFacts(**{**clean, **values})


def text_evaluation(**by_split: Any) -> Evaluation:
    """A train/val evaluation of a text model whose text facts are BY_SPLIT (split -> facts)."""
    import dataclasses

    from auditor.facts.data import DataFacts
    from auditor.loading.inputs import InputSpec

    y = np.arange(100) % 2
    splits = {
        name: split_from_predictions(name, y, np.full((100, 2), 0.5), ("0", "1"))
        for name in ("train", "val")
    }
    info = dataclasses.replace(model_info(), inputs=(InputSpec("review", (None, 1), "string"),))
    return dataclasses.replace(evaluation(splits), model=info, data=DataFacts(text=dict(by_split)))
