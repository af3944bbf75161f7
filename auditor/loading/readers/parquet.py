"""Parquet splits: read by runs of row groups, each run a shard of at least one full batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

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
        with _open(self.path) as parquet:
            check_numeric(self.path, parquet.schema_arrow, features)
            metadata = parquet.metadata
            sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        return [
            ParquetShard(self.path, groups, tuple(features), label, batch_rows, first_row)
            for groups, first_row in runs(sizes, max(batch_rows, shard_rows))
        ]


def check_numeric(where: Path | str, schema: Any, features: Sequence[str]) -> None:
    """Refuse a feature column of SCHEMA that is neither numeric nor boolean, naming WHERE."""
    import pyarrow as pa

    for name in features:
        kind = schema.field(name).type
        if not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        ):
            raise DataError(
                f"{where}: feature column '{name}' has type {kind}; features must be "
                "numeric or boolean (encode it, or pass --ignore " + name + ")"
            )


def runs(
    sizes: Sequence[int], at_least: int, first_row: int = 0
) -> list[tuple[tuple[int, ...], int]]:
    """Cut row groups of SIZES into consecutive runs of AT_LEAST rows (the last may be shorter).

    Returns each run's row-group numbers and its first row, counted from FIRST_ROW.
    """
    cut: list[tuple[tuple[int, ...], int]] = []
    run: list[int] = []
    run_rows = 0
    for group, size in enumerate(sizes):
        run.append(group)
        run_rows += size
        if run_rows >= at_least or group == len(sizes) - 1:
            cut.append((tuple(run), first_row))
            first_row += run_rows
            run, run_rows = [], 0
    return cut


@dataclass(frozen=True)
class ParquetShard:
    """Consecutive row groups of a Parquet file, read (with their own file handle) in batches."""

    path: Path | str  # a local path, or the path on FILESYSTEM
    row_groups: tuple[int, ...]
    features: tuple[str, ...]
    label: str
    batch_rows: int
    first_row: int
    # A file of a dataset: the filesystem it is on, and its hive partition's column values.
    filesystem: Any = None
    constants: tuple[tuple[str, Any], ...] = ()
    where: str = ""  # the file's name in messages (a URI), when not PATH

    @property
    def name(self) -> str:
        """The shard's file, as messages name it."""
        return self.where or str(self.path)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (features, raw labels) of at most `batch_rows` rows, across row-group borders."""
        import pyarrow as pa

        from auditor.loading.readers._arrow import to_arrays

        fixed = dict(self.constants)
        stored = [c for c in (*self.features, self.label) if c not in fixed]
        with _open(self.path, self.filesystem, self.name) as parquet:
            try:
                for batch in parquet.iter_batches(
                    batch_size=self.batch_rows, row_groups=list(self.row_groups), columns=stored
                ):
                    for name, value in fixed.items():  # a hive partition's key, one value
                        batch = batch.append_column(name, pa.array([value] * batch.num_rows))
                    yield to_arrays(batch, self.features, self.label)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(
                    f"{self.name}: could not read the Parquet data ({one_line(exc)})"
                ) from None


def one_line(exc: BaseException) -> str:
    """Return the first line of an error's text (Arrow's messages may carry a detail block)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def _open(path: Path | str, filesystem: Any = None, where: str = "") -> Iterator[pq.ParquetFile]:
    """Open a Parquet file, local or on FILESYSTEM; DataError naming it (WHERE) if it cannot be."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source: Any = path
    try:
        if filesystem is not None:
            source = filesystem.open_input_file(str(path))
        # pre_buffer would cache every column chunk it reads for the life of the file object
        # (the whole shard, by the end); a small read buffer keeps memory to one row group.
        parquet = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 20)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{where or path}: not a readable Parquet file ({one_line(exc)})") from None
    try:
        yield parquet
    finally:
        parquet.close()
        if source is not path:  # a file of a dataset, opened here
            source.close()
