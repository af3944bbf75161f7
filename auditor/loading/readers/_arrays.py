"""Shards over numpy arrays already in memory (NPZ files and in-memory data): rows or images."""

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


@dataclass(frozen=True, eq=False)
class ImageArrayShard:
    """Images `x` (n, height, width[, channels]) and labels `y` in memory, sliced into batches."""

    x: np.ndarray
    y: np.ndarray
    batch_rows: int
    first_row: int = 0

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, None]]:
        """Yield float32 copies of at most `batch_rows` images; arrays keep no stored sizes."""
        for i in range(0, len(self.x), self.batch_rows):
            yield (
                np.ascontiguousarray(self.x[i : i + self.batch_rows], dtype=np.float32),
                np.asarray(self.y[i : i + self.batch_rows]),
                None,
            )


def is_image_array(x: np.ndarray) -> bool:
    """Whether X holds images: (n, height, width) or (n, height, width, channels) numbers."""
    return x.ndim in (3, 4) and (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_)
