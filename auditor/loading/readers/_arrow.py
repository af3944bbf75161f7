"""Arrow record batches to the numpy arrays the readers yield (shared by CSV and Parquet)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa


def to_arrays(
    batch: pa.RecordBatch, features: Sequence[str], label: str, text: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Copy out the features as float32 (n, f), nulls as NaN, and the label column as stored.

    The TEXT columns come as object arrays of str (None where null), NaN in the float32 array.
    """
    x = np.empty((batch.num_rows, len(features)), dtype=np.float32)
    strings: dict[str, np.ndarray] = {}
    for i, name in enumerate(features):
        column = batch.column(name)
        if name in text:
            if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
                column = column.cast(pa.string())  # dictionary (categorical), booleans, numbers
            strings[name] = np.array(column.to_pylist(), dtype=object)
            x[:, i] = np.nan
            continue
        if column.null_count:
            column = column.cast(pa.float64()).fill_null(np.nan)
        x[:, i] = column.to_numpy(zero_copy_only=False)
    y = np.array(batch.column(label).to_numpy(zero_copy_only=False))
    del batch
    # The batch is copied out: hand Arrow's freed buffers back to the system now rather than
    # let its allocator keep the high-water mark of every batch read (~100 MB).
    pa.default_memory_pool().release_unused()
    return x, y, strings


def split(batch: pa.RecordBatch, rows: int) -> Iterator[pa.RecordBatch]:
    """Yield zero-copy slices of at most `rows` rows of the batch."""
    for offset in range(0, batch.num_rows, rows):
        yield batch.slice(offset, rows)
