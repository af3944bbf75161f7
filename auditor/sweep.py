"""The verification sweep: retrain the model at a few L1/L2 strengths and compare validation loss.

Clones of the model are retrained at strengths around the recommendation (and at the current
setting, as control).

Opt-in (`--sweep`): it trains models, so it is the one step besides loading and evaluation that runs
Keras. Runs train on the bounded row samples the evaluation kept, re-initialized, with the model's
compiled optimizer and loss, for a bounded number of epochs and seconds, seeded for determinism.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.evaluation import Evaluation
from auditor.loading.architecture import kernel_argument
from auditor.loading.inputs import table_feed
from auditor.loading.keras_env import import_keras
from auditor.loading.model import LoadedModel, from_keras_model, target_encoder
from auditor.regularization import Recommendation

# (run index, runs, label, epochs done in the run, epochs); label "done" once every run is over
SweepProgress = Callable[[int, int, str, int, int], None]
REGULARIZATION_ACTIONS = (
    "add_l1",
    "increase_l1",
    "increase_l2",
    "decrease_regularization",
    "remove_regularization",
)


def sweepable(rec: Recommendation) -> bool:
    """Whether the sweep can verify REC: an L1/L2 change on named layers."""
    return rec.action in REGULARIZATION_ACTIONS and bool(rec.layers)


@dataclass(frozen=True)
class SweepRun:
    """One retrained clone and how it did."""

    label: str
    penalty: str
    strength: float
    control: bool
    epochs: int
    seconds: float
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_balanced_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """Return the run as report.json holds it."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SweepResult:
    """The sweep's table, its best setting, and whether it confirms the recommendation."""

    action: str
    layers: tuple[str, ...]
    runs: tuple[SweepRun, ...]
    best: str
    confirms: bool
    conclusion: str
    settings: dict[str, Any] = field(default_factory=dict)
    # "not_applicable" when the model cannot be retrained on what the audit kept; then
    # `conclusion` says why and there are no runs.
    status: str = "done"

    def to_dict(self) -> dict[str, Any]:
        """Return the sweep as report.json holds it."""
        return {
            "action": self.action,
            "layers": list(self.layers),
            "runs": [r.to_dict() for r in self.runs],
            "best": self.best,
            "confirms": self.confirms,
            "conclusion": self.conclusion,
            "settings": self.settings,
            **({"status": self.status} if self.status != "done" else {}),
        }


def not_applicable(rec: Recommendation, reason: str) -> SweepResult:
    """Return a sweep that could not run, and why (the report shows the reason, no runs)."""
    return SweepResult(
        action=rec.action,
        layers=rec.layers,
        runs=(),
        best="",
        confirms=False,
        conclusion=f"Not applicable: {reason}.",
        status="not_applicable",
    )


def _grid(rec: Recommendation, layer: str) -> tuple[str, float, list[float]]:
    """Return (penalty, current strength, strengths to try) for the recommendation's first layer."""
    current = rec.current.get(layer, {"l1": 0.0, "l2": 0.0})
    suggested = rec.suggested.get(layer, current)
    if rec.action in ("add_l1", "increase_l1"):
        penalty, now, target = "l1", current["l1"], suggested["l1"]
    elif rec.action == "increase_l2":
        penalty, now, target = "l2", current["l2"], suggested["l2"]
    else:  # decrease / remove: sweep the strongest active penalty downwards
        penalty = "l2" if current["l2"] >= current["l1"] else "l1"
        now, target = current[penalty], suggested[penalty]
    if rec.action in ("decrease_regularization", "remove_regularization"):
        values = [now / 100, target, 0.0] if target > 0 else [now / 10, now / 100, 0.0]
    else:
        values = [target / 10, target, target * 10]
    grid = sorted({float(f"{v:.3g}") for v in values if v != now and v >= 0})
    return penalty, now, grid


def _clone(keras: Any, model: Any, layers: tuple[str, ...], penalty: str, strength: float) -> Any:
    if penalty == "l1":
        return clone_regularized(keras, model, {name: (strength, None) for name in layers})
    return clone_regularized(keras, model, {name: (None, strength) for name in layers})


def clone_regularized(
    keras: Any, model: Any, kernel: Mapping[str, tuple[float | None, float | None]]
) -> Any:
    """Clone MODEL, re-initialized, with the kernel L1/L2 of the layers KERNEL names replaced.

    KERNEL maps a layer name to (l1, l2); None keeps the layer's current value of that penalty.
    """

    def rebuild(layer: Any) -> Any:
        config = layer.get_config()
        if layer.name in kernel:
            # An Embedding's table is regularized by `embeddings_regularizer`; an RNN keeps its
            # regularizers on its cell. Only the kernel's strengths change, as KERNEL says.
            argument = kernel_argument(type(layer).__name__)
            owner = getattr(layer, "cell", None) or layer
            reg = getattr(owner, argument, None)
            l1 = float(getattr(reg, "l1", 0.0) or 0.0) if reg is not None else 0.0
            l2 = float(getattr(reg, "l2", 0.0) or 0.0) if reg is not None else 0.0
            new_l1, new_l2 = kernel[layer.name]
            l1 = l1 if new_l1 is None else new_l1
            l2 = l2 if new_l2 is None else new_l2
            config[argument] = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=rebuild)
    # Layers without trainable weights hold fitted state (a Normalization's mean and variance):
    # copy it; everything trainable starts from a fresh initialization.
    for old, new in zip(model.layers, clone.layers, strict=True):
        if not old.trainable_weights and old.weights:
            new.set_weights(old.get_weights())
    return clone


def compile_like(keras: Any, model: Any, clone: Any, default_name: str) -> None:
    """Compile CLONE with a fresh copy of MODEL's optimizer and its loss (or DEFAULT_NAME)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and hasattr(optimizer, "get_config"):
        fresh = optimizer.__class__.from_config(optimizer.get_config())
    else:
        fresh = keras.optimizers.Adam()
    clone.compile(optimizer=fresh, loss=getattr(model, "loss", None) or default_name)


def run_sweep(
    loaded: LoadedModel,
    evaluation: Evaluation,
    rec: Recommendation,
    *,
    epochs: int,
    budget_seconds: float,
    seed: int,
    progress: SweepProgress | None = None,
) -> SweepResult | None:
    """Retrain the control and the grid; None when the model or recommendation cannot be swept.

    EPOCHS, BUDGET_SECONDS and SEED have their defaults in `AuditOptions` (sweep_*, seed).
    """
    if loaded.keras_model is None or not sweepable(rec):
        return None
    train, val = evaluation.rows.get("train"), evaluation.rows.get("val")
    if train is None or val is None:
        return None
    if evaluation.text_features:
        return not_applicable(
            rec,
            "the model reads text column(s) "
            f"{', '.join(evaluation.text_features)}, and the row samples the sweep retrains on "
            "keep text as category codes, not the values the model's string inputs take",
        )
    info = loaded.info

    def feed(x: np.ndarray) -> Any:
        return table_feed(x, evaluation.features, info.inputs, info.named_inputs)

    tf, keras = import_keras()
    model = loaded.keras_model
    penalty, now, grid = _grid(rec, rec.layers[0])
    settings = [("current", now, True)] + [(f"{penalty.upper()} {v:g}", v, False) for v in grid]
    per_run = budget_seconds / len(settings)
    batch_size = 32 if len(train.sample_y) <= 5_000 else 256
    # Labels shaped for the loss the clones train with (the model's, or the default one).
    units = int(model.outputs[0].shape[-1] or 1)
    y_fit = target_encoder(loaded.info.loss, loaded.info.n_classes, units)(train.sample_y)
    runs = []
    for index, (label, strength, control) in enumerate(settings):
        if progress is not None:
            progress(index, len(settings), label, 0, epochs)
        keras.utils.set_random_seed(seed)
        clone = _clone(keras, model, rec.layers, penalty, strength)
        compile_like(keras, model, clone, loaded.info.loss)

        def tick(done: int, index: int = index, label: str = label) -> None:
            if progress is not None:
                progress(index, len(settings), label, done, epochs)

        stopper = Budget(keras, per_run, tick)
        started = time.perf_counter()
        history = clone.fit(
            feed(train.sample_x),
            y_fit,
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
            shuffle=True,
            callbacks=[stopper.callback],
        )
        seconds = time.perf_counter() - started
        wrapped = from_keras_model(clone)
        runs.append(
            _measure(
                wrapped,
                label,
                penalty,
                strength,
                control,
                len(history.epoch),
                seconds,
                (feed(train.sample_x), train.sample_y),
                (feed(val.sample_x), val.sample_y),
            )
        )
    if progress is not None:
        progress(len(settings), len(settings), "done", epochs, epochs)
    return _conclude(
        rec,
        penalty,
        now,
        runs,
        {
            "epochs": epochs,
            "budget_seconds": budget_seconds,
            "seed": seed,
            "batch_size": batch_size,
            "train_rows": int(len(train.sample_y)),
            "val_rows": int(len(val.sample_y)),
            "penalty": penalty,
            "layers_changed": list(rec.layers),
        },
    )


class Budget:
    """Stops a run when its share of the time budget is spent (after at least one epoch)."""

    def __init__(self, keras: Any, seconds: float, tick: Callable[[int], None]):
        budget = self

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs: Any = None) -> None:
                budget.started = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                tick(epoch + 1)
                if time.perf_counter() - budget.started > seconds:
                    self.model.stop_training = True

        self.started = time.perf_counter()
        self.callback = Callback()


def _measure(
    model: LoadedModel,
    label: str,
    penalty: str,
    strength: float,
    control: bool,
    epochs: int,
    seconds: float,
    train: tuple[Any, np.ndarray],
    val: tuple[Any, np.ndarray],
) -> SweepRun:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from auditor.metrics import predict_classes

    losses = {}
    proba = None
    for name, (x, y) in (("train", train), ("val", val)):
        raw = model.predict_raw(x)
        losses[name] = float(model.loss(y, raw).mean())
        proba = model.to_proba(raw)
    assert proba is not None
    pred = predict_classes(proba)
    return SweepRun(
        label=label,
        penalty=penalty,
        strength=strength,
        control=control,
        epochs=epochs,
        seconds=round(seconds, 2),
        train_loss=losses["train"],
        val_loss=losses["val"],
        val_accuracy=float(accuracy_score(val[1], pred)),
        val_balanced_accuracy=float(balanced_accuracy_score(val[1], pred)),
    )


def _conclude(
    rec: Recommendation, penalty: str, now: float, runs: list[SweepRun], settings: dict[str, Any]
) -> SweepResult:
    finite = [r for r in runs if math.isfinite(r.val_loss)]
    best = min(finite, key=lambda r: r.val_loss) if finite else runs[0]
    control = runs[0]
    stronger = best.strength > now
    wanted_stronger = rec.action in ("add_l1", "increase_l1", "increase_l2")
    improved = best.val_loss < control.val_loss
    confirms = improved and not best.control and stronger == wanted_stronger
    verdict = "confirms the recommendation" if confirms else "does not confirm the recommendation"
    suggested = rec.suggested.get(rec.layers[0], {}).get(penalty) if rec.layers else None
    if (
        confirms
        and isinstance(suggested, (int, float))
        and not math.isclose(best.strength, suggested, rel_tol=1e-9)
    ):
        # The direction holds, the amount may not: say which strength the runs preferred.
        verdict = (
            f"confirms the direction of the recommendation, at {penalty.upper()} "
            f"{best.strength:g} rather than the recommended {suggested:g}"
        )
    conclusion = (
        f"Best validation loss {best.val_loss:.4g} at {best.label} "
        f"vs {control.val_loss:.4g} for the current setting ({penalty.upper()} {now:g}), "
        f"retrained the same way: the sweep {verdict}."
    )
    return SweepResult(
        action=rec.action,
        layers=rec.layers,
        runs=tuple(runs),
        best=best.label,
        confirms=confirms,
        conclusion=conclusion,
        settings=settings,
    )
