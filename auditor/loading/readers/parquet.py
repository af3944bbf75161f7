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
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> list[ParquetShard]:
        """Cut the file into runs of consecutive row groups of at least `shard_rows` rows each.

        The last run may be shorter; a run is never shorter than a batch, so a file written in many
        small row groups is still read in full batches, and few batches are cut short at a shard's
        end. A file with one row group is one shard. DataError when a feature column that is not
        TEXT is not numeric or boolean.
        """
        with _open(self.path) as parquet:
            check_numeric(self.path, parquet.schema_arrow, features, text)
            metadata = parquet.metadata
            sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        return [
            ParquetShard(
                self.path, groups, tuple(features), label, batch_rows, first_row, text=tuple(text)
            )
            for groups, first_row in runs(sizes, max(batch_rows, shard_rows))
        ]


def check_numeric(
    where: Path | str, schema: Any, features: Sequence[str], text: Sequence[str] = ()
) -> None:
    """Refuse feature columns of SCHEMA that are neither numeric nor boolean, naming WHERE.

    TEXT columns are read as text and pass; the message names every column refused.
    """
    import pyarrow as pa

    bad = []
    for name in features:
        kind = schema.field(name).type
        if name not in text and not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        ):
            bad.append((name, kind))
    if len(bad) == 1:
        name, kind = bad[0]
        raise DataError(
            f"{where}: feature column '{name}' has type {kind}; features must be "
            "numeric or boolean (encode it, or pass --ignore " + name + ")"
        )
    if bad:
        names = ", ".join(name for name, _ in bad)
        raise DataError(
            f"{where}: feature columns {names} hold text or other non-numbers (first: "
            f"'{bad[0][0]}', type {bad[0][1]}), where the model takes numbers: encode them, give "
            "the model one named string input per such column (StringLookup inside), or pass "
            f"--ignore for each of {names}"
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
    text: tuple[str, ...] = ()  # features read as text (the model's string inputs)

    @property
    def name(self) -> str:
        """The shard's file, as messages name it."""
        return self.where or str(self.path)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """Yield (features, raw labels, text columns) of at most `batch_rows` rows.

        Batches run across row-group borders.
        """
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
                    yield to_arrays(batch, self.features, self.label, self.text)
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
