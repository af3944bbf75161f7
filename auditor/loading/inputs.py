"""What a model's inputs are (name, shape, dtype, and the input kind) and how a batch feeds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# The input kinds report.json names; the data checks that apply depend on the kind.
INPUT_KINDS = ("table", "image", "text")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, its shape (None for the batch dimension) and its dtype.

    `dtype` is "string" for tf.string inputs, else the NumPy name ("float32", "int64", "bool").
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"

    @property
    def per_row(self) -> tuple[int | None, ...]:
        """The shape of one example (the shape without its batch dimension)."""
        return self.shape[1:]

    @property
    def is_column(self) -> bool:
        """Whether the input takes one value per row: shape (None,) or (None, 1)."""
        return self.per_row in ((), (1,))


def dtype_name(dtype: Any) -> str:
    """Name a Keras/TensorFlow dtype as report.json does: "string", "float32", "int64", ..."""
    name = str(getattr(dtype, "name", dtype) or "float32")
    name = name.removeprefix("<dtype: '").removesuffix("'>")
    return "string" if name in ("string", "str", "object") else name


def input_kind(specs: Sequence[InputSpec]) -> str:
    """Tell what the model reads: "image", "text" or "table".

    "image": one input (None, h, w[, c]); "text": one string input of one value per row;
    "table": one row vector, or one named input per column.
    """
    if len(specs) == 1:
        spec = specs[0]
        if len(spec.shape) >= 3:
            return "image"
        if spec.dtype == "string" and spec.is_column:
            return "text"
    return "table"


def batch_length(x: Any) -> int:
    """Return the number of rows of a model feed: an array, or a dict name -> array."""
    if isinstance(x, dict):
        return len(next(iter(x.values()))) if x else 0
    return len(x)


def numpy_dtype(spec: InputSpec) -> Any:
    """Return the NumPy dtype a column fed to SPEC is given (strings as Python objects)."""
    if spec.dtype == "string":
        return object
    try:
        return np.dtype(spec.dtype)
    except TypeError:
        return np.float32


def column_feed(values: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Shape one column of a batch for a named input: (n,) for (None,), else (n, 1)."""
    values = np.asarray(values)
    wanted = numpy_dtype(spec)
    if values.dtype != wanted:
        values = values.astype(wanted)
    return values if spec.per_row == () else values.reshape(-1, 1)


def table_feed(
    table: np.ndarray, features: Sequence[str], specs: Sequence[InputSpec], named: bool
) -> Any:
    """Return what the model's predict takes for float32 rows TABLE (columns FEATURES).

    A model with one vector input takes the array itself; a model with named inputs takes a dict
    of one column per input, in the input's dtype.
    """
    if not named:
        return table
    index = {name: i for i, name in enumerate(features)}
    return {spec.name: column_feed(table[:, index[spec.name]], spec) for spec in specs}
