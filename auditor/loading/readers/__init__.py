"""Split readers: one module per input kind behind one protocol, and the table that picks them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from auditor.errors import DataError
from auditor.loading.readers.csv import CsvReader
from auditor.loading.readers.dataset import DatasetReader, is_dataset
from auditor.loading.readers.image_folder import ImageFolderReader, is_image_folder
from auditor.loading.readers.memory import MemoryReader
from auditor.loading.readers.npz import NpzReader
from auditor.loading.readers.parquet import ParquetReader

# Raw rows as a reader yields them: float32 features (n, f) in model order, the labels as stored
# (numbers, booleans or text), and the text columns asked for, by name, as object arrays of str
# (None where missing; their columns of the float32 array hold NaN until they are encoded).
# Turning labels into class indices and text into codes is shared (loading.data).
# Image readers yield images (n, height, width[, channels]), labels, and each image's stored
# (height, width) as read from its file (None for arrays) in place of the text columns.
RawBatch = tuple[Any, ...]


class RawShard(Protocol):
    """A run of a split's rows that can be read on its own, in batches of at most `batch_rows`."""

    @property
    def first_row(self) -> int:
        """The row number of the shard's first row within the split (0-based, header excluded)."""
        ...

    def batches(self) -> Iterator[RawBatch]:
        """Yield the shard's rows in order; each call reads them again from the start."""
        ...


class Reader(Protocol):
    """One input kind: its column names, and its rows cut into shards."""

    format: ClassVar[str]  # the name in FORMATS: "csv", "parquet", ...

    @property
    def path(self) -> Path | str:
        """The file's path, or a dataset's folder, glob or URI as given: what messages name."""
        ...

    @property
    def separate_labels(self) -> bool:
        """Whether labels come as their own array ("y") rather than as a column."""
        ...

    def columns(self) -> list[str]:
        """Return the column names (header or schema), labels included when they are a column."""
        ...

    def shards(
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> Sequence[RawShard]:
        """Cut the rows into consecutive shards, first row first, of about SHARD_ROWS rows or more.

        TEXT names the features read as text (a model's string inputs); the others must be
        numbers or booleans. TEXT is only passed when there is some, and batches may be
        (features, labels) pairs, so a format that reads no text can leave both out. A format
        that cannot be cut (CSV) gives one shard.
        """
        ...


class FileReader(Reader, Protocol):
    """A reader of one file format, made from the file's path."""

    def __init__(self, path: Path) -> None: ...


# Adding a format is one module implementing FileReader plus its suffix(es) here; messages and
# the CLI's help list the formats from this table.
READERS: dict[str, type[FileReader]] = {
    ".csv": CsvReader,
    ".parquet": ParquetReader,
    ".pq": ParquetReader,
    ".npz": NpzReader,
}


def supported_formats() -> str:
    """Name the formats for messages and help, one suffix each: ".csv, .parquet or .npz"."""
    # The first suffix of each reader names it; aliases (.pq) would only lengthen the message.
    first: dict[type[FileReader], str] = {}
    for suffix, cls in READERS.items():
        first.setdefault(cls, suffix)
    suffixes = list(first.values())
    if len(suffixes) == 1:
        return suffixes[0]
    return f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"


def open_source(name: str, source: Any, label: str) -> Reader:
    """Pick the reader for the `name` split: a file's by its suffix, a dataset's, in-memory data's.

    A folder with one sub-folder of PNG/JPEG files per class is an image folder; another folder,
    a glob or a URI (`s3://...`) is a Parquet dataset. LABEL names the label column,
    which in-memory data's errors mention.
    """
    if not isinstance(source, (str, Path)):
        # In-memory data (Python API): a DataFrame with the label column, (x, y) arrays or a
        # tf.data.Dataset of (x, y) batches.
        return MemoryReader(source, Path(f"<{name} data>"), label)
    if "://" not in str(source) and is_image_folder(Path(source)):
        return ImageFolderReader(Path(source))
    if is_dataset(source):
        return DatasetReader(source, name)
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: {name} split not found")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unknown data format '{path.suffix}'; use {supported_formats()}")
    return reader(path)
