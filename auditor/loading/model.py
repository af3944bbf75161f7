"""Loads a saved Keras classifier (.keras, .h5, TF SavedModel) safely and wraps its prediction."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auditor.errors import ModelLoadError
from auditor.loading.architecture import (
    Architecture,
    activation_name,
    read_architecture,
    read_savedmodel_weights,
)
from auditor.loading.inputs import InputSpec, batch_length, dtype_name, input_kind
from auditor.loading.keras_env import import_keras

SUPPORTED = (
    "a sigmoid output with one unit (binary), a softmax output (multiclass), "
    "or logits compiled with a from_logits=True cross-entropy loss"
)


@dataclass(frozen=True)
class ModelInfo:
    """Plain facts about the loaded model, as they appear in report.json."""

    path: str
    format: str
    name: str
    task: str
    n_classes: int
    output: str
    input_names: tuple[str, ...]
    named_inputs: bool
    n_features: int
    input_shape: tuple[int | None, ...]
    parameter_count: int | None
    loss: str
    loss_source: str
    # Where an MLflow model URI led (uri, registered name and version, run id); None for files.
    mlflow: dict[str, Any] | None = None
    # Each input's name, shape and dtype, in the model's order; what `input_kind` is read from.
    inputs: tuple[InputSpec, ...] = ()

    @property
    def input_kind(self) -> str:
        """What the model reads: "table", "image" or "text" (`auditor.loading.inputs`)."""
        return input_kind(self.inputs)

    @property
    def input_dtypes(self) -> dict[str, str]:
        """Each input's dtype by name: "float32", "int64", "string", ..."""
        return {spec.name: spec.dtype for spec in self.inputs}

    def to_dict(self) -> dict[str, Any]:
        """Return the facts as report.json holds them (`mlflow` only for MLflow model URIs)."""
        facts = {
            "path": self.path,
            "format": self.format,
            "name": self.name,
            "task": self.task,
            "n_classes": self.n_classes,
            "output": self.output,
            "input_names": list(self.input_names),
            "named_inputs": self.named_inputs,
            "n_features": self.n_features,
            "input_shape": list(self.input_shape),
            "input_kind": self.input_kind,
            "input_dtypes": self.input_dtypes,
            "parameter_count": self.parameter_count,
            "loss": self.loss,
            "loss_source": self.loss_source,
        }
        if self.mlflow is not None:
            facts["mlflow"] = dict(self.mlflow)
        return facts


@dataclass
class LoadedModel:
    """A model ready to predict: raw outputs, probabilities and per-row loss, batch by batch."""

    info: ModelInfo
    architecture: Architecture
    _predict: Callable[[Any], np.ndarray]
    _loss: Callable[[np.ndarray, np.ndarray], np.ndarray]
    regularization_penalty: float | None = None
    keras_model: Any = field(default=None, repr=False)

    def predict_raw(self, x: Any) -> np.ndarray:
        """Return the model's raw output for a batch's `x` (an array, or a dict of named inputs)."""
        return np.asarray(self._predict(x), dtype=np.float32).reshape(batch_length(x), -1)

    def to_proba(self, raw: np.ndarray) -> np.ndarray:
        """Turn raw outputs into an (n, n_classes) probability matrix."""
        if self.info.output == "logits":
            if raw.shape[1] == 1:
                raw = 1.0 / (1.0 + np.exp(-raw.astype(np.float64)))
            else:
                shifted = raw.astype(np.float64) - raw.max(axis=1, keepdims=True)
                e = np.exp(shifted)
                raw = e / e.sum(axis=1, keepdims=True)
        if raw.shape[1] == 1:
            p1 = raw[:, 0]
            return np.column_stack([1.0 - p1, p1]).astype(np.float32)
        return raw.astype(np.float32)

    def loss(self, y: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Return the per-row data loss (without the regularization penalty)."""
        return self._loss(y, raw)


def detect_format(path: Path) -> str:
    """Name the saved-model format of PATH from its suffix or folder layout."""
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            return "savedmodel"
        raise ModelLoadError(
            f"{path}: a folder without saved_model.pb is not a TF SavedModel; "
            "pass a .keras file, an .h5 file or a folder written by model.export()"
        )
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return "keras"
    if suffix in (".h5", ".hdf5"):
        return "h5"
    raise ModelLoadError(
        f"{path}: unknown model format '{suffix or path.name}'; "
        "supported are .keras, .h5 and TF SavedModel folders"
    )


def load_model(path: str | Path, *, unsafe: bool = False) -> LoadedModel:
    """Load the classifier at PATH; with unsafe=False no code stored in the file is run."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"{path}: model file not found")
    fmt = detect_format(path)
    if fmt == "savedmodel":
        return _load_savedmodel(path)
    _, keras = import_keras()
    model = _load_keras_file(keras, path, unsafe)
    return from_keras_model(model, path=str(path), fmt=fmt)


def _load_keras_file(keras: Any, path: Path, unsafe: bool) -> Any:
    if unsafe:
        _lend_names_to_lambdas(keras)
    try:
        # Keras warns about what it skips (an optimizer's variables, say): not auditor's business,
        # and stderr holds auditor's lines only.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return keras.saving.load_model(path, safe_mode=not unsafe)
    except Exception as exc:  # Keras raises many types; every one becomes one clear line.
        raise ModelLoadError(_explain_load_failure(path, exc, unsafe)) from None


def _lend_names_to_lambdas(keras: Any) -> None:
    """Let a trusted Lambda's code find `keras`, `ops`, `np` and `tf`, as keras.io's examples use.

    Keras stores a Lambda's function as bytecode and loads it with the globals of its own
    `python_utils` module, where none of the names the function was written with exist: a
    `lambda t: keras.ops.tanh(t)` then fails with a NameError, which Keras reports as a model it
    could not build. Only with --unsafe, which already runs the file's code.
    """
    try:
        from keras.src.utils import python_utils
    except ImportError:  # a Keras laid out otherwise: Lambdas see what Keras gives them
        return
    tf, _ = import_keras()
    lent = {"keras": keras, "ops": keras.ops, "np": np, "numpy": np, "tf": tf, "tensorflow": tf}
    for name, module in lent.items():
        python_utils.__dict__.setdefault(name, module)


def _explain_load_failure(path: Path, exc: Exception, unsafe: bool) -> str:
    text = str(exc)
    if "safe_mode" in text or "unsafe_deserialization" in text:
        return (
            f"{path}: the model contains a Lambda layer or other stored Python code, which auditor "
            "does not run by default; if you trust this file, pass --unsafe"
        )
    missing = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if missing:
        return (
            f"{path}: the model uses the custom object '{missing.group(1)}', "
            "whose code is not part of the file; "
            "auditor can only load models built from Keras' own layers and losses"
        )
    if not unsafe and "lambda" in text.lower():
        return f"{path}: the model contains a Lambda layer; if you trust this file, pass --unsafe"
    damaged = _damaged(path)
    if damaged:
        return f"{path}: not a readable Keras model: {damaged}; save it again with model.save"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{path}: not a readable Keras model ({first[:200]})"


def _damaged(path: Path) -> str:
    """Say what is wrong with a model file Keras could not open, when its container is broken.

    Keras reports a truncated .keras file as "File not found"; the file is there, but is no whole
    zip archive (a .keras file is one), or no HDF5 file (an .h5 file starts with its signature).
    """
    import zipfile

    if not path.is_file():
        return ""
    if path.suffix.lower() == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                broken = archive.testzip()
        except (zipfile.BadZipFile, OSError):
            return "the file is not a whole .keras archive (truncated, or not a Keras model)"
        if broken is not None:
            return f"the .keras archive is damaged (its member {broken} does not read back)"
        return ""
    with open(path, "rb") as handle:
        signature = handle.read(8)
    if signature != b"\x89HDF\r\n\x1a\n":
        return "the file is not an HDF5 file (truncated, or not a Keras .h5 model)"
    return ""


def from_keras_model(model: Any, *, path: str = "<in memory>", fmt: str = "keras") -> LoadedModel:
    """Wrap an in-memory Keras model."""
    tf, keras = import_keras()
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):  # subclassed, or a Sequential never built on an input
        outputs = None
    if not outputs:
        raise ModelLoadError(
            f"{path}: the model has no defined inputs and outputs (a subclassed keras.Model, or a "
            "Sequential model never built); auditor audits functional and Sequential models: "
            "start the model with keras.Input(shape=...) and save it again"
        )
    if len(outputs) != 1:
        raise ModelLoadError(
            f"{path}: the model has {len(outputs)} outputs; auditor audits single-output "
            "classifiers"
        )
    out_units = int(outputs[0].shape[-1] or 1)
    loss_obj = getattr(model, "loss", None)
    activation = _output_activation(model)
    from_logits = _loss_from_logits(loss_obj)
    output, task, n_classes = _infer_task(path, activation, out_units, from_logits)
    specs = describe_inputs(model)
    named = len(specs) > 1
    input_names = tuple(spec.name for spec in specs)
    n_features, input_shape = _feature_count(specs)
    loss_fn, loss_name, loss_source = _loss_function(keras, loss_obj, output, n_classes, out_units)

    predict_fn = _fast_predict(tf, model)
    penalty = None
    if model.losses:
        penalty = float(sum(float(np.asarray(v)) for v in model.losses))
    info = ModelInfo(
        path=path,
        format=fmt,
        name=str(model.name),
        task=task,
        n_classes=n_classes,
        output=output,
        input_names=input_names,
        named_inputs=named,
        n_features=n_features,
        input_shape=input_shape,
        parameter_count=int(model.count_params()),
        loss=loss_name,
        loss_source=loss_source,
        inputs=specs,
    )
    return LoadedModel(
        info=info,
        architecture=read_architecture(model),
        _predict=predict_fn,
        _loss=loss_fn,
        regularization_penalty=penalty,
        keras_model=model,
    )


def _fast_predict(tf: Any, model: Any) -> Callable[[Any], np.ndarray]:
    # One traced graph, reused for every batch: far cheaper than model.predict's per-call setup
    # and its default batch_size=32.
    @tf.function(reduce_retracing=True)
    def call(x: Any) -> Any:
        return model(x, training=False)

    return lambda x: call(x).numpy()


def _output_activation(model: Any) -> str:
    layer = model.layers[-1]
    if type(layer).__name__ == "Softmax":
        return "softmax"
    return activation_name(layer) or "linear"


def _loss_from_logits(loss_obj: Any) -> bool:
    get_config = getattr(loss_obj, "get_config", None)
    if callable(get_config):
        try:
            return bool(get_config().get("from_logits", False))
        except Exception:  # A loss without a usable config is treated as probabilities.
            return False
    return False


def _infer_task(path: str, activation: str, units: int, from_logits: bool) -> tuple[str, str, int]:
    if activation == "sigmoid" and units == 1:
        return "probability", "binary", 2
    if activation == "softmax" and units >= 2:
        return "probability", ("binary" if units == 2 else "multiclass"), units
    if activation == "linear" and from_logits:
        n = 2 if units == 1 else units
        return "logits", ("binary" if n == 2 else "multiclass"), n
    # A linear output without a from_logits loss predicts numbers: a regression model.
    what = " (a regression model?)" if activation == "linear" else ""
    raise ModelLoadError(
        f"{path}: the output layer has activation '{activation}' with {units} unit(s){what}; "
        f"auditor audits classifiers: it supports {SUPPORTED}"
    )


def describe_inputs(model: Any) -> tuple[InputSpec, ...]:
    """Return each of the model's inputs by name, shape and dtype, in the model's order."""
    return tuple(
        InputSpec(
            name=str(t.name).split(":")[0],
            shape=tuple(None if d is None else int(d) for d in t.shape),
            dtype=dtype_name(getattr(t, "dtype", "float32")),
        )
        for t in model.inputs
    )


def _feature_count(specs: tuple[InputSpec, ...]) -> tuple[int, tuple[int | None, ...]]:
    """Return the number of input values per row and the input shape report.json shows.

    One input: its own shape, and the product of its per-row dimensions (1 for a (None,) text
    input); several named inputs: one feature each, shown as (None, n_inputs).
    """
    if len(specs) == 1:
        shape = specs[0].shape
        count = int(np.prod([d or 0 for d in shape[1:]])) if len(shape) > 1 else 1
        return count, shape
    return len(specs), (None, len(specs))


def unsupported_inputs(info: ModelInfo) -> str | None:
    """Say why the splits cannot be read for this model's inputs; None when they can.

    Tables are read (one (None, n_features) input, or named inputs of one value per row), texts
    (one string input of one value per row) and images (one (None, height, width[, channels])
    input of fixed size).
    """
    specs = info.inputs
    if not specs:
        return None
    if info.input_kind == "text":
        return None  # one string input, fed a text column (`--text-column`)
    if len(specs) == 1:
        shape = specs[0].shape
        if len(shape) in (3, 4):  # images (None, height, width[, channels])
            if any(d is None for d in shape[1:]):
                return (
                    f"{info.path}: the model's image input has shape {shape}; auditor reads "
                    "images at a fixed size: build the model on keras.Input((height, width, "
                    "channels))"
                )
            return None
        if len(shape) != 2 or shape[1] is None:
            return (
                f"{info.path}: the model's input has shape {shape}; auditor audits models on "
                "tabular rows, with an input of shape (None, n_features) or one named (None, 1) "
                "input per feature"
            )
        return None
    for spec in specs:
        if not spec.is_column:
            return (
                f"{info.path}: input '{spec.name}' has shape {spec.shape}; with several inputs "
                "each must be one feature of shape (None, 1)"
            )
    return None


def _loss_function(
    keras: Any, loss_obj: Any, output: str, n_classes: int, units: int
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str, str]:
    from_logits = output == "logits"
    if loss_obj is None:
        default = default_loss(units)
        fn = keras.losses.get(default)
        return _wrap_loss(fn, default, n_classes, units, from_logits), default, "default"
    if isinstance(loss_obj, str):
        name = loss_obj
        fn = keras.losses.get(loss_obj)
    elif hasattr(loss_obj, "call"):
        name = getattr(loss_obj, "name", type(loss_obj).__name__)
        fn = loss_obj.call  # unreduced: one value per row
    elif callable(loss_obj):
        name = getattr(loss_obj, "__name__", "loss")
        fn = loss_obj
    else:
        raise ModelLoadError(f"the model's compiled loss {loss_obj!r} cannot be used")
    return _wrap_loss(fn, str(name), n_classes, units, False), str(name), "compiled"


def default_loss(units: int) -> str:
    """Return the cross-entropy a model without a compiled loss is judged by."""
    return "binary_crossentropy" if units == 1 else "categorical_crossentropy"


def target_encoder(name: str, n_classes: int, units: int) -> Callable[[np.ndarray], np.ndarray]:
    """Return how labels must be shaped for the loss NAME: indices, a column, or one-hot rows."""
    if "sparse" in name.lower():
        return lambda y: y.astype(np.int64)
    if units == 1:
        return lambda y: y.astype(np.float32).reshape(-1, 1)
    return lambda y: np.eye(n_classes, dtype=np.float32)[y.astype(np.int64)]


def _wrap_loss(
    fn: Callable[..., Any], name: str, n_classes: int, units: int, from_logits: bool
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    encode = target_encoder(name, n_classes, units)

    def per_row(y: np.ndarray, raw: np.ndarray) -> np.ndarray:
        args = {"from_logits": True} if from_logits else {}
        values = fn(encode(y), raw, **args)
        return np.asarray(values, dtype=np.float64).reshape(len(y), -1).mean(axis=1)

    return per_row


def _load_savedmodel(path: Path) -> LoadedModel:
    tf, keras = import_keras()
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:  # TensorFlow raises many types for a damaged folder.
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"{path}: not a readable TF SavedModel ({first})") from None
    endpoint = getattr(loaded, "serve", None)
    signature = loaded.signatures.get("serving_default")
    sig = signature if signature is not None else endpoint
    if sig is None:
        raise ModelLoadError(f"{path}: the SavedModel has no 'serve' or 'serving_default' endpoint")
    specs = sig.structured_input_signature
    flat = [s for s in tf.nest.flatten(specs) if hasattr(s, "shape")]
    if len(flat) != 1 or len(flat[0].shape) != 2 or flat[0].shape[1] is None:
        raise ModelLoadError(
            f"{path}: auditor reads SavedModels with one input of shape (None, n_features); "
            f"this one takes {[tuple(s.shape) for s in flat]}"
        )
    n_features = int(flat[0].shape[1])
    outputs = tf.nest.flatten(sig.structured_outputs)
    units = int(outputs[0].shape[-1] or 1) if outputs and hasattr(outputs[0], "shape") else 1

    def predict(x: Any) -> np.ndarray:
        # Reach the endpoint through `loaded` on every call: the variables live as long as it does.
        tensor = tf.constant(x, dtype=flat[0].dtype)
        if getattr(loaded, "serve", None) is not None:
            return np.asarray(loaded.serve(tensor))
        return np.asarray(list(loaded.signatures["serving_default"](tensor).values())[0])

    task = "binary" if units <= 2 else "multiclass"
    n_classes = 2 if units == 1 else units
    default = default_loss(units)
    fn = keras.losses.get(default)
    info = ModelInfo(
        path=str(path),
        format="savedmodel",
        name=path.name,
        task=task,
        n_classes=n_classes,
        output="probability",
        input_names=(str(flat[0].name or "input"),),
        named_inputs=False,
        n_features=n_features,
        input_shape=(None, n_features),
        parameter_count=None,
        loss=default,
        loss_source="default (a SavedModel keeps no compiled loss)",
        inputs=(
            InputSpec(str(flat[0].name or "input"), (None, n_features), dtype_name(flat[0].dtype)),
        ),
    )
    return LoadedModel(
        info=info,
        architecture=read_savedmodel_weights(loaded),
        _predict=predict,
        _loss=_wrap_loss(fn, default, n_classes, units, False),
    )
