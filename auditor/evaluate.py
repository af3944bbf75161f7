"""Predicts every split batch by batch and computes the `Evaluation` the rules judge."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.datafacts import RowFacts, SplitRows
from auditor.errors import DataError
from auditor.loading.architecture import Architecture
from auditor.loading.data import ReadOptions, SplitReader
from auditor.loading.model import LoadedModel, ModelInfo
from auditor.metrics import baseline_metrics, measure

if TYPE_CHECKING:
    from auditor.regularization import WeightAnalysis

SPLIT_ORDER = ("train", "val", "test")
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class SplitEvaluation:
    """Everything measured on one split. `y` and `proba` stay out of the JSON."""

    name: str
    path: str
    n_rows: int
    class_counts: dict[str, int]
    metrics: dict[str, Any]
    confusion_matrix: list[list[int]]
    baseline: dict[str, Any]
    dropped_rows: int = 0
    y: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False, compare=False)
    proba: np.ndarray = field(
        default_factory=lambda: np.empty((0, 2), np.float32), repr=False, compare=False
    )
    # Per class with both outcomes: one-vs-rest ROC and PR curves at most CURVE_POINTS long.
    curves: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the split's measurements as report.json holds them (without `y` and `proba`)."""
        return {
            "path": self.path,
            "n_rows": self.n_rows,
            "dropped_rows": self.dropped_rows,
            "class_counts": dict(self.class_counts),
            "metrics": self.metrics,
            "confusion_matrix": self.confusion_matrix,
            "baseline": self.baseline,
        }


@dataclass(frozen=True)
class Evaluation:
    """The model's behaviour on every split, plus the facts about the model the rules need."""

    model: ModelInfo
    classes: tuple[str, ...]
    features: tuple[str, ...]
    splits: dict[str, SplitEvaluation]
    architecture: Architecture
    regularization_penalty: float | None = None
    threshold: float = 0.5
    rows: dict[str, SplitRows] = field(default_factory=dict, compare=False, repr=False)
    reference: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @functools.cached_property
    def weight_analysis(self) -> WeightAnalysis:
        """Norms, sparsity and first-layer feature mass of the model's weights, computed once."""
        from auditor.regularization import analyse_weights

        return analyse_weights(self.architecture, self.features)

    @property
    def task(self) -> str:
        """The model's task: "binary" or "multiclass"."""
        return self.model.task

    def metric(self, split: str, name: str) -> float | None:
        """Return metric NAME on SPLIT as a float, or None when either is missing."""
        found = self.splits.get(split)
        if found is None:
            return None
        value = found.metrics.get(name)
        return float(value) if value is not None else None


def class_names(n_classes: int, classes: Sequence[str] | None) -> tuple[str, ...]:
    """Return display names of the classes: --classes when given, else '0', '1', ..."""
    if classes is None:
        return tuple(str(i) for i in range(n_classes))
    if len(classes) != n_classes:
        raise DataError(
            f"--classes names {len(classes)} classes but the model has {n_classes} outputs"
        )
    return tuple(classes)


def evaluate(
    model: LoadedModel,
    paths: dict[str, Any],
    *,
    label: str = "label",
    ignore: Sequence[str] = (),
    classes: Sequence[str] | None = None,
    threshold: float = 0.5,
    drop_invalid_rows: bool = False,
    batch_rows: int = 65_536,
    progress: Progress | None = None,
) -> Evaluation:
    """Predict each split in `paths` (train, val, optional test) and measure it."""
    info = model.info
    names = class_names(info.n_classes, classes)
    options = ReadOptions(
        label=label,
        ignore=tuple(ignore),
        classes=tuple(classes) if classes is not None else None,
        n_classes=info.n_classes,
        feature_names=info.input_names if info.named_inputs else None,
        n_features=info.n_features,
        drop_invalid_rows=drop_invalid_rows,
        batch_rows=batch_rows,
    )
    readers = [
        SplitReader(name, paths[name], options)
        for name in SPLIT_ORDER
        if paths.get(name) is not None
    ]
    features = tuple(readers[0].features)
    for reader in readers[1:]:
        if tuple(reader.features) != features:
            missing = [f for f in features if f not in reader.features]
            extra = [f for f in reader.features if f not in features]
            detail = (
                "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(missing[:5])}" if missing else "",
                        f"unexpected {', '.join(extra[:5])}" if extra else "",
                    )
                    if part
                )
                or "same names in another order"
            )
            raise DataError(
                f"{reader.path}: feature columns differ from the {readers[0].name} split "
                f"({readers[0].path}): {detail}; every split needs the same columns"
            )

    timings: dict[str, float] = {"read": 0.0, "predict": 0.0, "row_facts": 0.0, "metrics": 0.0}
    raw_results = {}
    facts: dict[str, RowFacts] = {}
    for reader in readers:
        first = next(iter(facts.values()), None)
        # Every split shares the first split's near-duplicate grid, so their hashes compare.
        facts[reader.name] = RowFacts(scale=first.scale if first is not None else None)
        raw_results[reader.name] = _predict_split(
            model, reader, facts[reader.name], progress, timings
        )
        facts[reader.name].fix_grid()  # a split shorter than GRID_ROWS fixes it at its end

    for reader in readers:
        present = np.unique(raw_results[reader.name][0])
        if len(present) < 2:
            raise DataError(
                f"{reader.path}: the {reader.name} split holds only class "
                f"'{names[int(present[0])]}'; "
                "every split needs rows of at least two classes to be judged (split stratified by "
                "the label)"
            )

    started = time.perf_counter()
    train_y = (
        raw_results["train"][0] if "train" in raw_results else next(iter(raw_results.values()))[0]
    )
    priors = np.bincount(train_y, minlength=info.n_classes) / max(len(train_y), 1)
    splits = {}
    for reader in readers:
        y, proba, losses = raw_results[reader.name]
        splits[reader.name] = _measure(reader, y, proba, losses, names, priors, threshold)
    timings["metrics"] = time.perf_counter() - started

    return Evaluation(
        model=info,
        classes=names,
        features=features,
        splits=splits,
        architecture=model.architecture,
        regularization_penalty=model.regularization_penalty,
        threshold=threshold,
        rows={name: f.freeze(features) for name, f in facts.items()},
        timings=timings,
    )


def _predict_split(
    model: LoadedModel,
    reader: SplitReader,
    facts: RowFacts,
    progress: Progress | None,
    timings: dict[str, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ys: list[np.ndarray] = []
    probas: list[np.ndarray] = []
    losses: list[np.ndarray] = []
    batches = reader.batches()
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending: list[Future[None]] = []
        try:
            _predict_batches(
                model,
                reader,
                batches,
                worker,
                pending,
                facts,
                ys,
                probas,
                losses,
                progress,
                timings,
            )
        finally:
            for future in pending:
                future.result()  # re-raises a failure of the facts thread
    return np.concatenate(ys), np.concatenate(probas), np.sum(losses, axis=0)


def _standard_error(moments: np.ndarray) -> float | None:
    n, total, squares = moments
    if n < 2:
        return None
    variance = max((squares - total * total / n) / (n - 1), 0.0)
    return float(np.sqrt(variance / n))


def _moments(values: np.ndarray) -> np.ndarray:
    """Count, sum and sum of squares of per-row losses: their mean and standard error, mergeable."""
    v = values.astype(np.float64)
    return np.array([len(v), v.sum(), (v * v).sum()])


def _timed(fn: Callable[..., None], timings: dict[str, float], *args: Any) -> None:
    started = time.perf_counter()
    fn(*args)
    timings["row_facts"] += time.perf_counter() - started


def _predict_batches(
    model: LoadedModel,
    reader: SplitReader,
    batches: Any,
    worker: ThreadPoolExecutor,
    pending: list[Future[None]],
    facts: RowFacts,
    ys: list[np.ndarray],
    probas: list[np.ndarray],
    losses: list[np.ndarray],
    progress: Progress | None,
    timings: dict[str, float],
) -> None:
    clock = time.perf_counter
    while True:
        started = clock()
        batch = next(batches, None)
        timings["read"] += clock() - started
        if batch is None:
            break
        started = clock()
        raw = model.predict_raw(batch.x)
        proba = model.to_proba(raw)
        losses.append(_moments(model.loss(batch.y, raw)))
        timings["predict"] += clock() - started
        bad = ~np.isfinite(proba).all(axis=1)
        if bad.any():
            raise DataError(
                f"{reader.path}: the model predicted NaN or infinity for {int(bad.sum())} row(s) "
                f"(first: row {int(batch.rows[int(np.argmax(bad))])}); check the inputs' scale"
            )
        if model.info.output == "probability" and (proba.min() < -1e-6 or proba.max() > 1 + 1e-6):
            raise DataError(
                f"{model.info.path}: the model's outputs are not probabilities (range "
                f"{proba.min():.3g}..{proba.max():.3g}); auditor needs a sigmoid or softmax output"
            )
        # Hashing and statistics run on a second thread while the next batch is read and
        # predicted (NumPy and TensorFlow both release the GIL); one worker keeps them in order.
        # At most one batch waits for the facts thread, so memory holds two batches, not the split.
        if pending:
            pending.pop().result()
        pending.append(worker.submit(_timed, facts.update, timings, batch.x, batch.y, batch.rows))
        ys.append(batch.y.astype(np.int32))  # 4 bytes a row: labels are class indices
        probas.append(proba)
        if progress is not None:
            progress(reader.name, len(batch.y))


def _measure(
    reader: SplitReader,
    y: np.ndarray,
    proba: np.ndarray,
    losses: np.ndarray,
    names: tuple[str, ...],
    priors: np.ndarray,
    threshold: float,
) -> SplitEvaluation:
    y.setflags(write=False)
    proba.setflags(write=False)
    counts = np.bincount(y, minlength=len(names))
    metrics, curves, matrix = measure(
        y, proba, names, threshold=threshold, loss=float(losses[1] / losses[0])
    )
    # The standard error of the mean loss tells the rules which loss differences are noise.
    metrics["loss_standard_error"] = _standard_error(losses)
    baseline: dict[str, Any] = baseline_metrics(y, priors)  # gains a str entry below
    baseline["majority_class"] = names[int(np.argmax(priors))]
    return SplitEvaluation(
        name=reader.name,
        path=str(reader.path),
        n_rows=int(len(y)),
        class_counts={name: int(c) for name, c in zip(names, counts, strict=True)},
        metrics=metrics,
        confusion_matrix=matrix,
        baseline=baseline,
        dropped_rows=reader.dropped_rows,
        y=y,
        proba=proba,
        curves=curves,
    )
