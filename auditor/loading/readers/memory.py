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
        self, features: Sequence[str], label: str, batch_rows: int, shard_rows: int
    ) -> list[ArrayShard]:
        """Return all rows as one shard; DataError on a non-numeric feature column."""
        data = self._data
        if isinstance(data, tuple):
            x, y = data
            frame = x if hasattr(x, "columns") else None
        else:
            frame, y = data, np.asarray(data[label])
        if frame is None:
            return [ArrayShard(x, y, [self._columns.index(f) for f in features], batch_rows)]
        for name in features:
            kind = getattr(frame[name].dtype, "kind", "O")
            if kind not in "biuf":
                raise DataError(
                    f"{self.path}: feature column '{name}' has dtype {frame[name].dtype}; "
                    "features must be numeric or boolean"
                )
        x = np.asarray(frame[list(features)], dtype=np.float32)
        return [ArrayShard(x, y, None, batch_rows)]

    def _read_columns(self, label: str) -> list[str]:
        # Normalizes (x, y) to a tuple with y as an array, which `separate_labels` relies on.
        data = self._data
        if hasattr(data, "columns") and hasattr(data, "__getitem__"):
            return [str(c) for c in data.columns]
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = data
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
            f"or (x, y) arrays; got {type(data).__name__}"
        )
