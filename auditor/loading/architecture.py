"""Reads a model's layers, penalties, dropout and weights into plain values (no Keras past here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DROPOUT_CLASSES = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "AlphaDropout",
    "GaussianDropout",
)
CONV_CLASSES = ("Conv1D", "Conv2D", "Conv3D")
RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN")
# The argument that regularizes a layer's main weight matrix: an Embedding's table is its kernel.
KERNEL_ARGUMENT = {"Embedding": "embeddings_regularizer"}


def kernel_argument(class_name: str) -> str:
    """Return the constructor argument that regularizes the main weights of a CLASS_NAME layer."""
    return KERNEL_ARGUMENT.get(class_name, "kernel_regularizer")


@dataclass(frozen=True)
class Penalty:
    """An L1/L2 penalty as Keras applies it: l1 * sum|w| + l2 * sum w^2."""

    l1: float = 0.0
    l2: float = 0.0
    kind: str = "L1L2"

    @property
    def active(self) -> bool:
        """Whether either strength is above zero."""
        return self.l1 > 0 or self.l2 > 0

    def to_dict(self) -> dict[str, Any]:
        """Return the penalty as report.json holds it."""
        return {"l1": self.l1, "l2": self.l2, "class": self.kind}


@dataclass(frozen=True)
class LayerFacts:
    """One layer's regularization and weights."""

    name: str
    class_name: str
    units: int | None = None
    activation: str | None = None
    kernel_regularizer: Penalty | None = None
    bias_regularizer: Penalty | None = None
    activity_regularizer: Penalty | None = None
    dropout_rate: float | None = None
    recurrent_regularizer: Penalty | None = None
    recurrent_dropout: float | None = None
    filters: int | None = None
    kernel_size: tuple[int, ...] | None = None
    input_dim: int | None = None
    output_dim: int | None = None
    kernel: np.ndarray | None = field(default=None, repr=False, compare=False)
    recurrent_kernel: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def penalties(self) -> tuple[Penalty, ...]:
        """The layer's active weight penalties (kernel, recurrent and bias), activity excluded."""
        regs = (self.kernel_regularizer, self.recurrent_regularizer, self.bias_regularizer)
        return tuple(p for p in regs if p is not None and p.active)

    def to_dict(self) -> dict[str, Any]:
        """Return the layer's facts as report.json holds them (the kernel only by its shape)."""

        def pen(p: Penalty | None) -> dict[str, Any] | None:
            return p.to_dict() if p else None

        return {
            "name": self.name,
            "class": self.class_name,
            "units": self.units,
            "activation": self.activation,
            "kernel_regularizer": pen(self.kernel_regularizer),
            "bias_regularizer": pen(self.bias_regularizer),
            "activity_regularizer": pen(self.activity_regularizer),
            "dropout_rate": self.dropout_rate,
            "kernel_shape": list(self.kernel.shape) if self.kernel is not None else None,
            "recurrent_regularizer": pen(self.recurrent_regularizer),
            "recurrent_dropout": self.recurrent_dropout,
            "recurrent_kernel_shape": (
                list(self.recurrent_kernel.shape) if self.recurrent_kernel is not None else None
            ),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size) if self.kernel_size is not None else None,
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
        }


@dataclass(frozen=True)
class Architecture:
    """What the audit knows of the model's structure; `config_readable` is False for SavedModels."""

    layers: tuple[LayerFacts, ...]
    config_readable: bool
    optimizer: str | None = None  # the optimizer's class (Adam), not Keras' instance name
    weight_decay: float | None = None
    note: str = ""
    learning_rate: float | None = None  # None when a schedule sets it

    @property
    def weighted_layers(self) -> tuple[LayerFacts, ...]:
        """The layers that have a kernel."""
        return tuple(layer for layer in self.layers if layer.kernel is not None)

    def to_dict(self) -> dict[str, Any]:
        """Return the architecture as report.json holds it."""
        return {
            "config_readable": self.config_readable,
            "optimizer": self.optimizer,
            "weight_decay": self.weight_decay,
            "learning_rate": self.learning_rate,
            "note": self.note,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _penalty(reg: Any) -> Penalty | None:
    if reg is None:
        return None
    config = reg.get_config() if hasattr(reg, "get_config") else {}
    kind = type(reg).__name__
    l1 = float(config.get("l1", 0.0) or 0.0)
    l2 = float(config.get("l2", 0.0) or 0.0)
    return Penalty(l1=l1, l2=l2, kind=kind)


def _flatten(layers: Any) -> list[Any]:
    flat: list[Any] = []
    for layer in layers:
        inner = getattr(layer, "layers", None)
        if inner:
            flat.extend(_flatten(inner))
        else:
            flat.append(layer)
    return flat


def activation_name(layer: Any) -> str | None:
    """Return a layer's activation by name ("relu", "sigmoid"), or None when it has none."""
    act = layer.get_config().get("activation") if hasattr(layer, "get_config") else None
    if isinstance(act, dict):
        act = act.get("config", {}).get("name") or act.get("class_name")
    return str(act) if act is not None else None


def _array(value: Any) -> np.ndarray | None:
    return np.array(value, dtype=np.float32) if value is not None else None


def _rate(value: Any) -> float | None:
    return float(value) if value is not None else None


def read_layer(layer: Any) -> LayerFacts:
    """Read one Keras layer's penalties, dropout and weights.

    Recurrent layers keep their weights and penalties on their cell; an Embedding's table and its
    `embeddings_regularizer` are read as its kernel and kernel regularizer.
    """
    cls = type(layer).__name__
    cell = getattr(layer, "cell", None) if cls in RECURRENT_CLASSES else None
    owner = cell if cell is not None else layer
    recurrent = cell if cell is not None else object()  # no recurrent attributes
    if cls == "Embedding":
        kernel = getattr(layer, "embeddings", None)
        kernel_reg = getattr(layer, "embeddings_regularizer", None)
    else:
        kernel = getattr(owner, "kernel", None)
        kernel_reg = getattr(owner, "kernel_regularizer", None)
    if cls in DROPOUT_CLASSES:
        rate = getattr(layer, "rate", None)
    elif cell is not None:
        rate = getattr(cell, "dropout", None)
    else:
        rate = None
    size = getattr(layer, "kernel_size", None) if cls in CONV_CLASSES else None
    return LayerFacts(
        name=layer.name,
        class_name=cls,
        units=getattr(owner, "units", None),
        activation=activation_name(layer),
        kernel_regularizer=_penalty(kernel_reg),
        bias_regularizer=_penalty(getattr(owner, "bias_regularizer", None)),
        activity_regularizer=_penalty(getattr(layer, "activity_regularizer", None)),
        dropout_rate=_rate(rate),
        recurrent_regularizer=_penalty(getattr(recurrent, "recurrent_regularizer", None)),
        recurrent_dropout=_rate(getattr(recurrent, "recurrent_dropout", None)),
        filters=getattr(layer, "filters", None) if cls in CONV_CLASSES else None,
        kernel_size=tuple(int(k) for k in size) if size is not None else None,
        input_dim=getattr(layer, "input_dim", None) if cls == "Embedding" else None,
        output_dim=getattr(layer, "output_dim", None) if cls == "Embedding" else None,
        kernel=_array(kernel),
        recurrent_kernel=_array(getattr(recurrent, "recurrent_kernel", None)),
    )


def read_architecture(model: Any) -> Architecture:
    """Read regularizers, dropout rates, kernels and optimizer weight decay from a Keras model."""
    facts = [
        read_layer(layer)
        for layer in _flatten(model.layers)
        if type(layer).__name__ != "InputLayer"
    ]
    optimizer = getattr(model, "optimizer", None)
    name, decay, rate = None, None, None
    if optimizer is not None and hasattr(optimizer, "get_config"):
        config = optimizer.get_config()
        # Keras names instances adam, adam_1, ... in creation order: the class says what it is.
        name = type(optimizer).__name__
        wd = config.get("weight_decay")
        decay = float(wd) if wd else None
        lr = config.get("learning_rate")
        # Keras keeps a float32: its 7 significant digits say it all (0.001, not 0.0010000000475).
        rate = float(f"{lr:.7g}") if isinstance(lr, (int, float)) else None
    return Architecture(
        layers=tuple(facts),
        config_readable=True,
        optimizer=name,
        weight_decay=decay,
        learning_rate=rate,
    )


def read_savedmodel_weights(loaded: Any) -> Architecture:
    """Read the 2-D weight matrices of a SavedModel; its layer configuration is not stored."""
    kernels = []
    for i, var in enumerate(getattr(loaded, "variables", []) or []):
        value = np.array(var)
        if value.ndim == 2:
            name = str(getattr(var, "path", None) or getattr(var, "name", f"weight_{i}"))
            kernels.append(LayerFacts(name=name, class_name="unknown", kernel=value))
    return Architecture(
        layers=tuple(kernels),
        config_readable=False,
        note=(
            "A TF SavedModel does not keep the Keras layer configuration: regularizers, dropout "
            "rates and the optimizer could not be read. Weights were analysed; audit the .keras "
            "file for regularization advice."
        ),
    )
