"""Arrow record batches to the numpy arrays the readers yield (shared by CSV and Parquet)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa


def to_arrays(
    batch: pa.RecordBatch, features: Sequence[str], label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Copy out the features as float32 (n, f), nulls as NaN, and the label column as stored."""
    x = np.empty((batch.num_rows, len(features)), dtype=np.float32)
    for i, name in enumerate(features):
        column = batch.column(name)
        if column.null_count:
            column = column.cast(pa.float64()).fill_null(np.nan)
        x[:, i] = column.to_numpy(zero_copy_only=False)
    y = np.array(batch.column(label).to_numpy(zero_copy_only=False))
    del batch
    # The batch is copied out: hand Arrow's freed buffers back to the system now rather than
    # let its allocator keep the high-water mark of every batch read (~100 MB).
    pa.default_memory_pool().release_unused()
    return x, y


def split(batch: pa.RecordBatch, rows: int) -> Iterator[pa.RecordBatch]:
    """Yield zero-copy slices of at most `rows` rows of the batch."""
    for offset in range(0, batch.num_rows, rows):
        yield batch.slice(offset, rows)
