"""In-memory splits (Python API): a DataFrame with the label column, or (x, y) arrays."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from auditor.errors import DataError
from auditor.loading.readers._arrays import ArrayShard


class MemoryReader:
    """Data handed over in memory, shown in messages as `path` (e.g. "<val data>"); one shard."""

    format: ClassVar[str] = "memory"

    def __init__(self, data: Any, path: Path, label: str) -> None:
        self.path = path
        self._data = data
        self._columns = self._read_columns(label)

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
    ) -> list[ArrayShard]:
        """Return all rows as one shard; DataError on a non-numeric column that is not TEXT."""
        data = self._data
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
            if x.ndim != 2:
                raise DataError(f"{self.path}: x has shape {x.shape}; expected (rows, features)")
            if len(np.asarray(y)) != len(x):
                raise DataError(f"{self.path}: x has {len(x)} rows but y has {len(np.asarray(y))}")
            self._data = (x, np.asarray(y))
            return [f"x{i}" for i in range(x.shape[1])]
        raise DataError(
            f"{self.path}: pass a path, a DataFrame with a '{label}' column, "
            f"(x, y) arrays, or (dict of arrays by input name, y); got {type(data).__name__}"
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
