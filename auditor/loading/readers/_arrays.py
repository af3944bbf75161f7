"""A shard over numpy arrays already in memory (NPZ files and in-memory data)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ArrayShard:
    """Rows of `x` (columns `index` of it, or all) and `y`, sliced into batches as they are read.

    `text` holds the text features' columns by name (object arrays of str, None where missing).
    """

    x: np.ndarray
    y: np.ndarray
    index: list[int] | None
    batch_rows: int
    first_row: int = 0
    text: Mapping[str, np.ndarray] = field(default_factory=dict)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """Yield float32 copies of at most `batch_rows` rows, so only one batch is ever copied."""
        for i in range(0, len(self.x), self.batch_rows):
            block = self.x[i : i + self.batch_rows]
            if self.index is not None:
                block = block[:, self.index]
            yield (
                np.ascontiguousarray(block, dtype=np.float32),
                np.asarray(self.y[i : i + self.batch_rows]),
                {name: values[i : i + self.batch_rows] for name, values in self.text.items()},
            )
