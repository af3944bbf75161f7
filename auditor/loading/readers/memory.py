"""In-memory splits (Python API): a DataFrame with the label column, (x, y) arrays, or images.

Images come as (x, y) with x of shape (n, height, width[, channels]), or as a tf.data.Dataset of
(x, y) batches (read batch by batch, as Keras' fit and predict take it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from auditor.errors import DataError
from auditor.loading.readers._arrays import ArrayShard, ImageArrayShard, is_image_array


def is_tf_dataset(data: Any) -> bool:
    """Whether DATA is a tf.data.Dataset (told by its interface: TensorFlow is not imported)."""
    return hasattr(data, "element_spec") and hasattr(data, "as_numpy_iterator")


class MemoryReader:
    """Data handed over in memory, shown in messages as `path` (e.g. "<val data>"); one shard."""

    format: ClassVar[str] = "memory"

    def __init__(self, data: Any, path: Path, label: str) -> None:
        self.path = path
        self._data = data
        self.kind = "table"
        self._columns = self._read_columns(label)

    def describe(self) -> str:
        """Say how the split was read, for the report."""
        if is_tf_dataset(self._data):
            return "tf.data.Dataset of (x, y) batches, fed to the model as it yields them"
        shape = " x ".join(str(d) for d in self._data[0].shape[1:])
        return f"array of {shape} images, fed to the model as given (not resized)"

    def image(self, row: int) -> np.ndarray | None:
        """Return the image of ROW (None for a tf.data.Dataset, which is not indexed)."""
        if is_tf_dataset(self._data):
            return None
        return np.asarray(self._data[0][row], dtype=np.float32)

    def name(self, row: int) -> str | None:
        """Images in memory have no file name."""
        return None

    @property
    def separate_labels(self) -> bool:
        """True for (x, y) data: the labels are their own array, not a column."""
        return isinstance(self._data, tuple)

    def columns(self) -> list[str]:
        """Return the DataFrame's column names, or x0, x1, ... for an array."""
        return self._columns

    def shards(
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> list[Any]:
        """Return all rows as one shard; DataError on a non-numeric column that is not TEXT."""
        data = self._data
        if is_tf_dataset(data):
            return [_DatasetShard(data, self.path)]
        if self.kind == "image":
            return [ImageArrayShard(data[0], data[1], batch_rows)]
        if isinstance(data, tuple):
            x, y = data
            frame = x if hasattr(x, "columns") else None
        else:
            frame, y = data, np.asarray(data[label])
        if frame is None:
            if text:
                raise DataError(
                    f"{self.path}: the model takes text input(s) {', '.join(text)}; pass a "
                    "DataFrame or a dict of arrays with those columns, not one numeric array"
                )
            return [ArrayShard(x, y, [self._columns.index(f) for f in features], batch_rows)]
        numeric = [name for name in features if name not in text]
        words = [n for n in numeric if getattr(frame[n].dtype, "kind", "O") not in "biuf"]
        if words:
            raise DataError(
                f"{self.path}: feature column(s) {', '.join(words)} hold text (dtype "
                f"{frame[words[0]].dtype}); the model takes numbers there: encode them, give "
                "the model one named string input per such column, or leave them out"
            )
        x = np.full((len(frame), len(features)), np.nan, dtype=np.float32)
        for i, name in enumerate(features):
            if name not in text:
                x[:, i] = np.asarray(frame[name], dtype=np.float32)
        strings = {name: _text_values(frame[name]) for name in text}
        return [ArrayShard(x, y, None, batch_rows, text=strings)]

    def _read_columns(self, label: str) -> list[str]:
        # Normalizes (x, y) to a tuple with y as an array, which `separate_labels` relies on.
        data = self._data
        if is_tf_dataset(data):
            spec = data.element_spec
            if not isinstance(spec, tuple) or len(spec) != 2:
                raise DataError(f"{self.path}: a tf.data.Dataset must yield (x, y) batches")
            rank = len(spec[0].shape)
            self.kind = "image" if rank in (3, 4) else "table"
            width = spec[0].shape[-1] if rank == 2 else None
            return [f"x{i}" for i in range(width)] if width else []
        if hasattr(data, "columns") and hasattr(data, "__getitem__"):
            return [str(c) for c in data.columns]
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = data
            if isinstance(x, dict):  # a multi-input model's arrays, one per input name
                x = _frame_of(x, self.path)
            if hasattr(x, "columns"):
                self._data = (x, np.asarray(y))
                return [str(c) for c in x.columns]
            x = np.asarray(x)
            if is_image_array(x) and len(np.asarray(y)) == len(x):
                self.kind = "image"
                self._data = (x, np.asarray(y))
                return []
            if x.ndim != 2:
                raise DataError(f"{self.path}: x has shape {x.shape}; expected (rows, features)")
            if len(np.asarray(y)) != len(x):
                raise DataError(f"{self.path}: x has {len(x)} rows but y has {len(np.asarray(y))}")
            self._data = (x, np.asarray(y))
            return [f"x{i}" for i in range(x.shape[1])]
        raise DataError(
            f"{self.path}: pass a path, a DataFrame with a '{label}' column, (x, y) arrays, "
            "(dict of arrays by input name, y) or a tf.data.Dataset of (x, y) batches; got "
            f"{type(data).__name__}"
        )


def _frame_of(arrays: dict[str, Any], path: Path) -> Any:
    """Turn a dict input name -> array of one value per row ((n,) or (n, 1)) into a DataFrame."""
    import pandas as pd

    columns = {}
    for name, values in arrays.items():
        column = np.asarray(values)
        if column.ndim == 2 and column.shape[1] == 1:
            column = column[:, 0]
        if column.ndim != 1:
            raise DataError(
                f"{path}: input '{name}' has shape {column.shape}; a dict of arrays needs one "
                "value per row for each input, shape (n,) or (n, 1)"
            )
        columns[str(name)] = column
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise DataError(f"{path}: the inputs' arrays have different lengths {sorted(lengths)}")
    return pd.DataFrame(columns)


def _text_values(column: Any) -> np.ndarray:
    """Return a column as an object array of str, None where missing (NaN, None, pd.NA)."""
    import pandas as pd

    values = np.asarray(column, dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    out = np.array([str(v) for v in values], dtype=object)
    out[missing] = None
    return out


class _DatasetShard:
    """A tf.data.Dataset of (x, y) batches as one shard, read again from the start each time."""

    first_row = 0

    def __init__(self, dataset: Any, path: Path) -> None:
        self._dataset = dataset
        self._path = path

    def batches(self) -> Any:
        """Yield the dataset's batches as float32 arrays (images with no stored sizes)."""
        for x, y in self._dataset.as_numpy_iterator():
            x = np.asarray(x, dtype=np.float32)
            labels = np.asarray(y)
            if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot, as categorical losses take
                labels = labels.argmax(axis=1)
            labels = labels.reshape(len(x))
            if x.ndim in (3, 4):
                yield x, labels, None
            elif x.ndim == 2:
                yield x, labels
            else:
                raise DataError(
                    f"{self._path}: the dataset yields x of shape {x.shape}; expected batches "
                    "(rows, features) or (images, height, width[, channels])"
                )
