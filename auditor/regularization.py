"""Advice: reads the model's regularization and weights and recommends concrete L1/L2 changes.

The logic (documented in the README):
- overfitting (a failed `overfitting` rule) -> more regularization: L1 on the first layer when it
  is a Dense layer on named input features and many of them carry little weight (feature
  selection), otherwise L2 on the hidden weighted layers (Dense, convolutions, embeddings,
  recurrent layers' kernels and recurrent kernels), with dropout suited to the layer type when
  the model has none; the new
  strength is scaled from the current one (x10 for an error-level gap, x3 for a warning), and is at
  least the strength whose penalty, at the current weights, equals half the train/val loss gap;
- under-fitting with an active L1/L2 penalty -> decrease it (divide by 10, at most 0.01) or remove
  it when the penalty is most of the training objective; under-fitting without one -> regularization
  is not the lever;
- no overfitting or under-fitting -> no regularization change, said explicitly;
- a failed recall/precision floor or accuracy paradox -> first the decision threshold (the one that
  meets the recall floor on the validation PR curve) and class weights, then L1 vs L2;
- a training history whose validation loss was lowest well before the last epoch and rose after it
  -> early stopping on validation loss, restoring the best weights (before L1/L2 when overfit:
  the history shows where training should have stopped);
- a failed leakage rule of error severity -> no advice at all, said explicitly: every gap and
  floor above was measured on leaked rows, so the split is fixed first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.evaluation import DEFAULT_RECALL_FLOOR
from auditor.facts.data import SIGNAL, Request
from auditor.facts.weights import WeightAnalysis
from auditor.loading.architecture import (
    CONV_CLASSES,
    RECURRENT_CLASSES,
    Architecture,
    LayerFacts,
    kernel_argument,
)
from auditor.numbers import significant
from auditor.rules.engine import invalidating
from auditor.rules.types import RuleResult, severity_rank
from auditor.vocabulary import Severity, Status

if TYPE_CHECKING:  # only for annotations: advice needs no data loading
    from auditor.evaluation import Evaluation, SplitEvaluation

MANY_IGNORED = 0.3  # L1 is preferred when at least this share of input features is ignored
MAX_DECREASED = 1e-2  # top of the usual L1/L2 range for dense layers
WEAK_SIGNAL = 0.55  # single-feature ROC AUC below which a feature says little about the label
# Early stopping: the best validation epoch is "well before the last" when at least this many
# epochs, and this share of all epochs, followed it; the loss "rose" when each of the last
# RISE_EPOCHS epochs is above the best by RISE_SHARE of it (and by RISE_MIN in absolute terms).
AFTER_BEST_EPOCHS, AFTER_BEST_SHARE = 5, 0.2
RISE_EPOCHS, RISE_SHARE, RISE_MIN = 3, 0.1, 0.01
PATIENCE_RANGE = (3, 20)
THRESHOLD_ACTIONS = ("adjust_threshold", "class_weight")
DENSE_CLASSES = ("Dense", "EinsumDense", "unknown")
REGULARIZABLE = DENSE_CLASSES + CONV_CLASSES + RECURRENT_CLASSES + ("Embedding",)
RNN_DROPOUT = 0.2  # the usual first try for an RNN's dropout and recurrent_dropout


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
        """Return the recommendation as report.json holds it."""
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


def nice(value: float) -> float:
    """Round a strength to one significant digit on the 1-2-5 grid (1e-4, 2e-4, 5e-4, 1e-3...)."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    exponent = math.floor(math.log10(value))
    mantissa = value / 10**exponent
    step = min((1, 2, 5, 10), key=lambda m: abs(math.log(mantissa / m)))
    return float(f"{step * 10**exponent:.0e}")


def _strength(value: float) -> str:
    """Write a strength as people do: 0, 1e-4, 5e-3, 0.1, 5."""
    if value == 0:
        return "0"
    if value >= 0.1:
        return f"{value:g}"
    return f"{value:.0e}".replace("e-0", "e-")


def _dense_layers(arch: Architecture) -> list[LayerFacts]:
    """Return the layers an L1/L2 penalty on their weights regularizes, in model order."""
    return [layer for layer in arch.weighted_layers if layer.class_name in REGULARIZABLE]


def _failed(results: Sequence[RuleResult], *categories: str) -> list[RuleResult]:
    return [r for r in results if r.status == Status.FAILED and r.rule.category in categories]


def _l1l2(l1: float, l2: float) -> str:
    return f"keras.regularizers.L1L2(l1={_strength(l1)}, l2={_strength(l2)})"


def _activation(layer: LayerFacts) -> str:
    act = layer.activation
    return f'activation="{act}", ' if act and act != "linear" else ""


def _layer_call(
    layer: LayerFacts, l1: float, l2: float, rnn_dropout: bool, recurrent: tuple[float, float]
) -> str:
    """One layer's constructor with the suggested penalty, written for its type."""
    cls, name = layer.class_name, f'name="{layer.name}"'
    reg = f"{kernel_argument(cls)}={_l1l2(l1, l2)}"
    if cls in CONV_CLASSES:
        size = layer.kernel_size or ()
        kernel = f"{size[0]}" if len(size) == 1 else f"{tuple(size)}"
        filters = f"{layer.filters}, " if layer.filters else ""
        return f"keras.layers.{cls}({filters}{kernel}, {_activation(layer)}{name},\n    {reg})"
    if cls == "Embedding":
        dims = ", ".join(str(d) for d in (layer.input_dim, layer.output_dim) if d)
        return f"keras.layers.Embedding({dims}, {name},\n    {reg})"
    if cls in RECURRENT_CLASSES:
        units = f"{layer.units}, " if layer.units else ""
        lines = [f"keras.layers.{cls}({units}{name},", f"    {reg},"]
        lines.append(f"    recurrent_regularizer={_l1l2(*recurrent)},")
        if rnn_dropout:
            lines.append(f"    dropout={RNN_DROPOUT:g}, recurrent_dropout={RNN_DROPOUT:g},")
        return "\n".join(lines)[:-1] + ")"
    if cls == "Dense":
        units = f"{layer.units}, " if layer.units else ""
        return f"keras.layers.Dense({units}{_activation(layer)}{name},\n    {reg})"
    return f"# layer '{layer.name}' ({cls}): pass {reg}"


def _snippet(
    layers: Sequence[LayerFacts],
    values: dict[str, tuple[float, float]],
    rnn_dropout: bool = False,
    recurrent: dict[str, tuple[float, float]] | None = None,
) -> str:
    """Keras code for LAYERS with the (l1, l2) VALUES on their kernels.

    A recurrent layer's recurrent kernel gets RECURRENT's values, by default the kernel's L2 (the
    recurrent kernel is where an RNN memorizes sequences).
    """
    lines = ["import keras", ""]
    for layer in layers:
        l1, l2 = values[layer.name]
        rec = (recurrent or {}).get(layer.name, (0.0, l2))
        lines.append(_layer_call(layer, l1, l2, rnn_dropout, rec))
    return "\n".join(lines)


def _no_dropout(arch: Architecture) -> bool:
    return not any(
        (layer.dropout_rate or 0) > 0 or (layer.recurrent_dropout or 0) > 0 for layer in arch.layers
    )


def _dropout_advice(arch: Architecture, targets: Sequence[LayerFacts]) -> str:
    """Return the dropout advice for the layer types being regularized, when there is none."""
    if not _no_dropout(arch):
        return ""
    kinds = {layer.class_name for layer in targets}
    parts = []
    conv = sorted(kinds & set(CONV_CLASSES))
    if conv:
        spatial = ", ".join(f"SpatialDropout{c[-2:]}(0.1-0.2)" for c in conv)
        parts.append(f"a {spatial} after the convolution blocks")
    if kinds & set(RECURRENT_CLASSES):
        parts.append(
            f"dropout={RNN_DROPOUT:g} and recurrent_dropout={RNN_DROPOUT:g} on the recurrent layers"
        )
    if kinds & set(DENSE_CLASSES) or not parts:
        parts.append("a Dropout(0.2-0.5) after the hidden dense layers")
    return f" The model has no dropout either; {' and '.join(parts)} is a complementary fix."


def _current(layer: LayerFacts) -> tuple[float, float]:
    reg = layer.kernel_regularizer
    return (reg.l1, reg.l2) if reg is not None else (0.0, 0.0)


def _gap(ev: Evaluation) -> float | None:
    train, val = ev.metric("train", "loss"), ev.metric("val", "loss")
    return None if train is None or val is None else val - train


def _more_regularization(
    ev: Evaluation, weights: WeightAnalysis, overfit: list[RuleResult]
) -> Recommendation:
    arch = ev.architecture
    dense = _dense_layers(arch)
    gap = max(_gap(ev) or 0.0, 0.0)
    severe = any(r.rule.severity == Severity.ERROR for r in overfit)
    factor = 10.0 if severe else 3.0
    ids = tuple(sorted({r.rule.id for r in overfit}))
    evidence = [f"{r.rule.id}: {r.message}" for r in overfit]
    by_name = {w.name: w for w in weights.layers}
    n_features = len(weights.feature_mass)
    ignored_share = len(weights.ignored_features) / n_features if n_features else 0.0
    signal = ev.data.signal.get("train", {})
    weak = [f for f, score in signal.items() if score < WEAK_SIGNAL]
    weak_share = len(weak) / len(signal) if signal else 0.0
    # Feature selection needs a first layer whose rows are named features: a Dense one.
    use_l1 = (
        n_features >= 5
        and (ignored_share >= MANY_IGNORED or weak_share >= MANY_IGNORED)
        and bool(dense)
        and dense[0].class_name in DENSE_CLASSES
    )

    if use_l1:
        first = dense[0]
        l1, l2 = _current(first)
        from_gap = 0.5 * gap / max(by_name[first.name].l1_norm, 1e-12)
        new_l1 = nice(max(l1 * factor, from_gap)) if l1 > 0 else nice(from_gap)
        action = "increase_l1" if l1 > 0 else "add_l1"
        if weights.ignored_features:
            shown = ", ".join(weights.ignored_features[:8]) + (
                " ..." if len(weights.ignored_features) > 8 else ""
            )
            evidence.append(
                f"{len(weights.ignored_features)} of {n_features} input features "
                f"get less than half an equal share of the first layer's weight ({shown})"
            )
        if weak:
            shown = ", ".join(weak[:8]) + (" ..." if len(weak) > 8 else "")
            evidence.append(
                f"{len(weak)} of {len(signal)} varying features carry little signal on their own "
                f"(single-feature ROC AUC below {WEAK_SIGNAL:g} on training rows: {shown})"
            )
        little = max(len(weights.ignored_features), len(weak))
        return Recommendation(
            action=action,
            layers=(first.name,),
            current={first.name: {"l1": l1, "l2": l2}},
            suggested={first.name: {"l1": new_l1, "l2": l2}},
            reason=(
                f"The model overfits ({', '.join(ids)}: validation loss {significant(gap)} above "
                f"training loss) and {little} of {n_features} input features carry little weight "
                f"or signal: L1 {_strength(l1)} → {_strength(new_l1)} on the first layer "
                f"'{first.name}' drives the weights of uninformative features to zero, selecting "
                "features and simplifying the model."
            ),
            evidence=tuple(evidence),
            expected_effect=(
                "Training loss rises a little and validation loss falls toward it; the model uses "
                "fewer features. Precision tends to rise; recall can drop slightly — check the "
                "recall floor after retraining."
            ),
            snippet=_snippet([first], {first.name: (new_l1, l2)}),
            details={
                "factor": factor,
                "penalty_from_gap": from_gap,
                "ignored_share": ignored_share,
                "weak_signal_share": weak_share,
            },
        )

    # The hidden layers; the output layer too if it is the only one.
    targets = dense[:-1] if len(dense) > 1 else dense
    current, suggested, values = {}, {}, {}
    total_squares = sum(by_name[layer.name].penalized_squares for layer in targets) or 1e-12
    from_gap = 0.5 * gap / total_squares
    for layer in targets:
        l1, l2 = _current(layer)
        new_l2 = nice(max(l2 * factor, from_gap)) if l2 > 0 else nice(from_gap)
        current[layer.name] = {"l1": l1, "l2": l2}
        suggested[layer.name] = {"l1": l1, "l2": new_l2}
        values[layer.name] = (l1, new_l2)
    changes = "; ".join(
        f"'{name}' L2 {_strength(current[name]['l2'])} → {_strength(suggested[name]['l2'])}"
        for name in current
    )
    if weights.feature_mass:
        evidence.append(
            f"only {len(weights.ignored_features)} of {n_features} input features carry little "
            f"first-layer weight and {len(weak)} little signal, so feature selection (L1) is not "
            "the main lever"
        )
    extra = _dropout_advice(arch, targets)
    recurrent = [layer.name for layer in targets if layer.class_name in RECURRENT_CLASSES]
    if recurrent:
        for name in recurrent:
            suggested[name]["recurrent_l2"] = suggested[name]["l2"]
        changes += f" (the same L2 on the recurrent kernel of {', '.join(map(repr, recurrent))})"
    return Recommendation(
        action="increase_l2",
        layers=tuple(current),
        current=current,
        suggested=suggested,
        reason=(
            f"The model overfits ({', '.join(ids)}: "
            f"validation loss {significant(gap)} above training loss). "
            f"Weight decay shrinks every weight without zeroing any, giving a smoother function: "
            f"{changes}.{extra}"
        ),
        evidence=tuple(evidence),
        expected_effect=(
            "Training loss rises a little and validation loss falls toward it; validation "
            "accuracy holds or improves. L2 keeps all features, so recall tends to hold; "
            "precision can dip slightly if noise features keep some weight."
        ),
        snippet=_snippet(targets, values, rnn_dropout=_no_dropout(arch)),
        details={"factor": factor, "penalty_from_gap": from_gap},
    )


def _less_regularization(ev: Evaluation, underfit: list[RuleResult]) -> Recommendation:
    arch = ev.architecture
    regularized = [
        layer
        for layer in _dense_layers(arch)
        if any(
            p is not None and p.active
            for p in (layer.kernel_regularizer, layer.recurrent_regularizer)
        )
    ]
    ids = ", ".join(sorted({r.rule.id for r in underfit}))
    evidence = tuple(f"{r.rule.id}: {r.message}" for r in underfit)
    if not regularized:
        return _no_change(
            f"The model under-fits ({ids}) without any L1/L2 penalty: "
            "regularization is not the lever. Check labels and features, train longer or with "
            "a better learning rate, or give the model more capacity.",
            evidence,
            "No change from regularization; "
            "capacity or training changes should lower training loss first.",
        )
    penalty = ev.regularization_penalty or 0.0
    data_loss = ev.metric("train", "loss") or 0.0
    share = penalty / (penalty + data_loss) if penalty + data_loss > 0 else 0.0
    current: dict[str, dict[str, float]] = {}
    suggested: dict[str, dict[str, float]] = {}
    values, recurrent = {}, {}
    remove = share >= 0.5

    def lowered(value: float) -> float:
        return 0.0 if remove or not value else nice(min(value / 10, MAX_DECREASED))

    for layer in regularized:
        l1, l2 = _current(layer)
        current[layer.name] = {"l1": l1, "l2": l2}
        suggested[layer.name] = {"l1": lowered(l1), "l2": lowered(l2)}
        values[layer.name] = (lowered(l1), lowered(l2))
        rec = layer.recurrent_regularizer
        if rec is not None and rec.active:
            current[layer.name].update(recurrent_l1=rec.l1, recurrent_l2=rec.l2)
            suggested[layer.name].update(recurrent_l1=lowered(rec.l1), recurrent_l2=lowered(rec.l2))
            recurrent[layer.name] = (lowered(rec.l1), lowered(rec.l2))
        elif layer.class_name in RECURRENT_CLASSES:
            recurrent[layer.name] = (0.0, 0.0)
    labels = {
        "l1": "L1",
        "l2": "L2",
        "recurrent_l1": "recurrent L1",
        "recurrent_l2": "recurrent L2",
    }
    changes = "; ".join(
        f"'{n}' "
        + ", ".join(
            f"{label} {_strength(current[n][k])} → {_strength(suggested[n][k])}"
            for k, label in labels.items()
            if current[n].get(k, 0) > 0
        )
        for n in current
    )
    return Recommendation(
        action="remove_regularization" if remove else "decrease_regularization",
        layers=tuple(current),
        current=current,
        suggested=suggested,
        reason=(
            f"The model under-fits ({ids}) while its L1/L2 penalty is {share:.0%} of the training "
            f"objective: the penalty holds the weights near zero, so training and validation loss "
            f"both stay high. More regularization would make it worse; {changes}."
        ),
        evidence=evidence,
        expected_effect=(
            "Training and validation loss both fall; recall of the minority class should recover."
        ),
        snippet=_snippet(
            [layer for layer in _dense_layers(arch) if layer.name in values],
            values,
            recurrent=recurrent,
        ),
        details={"penalty_share": share},
    )


def threshold_for_recall(
    y: np.ndarray, p1: np.ndarray, cls: int, floor: float
) -> tuple[float, float, float] | None:
    """Return (threshold on P(class 1), recall, precision) for a recall floor of class CLS.

    The threshold is the one closest to the current decision that still gives CLS a recall of at
    least FLOOR; None if none does.
    """
    from auditor.facts.scores import recall_table

    if len(np.unique(y)) < 2:
        return None
    return recall_table(y, p1, [floor])[(cls, floor)]


def _recall_threshold(
    split: SplitEvaluation, cls: int, floor: float
) -> tuple[float, float, float] | None:
    """Return SPLIT's threshold for class CLS's recall FLOOR: the evaluation's, or found now."""
    if (cls, floor) in split.recall_thresholds:
        return split.recall_thresholds[(cls, floor)]
    if not len(split.proba):  # an engine kept no probabilities, and was not asked for this floor
        return None
    return threshold_for_recall(split.y, split.proba[:, 1], cls, floor)


def _threshold_advice(ev: Evaluation, failed: list[RuleResult]) -> Recommendation:
    ids = ", ".join(sorted({r.rule.id for r in failed}))
    evidence = tuple(f"{r.rule.id}: {r.message}" for r in failed)
    val = ev.splits.get("val") or next(iter(ev.splits.values()))
    train = ev.splits.get("train") or val
    counts = np.array([train.class_counts[c] for c in ev.classes], dtype=float)
    weights = {
        str(i): round(float(counts.sum() / (len(counts) * c)), 3) if c else None
        for i, c in enumerate(counts)
    }
    weight_text = ", ".join(f"{k}: {v}" for k, v in weights.items() if v is not None)
    recall_failures = [r for r in failed if r.rule.category == "recall_floor"]
    # Aim at the floor of the most severe failed recall rule (the one that blocks the release);
    # stricter floors of lesser rules are quoted with what they would cost.
    floors = sorted(
        {
            (severity_rank(r.rule.severity), float(r.threshold["min_recall"]))
            for r in recall_failures
        },
        reverse=True,
    )
    floor = floors[0][1] if floors else DEFAULT_RECALL_FLOOR
    others = sorted({f for _, f in floors[1:] if f > floor})
    below = [c for r in recall_failures for c in r.observed.get("below_floor", [])]
    if below:
        target = ev.classes.index(min(below, key=lambda c: val.metrics["per_class"][c]["recall"]))
    else:  # accuracy paradox: the smallest class is the one being missed
        target = int(np.argmin(counts))
    imbalanced = counts.min() > 0 and counts.max() / counts.min() >= 1.5
    details: dict[str, Any] = {"recall_floor": floor}
    suggested: dict[str, Any] = {}
    parts: list[str] = []
    snippets: list[str] = []
    action = "none"
    name = ev.classes[target]
    if len(ev.classes) == 2:
        found = _recall_threshold(val, target, floor)
        if found is not None:
            t, r, p = found
            action = "adjust_threshold"
            suggested["threshold"] = round(t, 4)
            details.update(
                threshold=t, recall_at_threshold=r, precision_at_threshold=p, target_class=name
            )
            move = "Lower" if t < ev.threshold else "Raise"
            parts.append(
                f"{move} the decision threshold from {ev.threshold:g} to {t:.3g}: "
                f"on {val.name} that gives class '{name}' the recall floor {floor:g} "
                f"(recall {r:.2f}, precision {p:.2f})."
            )
            snippets.append(
                f"# decide with the new threshold\npredicted = model.predict(x)[:, 0] >= {t:.4g}"
            )
            for stricter in others:
                more = _recall_threshold(val, target, stricter)
                if more is not None:
                    parts.append(
                        f"Recall {stricter:g} would need {more[0]:.3g} (precision {more[2]:.2f})."
                    )
        else:
            parts.append(
                f"No threshold gives class '{name}' recall {floor:g} on {val.name}; "
                "the model needs better separation."
            )
    if imbalanced:
        action = "class_weight" if action == "none" else action
        suggested["class_weight"] = weights
        details["class_weight"] = weights
        parts.append(
            f"{'Then r' if parts else 'R'}etrain with class weights ({weight_text}) "
            "so the minority class counts as much as the majority."
        )
        snippets.append(
            "# retrain with class weights\n"
            f"model.fit(x_train, y_train, class_weight={{{weight_text}}}, ...)"
        )
    parts.append(
        f"({ids}) Regularization alone does not fix a missed class; if you regularize further, "
        "prefer L2 (keeps features, helps recall) over L1 (sparser, favours precision)."
    )
    return Recommendation(
        action=action,
        layers=(),
        current={"threshold": ev.threshold},
        suggested=suggested,
        reason=" ".join(parts),
        evidence=evidence,
        expected_effect=(
            f"Recall of class '{name}' rises to the floor; its precision falls (more false alarms) "
            "— read the trade-off on the PR curve."
        ),
        snippet="\n\n".join(snippets),
        details=details,
    )


def _no_change(reason: str, evidence: Sequence[str], expected_effect: str) -> Recommendation:
    """Recommend leaving the regularization as it is, and say why."""
    return Recommendation(
        action="none",
        layers=(),
        current={},
        suggested={},
        reason=reason,
        evidence=tuple(evidence),
        expected_effect=expected_effect,
    )


def facts_needed(results: Sequence[RuleResult]) -> set[Request]:
    """Return the data facts the advice reads beyond the rules': feature signal when overfit."""
    return {Request(SIGNAL, "train")} if _failed(results, "overfitting") else set()


def _early_stopping(history: Mapping[str, Sequence[float]] | None) -> Recommendation | None:
    """Early stopping when the history's validation loss bottomed out early and rose after it."""
    val = [float(v) for v in (history or {}).get("val_loss", ())]
    finite = [(v, i) for i, v in enumerate(val) if math.isfinite(v)]
    if len(finite) < AFTER_BEST_EPOCHS + RISE_EPOCHS:
        return None
    best, index = min(finite)
    epochs, best_epoch = len(val), index + 1
    after = epochs - best_epoch
    if after < max(AFTER_BEST_EPOCHS, AFTER_BEST_SHARE * epochs):
        return None
    tail = [v for v, i in finite[-RISE_EPOCHS:] if i > index]
    margin = max(RISE_SHARE * best, RISE_MIN)
    if len(tail) < RISE_EPOCHS or min(tail) < best + margin:
        return None
    # Patience: longer than the longest wait for a new best before the best epoch (so noise on
    # the way down does not stop training early), and short enough to stop well before the end.
    wait, longest, low = 0, 0, math.inf
    for v in val[:best_epoch]:
        wait = 0 if v < low else wait + 1
        low = min(low, v)
        longest = max(longest, wait)
    patience = int(min(max(longest + 1, PATIENCE_RANGE[0]), PATIENCE_RANGE[1], after - 1))
    final = val[-1]
    stop = best_epoch + patience
    return Recommendation(
        action="early_stopping",
        layers=(),
        current={"epochs": epochs},
        suggested={
            "monitor": "val_loss",
            "patience": patience,
            "restore_best_weights": True,
            "best_epoch": best_epoch,
        },
        reason=(
            f"The training history's validation loss was lowest at epoch {best_epoch} of "
            f"{epochs} ({significant(best)}) and rose after it, to {significant(final)} at the "
            f"last epoch: the {after} epochs after the best one fitted the training rows at the "
            'expense of new ones. EarlyStopping(monitor="val_loss", '
            f"patience={patience}, restore_best_weights=True) would have stopped at epoch {stop} "
            f"and kept the weights of epoch {best_epoch}."
        ),
        evidence=(
            f"val_loss: {significant(best)} at epoch {best_epoch} (the lowest), "
            f"{significant(final)} at epoch {epochs}; each of the last {RISE_EPOCHS} epochs at "
            f"least {significant(margin)} above the lowest",
            f"longest run without a new lowest validation loss before epoch {best_epoch}: "
            f"{longest} epoch(s)",
        ),
        expected_effect=(
            f"Validation loss near {significant(best)} instead of {significant(final)}, and "
            f"training about {epochs - stop} epochs shorter; training loss ends higher, closer to "
            "validation loss. The history's losses include the L1/L2 penalty and dropout."
        ),
        snippet=(
            "import keras\n\n"
            "early_stopping = keras.callbacks.EarlyStopping(\n"
            f'    monitor="val_loss", patience={patience}, restore_best_weights=True)\n'
            "model.fit(x_train, y_train, validation_data=(x_val, y_val),\n"
            f"          epochs={epochs}, callbacks=[early_stopping])"
        ),
        details={
            "best_epoch": best_epoch,
            "best_val_loss": best,
            "final_val_loss": final,
            "epochs": epochs,
            "longest_wait_before_best": longest,
            "stop_epoch": stop,
        },
    )


def _withheld(leaks: Sequence[RuleResult], advice: Sequence[Recommendation]) -> Recommendation:
    """Return the one recommendation while the splits leak: none, and why the advice waits."""
    ids = ", ".join(r.rule.id for r in leaks)
    held = [r.action for r in advice if r.action != "none"]
    held_text = f" ({', '.join(held)} withheld)" if held else ""
    return Recommendation(
        action="none",
        layers=(),
        current={},
        suggested={},
        reason=(
            f"No L1/L2 or threshold advice{held_text}: {ids} found leakage between the splits, so "
            "the train/val gap and the validation metrics were measured on leaked rows and say "
            "nothing about how the model generalizes. Fix the split and audit again."
        ),
        evidence=tuple(f"{r.rule.id}: {r.message}" for r in leaks),
        expected_effect=(
            "None until the split is fixed: on a clean split the gap, the floors and the advice "
            "that follows from them can be trusted."
        ),
        details={"withheld": held, "because": [r.rule.id for r in leaks]},
    )


def recommend(
    evaluation: Evaluation,
    results: Sequence[RuleResult],
    history: Mapping[str, Sequence[float]] | None = None,
) -> list[Recommendation]:
    """Return the recommendations for this evaluation and its rule results, most important first.

    HISTORY (metric -> one value per epoch, as Keras' History) adds early stopping when its
    validation loss rose after an early lowest point. While a leakage rule of error severity
    fails, the advice is withheld: one `none` says why.
    """
    advice = _advice(evaluation, results)
    stopping = _early_stopping(history)
    if stopping is not None:
        # Overfit, or nothing failed: the history shows where training should have stopped, the
        # cheapest fix, first (after a threshold change for a model that generalizes). Under-fit:
        # fitting better comes first.
        underfit = bool(_failed(results, "underfitting"))
        overfit = bool(_failed(results, "overfitting"))
        threshold_first = bool(advice) and advice[0].action in THRESHOLD_ACTIONS and not overfit
        advice.insert(len(advice) if underfit else 1 if threshold_first else 0, stopping)
    leaks = invalidating(results)
    return [_withheld(leaks, advice)] if leaks else advice


def _advice(evaluation: Evaluation, results: Sequence[RuleResult]) -> list[Recommendation]:
    """Return the advice that the metric rules' results call for, most important first."""
    weights = evaluation.weight_analysis
    overfit = _failed(results, "overfitting")
    underfit = _failed(results, "underfitting")
    imbalance = _failed(results, "recall_floor", "accuracy_paradox", "precision_floor")
    recs: list[Recommendation] = []
    if not evaluation.architecture.config_readable:
        recs.append(
            _no_change(
                evaluation.architecture.note,
                (),
                "Audit the .keras or .h5 file of this model to get regularization advice.",
            )
        )
    elif underfit:
        recs.append(_less_regularization(evaluation, underfit))
    elif overfit and _dense_layers(evaluation.architecture):
        recs.append(_more_regularization(evaluation, weights, overfit))
    else:
        gap = _gap(evaluation)
        gap_text = ""
        if gap is not None:
            side = "above" if gap >= 0 else "below"
            gap_text = f" (validation loss {significant(abs(gap))} {side} training loss)"
        passed = [r.message for r in results if r.rule.category == "overfitting" and r.passed]
        recs.append(
            _no_change(
                "No regularization change: "
                f"no overfitting or under-fitting rule failed{gap_text}. "
                "Changing L1/L2 now would trade fit for nothing.",
                passed[:2],
                "None.",
            )
        )
    if imbalance:
        advice = _threshold_advice(evaluation, imbalance)
        # A model that generalizes but misses a class: the threshold is the first thing to change.
        # One that over- or under-fits: fix that first; the threshold comes after.
        generalizes = not underfit and not overfit and evaluation.architecture.config_readable
        recs.insert(0 if generalizes else 1, advice)
    return recs


def weight_report(evaluation: Evaluation) -> dict[str, Any]:
    """Return the regularization facts report.json shows: configuration and weight analysis."""
    analysis = evaluation.weight_analysis
    return {**evaluation.architecture.to_dict(), "weights": analysis.to_dict()}
