"""One study run in a worker process: clone the model at a setting, retrain it, measure it.

A worker is a fresh interpreter (`python -m auditor.study.worker THREADS`: no forked TensorFlow
state, and none of the caller's `__main__` re-imported), limited to THREADS of TensorFlow's
threads. It reads one task per line (JSON) on stdin and answers each with one line of JSON on its
stdout; everything else it prints goes to stderr. It loads the saved model and the sampled rows
once from the study's folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from auditor.facts.weights import NEAR_ZERO

_CACHE: dict[str, Any] = {}


@dataclass(frozen=True)
class Task:
    """What a worker needs for one run; plain values, so that it crosses a process boundary."""

    folder: str  # holds model.keras and rows.npz
    label: str
    kernel: tuple[float, float] | None  # (l1, l2) of the studied layers; None: as they are
    layers: tuple[str, ...]
    seed: int
    epochs: int
    seconds: float
    batch_size: int
    threshold: float
    default_loss: str
    classes: tuple[str, ...]
    unsafe: bool

    def to_json(self) -> str:
        """Return the task as one line of JSON."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> Task:
        """Read a task written by `to_json`."""
        data = json.loads(line)
        for key in ("kernel", "layers", "classes"):
            if data[key] is not None:
                data[key] = tuple(data[key])
        return cls(**data)


def initialize(threads: int) -> None:
    """Limit this worker's TensorFlow to THREADS threads, before TensorFlow starts."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from auditor.loading.keras_env import import_keras

    tf, _ = import_keras()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialized (a worker reused in-process): the env vars hold
        pass


def _loaded(task: Task) -> tuple[Any, dict[str, np.ndarray]]:
    if task.folder not in _CACHE:
        from auditor.loading.keras_env import import_keras

        _, keras = import_keras()
        folder = Path(task.folder)
        model = keras.saving.load_model(folder / "model.keras", safe_mode=not task.unsafe)
        with np.load(folder / "rows.npz", allow_pickle=False) as data:
            rows = {k: data[k] for k in data.files}
        _CACHE[task.folder] = (model, rows)
    return _CACHE[task.folder]


def run(task: Task) -> dict[str, Any]:
    """Retrain the model at TASK's setting and seed; return the run's measurements."""
    from auditor.loading.keras_env import import_keras
    from auditor.loading.model import from_keras_model
    from auditor.sweep import Budget, clone_regularized, compile_like

    _, keras = import_keras()
    model, rows = _loaded(task)
    keras.utils.set_random_seed(task.seed)
    kernel = {} if task.kernel is None else {name: task.kernel for name in task.layers}
    clone = clone_regularized(keras, model, kernel)
    compile_like(keras, model, clone, task.default_loss)
    stopper = Budget(keras, task.seconds, lambda done: None)
    started = time.perf_counter()
    history = clone.fit(
        _feed(clone, rows["x_train"]),
        rows["y_fit"],
        epochs=task.epochs,
        batch_size=task.batch_size,
        verbose=0,
        shuffle=True,
        callbacks=[stopper.callback],
    )
    seconds = time.perf_counter() - started
    wrapped = from_keras_model(clone)
    train_raw = wrapped.predict_raw(rows["x_train"])
    val_raw = wrapped.predict_raw(rows["x_val"])
    proba = wrapped.to_proba(val_raw)
    epochs = len(history.epoch)
    return {
        "setting": task.label,
        "seed": task.seed,
        "epochs": epochs,
        "seconds": round(seconds, 2),
        "stopped_by_budget": epochs < task.epochs,
        "train_loss": float(wrapped.loss(rows["y_train"], train_raw).mean()),
        "val_loss": float(wrapped.loss(rows["y_val"], val_raw).mean()),
        **scores(rows["y_val"], proba, task.threshold, task.classes),
        "near_zero": near_zero(clone),
    }


def _feed(model: Any, x: np.ndarray) -> Any:
    """Columns by input name for a model with one input per feature; the matrix otherwise."""
    if len(model.inputs) > 1:
        return {t.name.split(":")[0]: x[:, [i]] for i, t in enumerate(model.inputs)}
    return x


def scores(
    y: np.ndarray, proba: np.ndarray, threshold: float, classes: tuple[str, ...]
) -> dict[str, Any]:
    """Score validation predictions by scikit-learn's definitions.

    Accuracy, precision/recall/F1 (the positive class's for a binary model, the macro means
    otherwise), the same per class, and the confusion matrix.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    from auditor.metrics import predict_classes

    labels = list(range(len(classes)))
    pred = predict_classes(proba, threshold)
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    if len(classes) == 2:
        headline = (float(p[1]), float(r[1]), float(f[1]))
    else:
        headline = (float(p.mean()), float(r.mean()), float(f.mean()))
    return {
        "val_accuracy": float(accuracy_score(y, pred)),
        "precision": headline[0],
        "recall": headline[1],
        "f1": headline[2],
        "per_class": {
            name: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).astype(int).tolist(),
    }


def near_zero(model: Any) -> dict[str, float]:
    """Return each kernel's share of weights below 1% of its largest |weight| (as the audit).

    The kernel is the audit's (`read_architecture`): an Embedding's table, a recurrent layer's
    input kernel (on its cell), else the layer's `kernel`.
    """
    from auditor.loading.architecture import read_architecture

    shares = {}
    for layer in read_architecture(model).weighted_layers:
        w = np.abs(np.asarray(layer.kernel, dtype=np.float64)).ravel()
        largest = float(w.max()) if w.size else 0.0
        shares[layer.name] = float((w < NEAR_ZERO * largest).mean()) if w.size else 0.0
    return shares


def main(argv: list[str] | None = None) -> int:
    """Serve tasks from stdin until it closes: one JSON line in, one JSON line out."""
    args = sys.argv[1:] if argv is None else argv
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever TensorFlow or Keras print goes to stderr, not into the answers
    initialize(int(args[0]) if args else 1)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer: dict[str, Any] = run(Task.from_json(line))
        except Exception as exc:  # the parent reports it; this worker can serve the next task
            lines = traceback.format_exception_only(type(exc), exc)
            answer = {"error": lines[-1].strip()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
