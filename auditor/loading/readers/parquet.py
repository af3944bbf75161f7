"""Parquet splits: read by runs of row groups, each run a shard of at least one full batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from auditor.errors import DataError

if TYPE_CHECKING:
    import pyarrow.parquet as pq

# pyarrow is imported where files are opened, not here: the CLI imports this module (through the
# READERS table) for its --help, and pyarrow.parquet takes about 170 ms to import.


class ParquetReader:
    """A Parquet file; runs of its row groups, each of at least `shard_rows` rows, are shards."""

    format: ClassVar[str] = "parquet"
    separate_labels = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def columns(self) -> list[str]:
        """Return the schema's column names."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(self.path).names)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path}: not a readable Parquet file ({exc})") from None

    def shards(
        self, features: Sequence[str], label: str, batch_rows: int, shard_rows: int
    ) -> list[ParquetShard]:
        """Cut the file into runs of consecutive row groups of at least `shard_rows` rows each.

        The last run may be shorter; a run is never shorter than a batch, so a file written in many
        small row groups is still read in full batches, and few batches are cut short at a shard's
        end. A file with one row group is one shard. DataError when a feature column is not
        numeric or boolean.
        """
        import pyarrow as pa

        with _open(self.path) as parquet:
            schema = parquet.schema_arrow
            for name in features:
                kind = schema.field(name).type
                if not (
                    pa.types.is_integer(kind)
                    or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind)
                ):
                    raise DataError(
                        f"{self.path}: feature column '{name}' has type {kind}; features must be "
                        "numeric or boolean (encode it, or pass --ignore " + name + ")"
                    )
            metadata = parquet.metadata
            sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        shards: list[ParquetShard] = []
        run: list[int] = []
        first_row = run_rows = 0
        for group, size in enumerate(sizes):
            run.append(group)
            run_rows += size
            if run_rows >= max(batch_rows, shard_rows) or group == len(sizes) - 1:
                shards.append(
                    ParquetShard(
                        self.path, tuple(run), tuple(features), label, batch_rows, first_row
                    )
                )
                first_row += run_rows
                run, run_rows = [], 0
        return shards


@dataclass(frozen=True)
class ParquetShard:
    """Consecutive row groups of a Parquet file, read (with their own file handle) in batches."""

    path: Path
    row_groups: tuple[int, ...]
    features: tuple[str, ...]
    label: str
    batch_rows: int
    first_row: int

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (features, raw labels) of at most `batch_rows` rows, across row-group borders."""
        import pyarrow as pa

        from auditor.loading.readers._arrow import to_arrays

        with _open(self.path) as parquet:
            try:
                for batch in parquet.iter_batches(
                    batch_size=self.batch_rows,
                    row_groups=list(self.row_groups),
                    columns=[*self.features, self.label],
                ):
                    yield to_arrays(batch, self.features, self.label)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{self.path}: could not read the Parquet data ({exc})") from None


def _open(path: Path) -> pq.ParquetFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pre_buffer would cache every column chunk it reads for the life of the file object
        # (the whole shard, by the end); a small read buffer keeps memory to one row group.
        return pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
