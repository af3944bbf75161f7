"""Reads a data split (CSV, Parquet or NPZ) in batches of numeric features and integer labels."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from auditor.errors import DataError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}
DEFAULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Batch:
    """A block of rows: float32 features (n, f), integer class labels (n,), first row's number."""

    x: np.ndarray
    y: np.ndarray
    start: int
    # Row offsets kept from the block, when invalid rows were dropped.
    kept: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """The file row number (0-based, header excluded) of each row of the batch."""
        offsets = self.kept if self.kept is not None else np.arange(len(self.x))
        return self.start + offsets


@dataclass(frozen=True)
class ReadOptions:
    """How to turn a file into features and labels."""

    label: str = "label"
    ignore: tuple[str, ...] = ()
    classes: tuple[str, ...] | None = None
    n_classes: int = 2
    feature_names: tuple[str, ...] | None = None
    n_features: int | None = None
    drop_invalid_rows: bool = False
    batch_rows: int = DEFAULT_BATCH_ROWS


class SplitReader:
    """Streams one split file; `features` are the columns fed to the model, in model order."""

    def __init__(self, name: str, path: Any, options: ReadOptions):
        self.name = name
        self.options = options
        if not isinstance(path, (str, Path)):
            # In-memory data (Python API): a DataFrame with the label column, or (x, y) arrays.
            self.path = Path(f"<{name} data>")
            self.format = "memory"
            self._memory = path
            self.columns = self._read_columns()
            self.features = self._select_features()
            self.dropped_rows = 0
            return
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: {name} split not found")
        if self.path.is_dir():
            raise DataError(f"{self.path}: {name} split is a folder; pass a .csv, .parquet or .npz")
        fmt = FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise DataError(
                f"{self.path}: unknown data format '{self.path.suffix}'; use .csv, .parquet or .npz"
            )
        self.format = fmt
        self.columns = self._read_columns()
        self.features = self._select_features()
        self.dropped_rows = 0

    # -- schema -----------------------------------------------------------------------------
    def _read_columns(self) -> list[str]:
        if self.format == "memory":
            return self._memory_columns()
        if self.format == "csv":
            with open(self.path, newline="", encoding="utf-8", errors="replace") as handle:
                header = next(csv.reader(handle), None)
            if not header:
                raise DataError(f"{self.path}: the file is empty; expected a header row")
            return [c.strip() for c in header]
        if self.format == "parquet":
            try:
                return list(pq.read_schema(self.path).names)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{self.path}: not a readable Parquet file ({exc})") from None
        self._npz = self._open_npz()
        x = self._npz["x"]
        names = self._npz.get("feature_names")
        if names is not None:
            cols = [str(n) for n in names]
            if len(cols) != x.shape[1]:
                raise DataError(
                    f"{self.path}: feature_names has {len(cols)} names "
                    f"for {x.shape[1]} columns of x"
                )
            return cols
        return [f"x{i}" for i in range(x.shape[1])]

    def _open_npz(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except ValueError as exc:
            if "pickle" in str(exc):
                raise DataError(
                    f"{self.path}: the NPZ holds object arrays that need pickle, which auditor "
                    "refuses to load (it can run code); save plain numeric arrays x and y"
                ) from None
            raise DataError(f"{self.path}: not a readable NPZ file ({exc})") from None
        except (OSError, EOFError) as exc:
            raise DataError(f"{self.path}: not a readable NPZ file ({exc})") from None
        missing = [k for k in ("x", "y") if k not in arrays]
        if missing:
            raise DataError(
                f"{self.path}: the NPZ lacks array(s) {', '.join(missing)}; it holds "
                f"{', '.join(sorted(arrays)) or 'nothing'} (expected x: features, y: labels)"
            )
        x = arrays["x"]
        if x.ndim != 2:
            raise DataError(f"{self.path}: array x has shape {x.shape}; expected (rows, features)")
        if len(arrays["y"]) != len(x):
            raise DataError(
                f"{self.path}: x has {len(x)} rows but y has {len(arrays['y'])}; they must match"
            )
        return arrays

    def _memory_columns(self) -> list[str]:
        data = self._memory
        if hasattr(data, "columns") and hasattr(data, "__getitem__"):
            return [str(c) for c in data.columns]
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = data
            if hasattr(x, "columns"):
                self._memory = (x, np.asarray(y))
                return [str(c) for c in x.columns]
            x = np.asarray(x)
            if x.ndim != 2:
                raise DataError(f"{self.path}: x has shape {x.shape}; expected (rows, features)")
            if len(np.asarray(y)) != len(x):
                raise DataError(f"{self.path}: x has {len(x)} rows but y has {len(np.asarray(y))}")
            self._memory = (x, np.asarray(y))
            return [f"x{i}" for i in range(x.shape[1])]
        raise DataError(
            f"{self.path}: pass a path, a DataFrame with a '{self.options.label}' column, "
            f"or (x, y) arrays; got {type(data).__name__}"
        )

    def _memory_batches(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        data = self._memory
        if isinstance(data, tuple):
            x, y = data
            frame = x if hasattr(x, "columns") else None
        else:
            frame, y = data, np.asarray(data[self.options.label])
        if frame is not None:
            for name in self.features:
                kind = getattr(frame[name].dtype, "kind", "O")
                if kind not in "biuf":
                    raise DataError(
                        f"{self.path}: feature column '{name}' has dtype {frame[name].dtype}; "
                        "features must be numeric or boolean"
                    )
            x = np.asarray(frame[self.features], dtype=np.float32)
        else:
            index = [self.columns.index(f) for f in self.features]
            x = np.asarray(x)[:, index]
        for i in range(0, len(x), rows):
            yield (
                np.ascontiguousarray(x[i : i + rows], dtype=np.float32),
                np.asarray(y[i : i + rows]),
            )

    @property
    def label(self) -> str:
        """Where the labels are: the label column's name, or "y" for NPZ files and (x, y) arrays."""
        return "y" if self.separate_labels else self.options.label

    @property
    def separate_labels(self) -> bool:
        """Whether labels come as their own array (NPZ, (x, y)) rather than as a column."""
        return self.format == "npz" or (self.format == "memory" and isinstance(self._memory, tuple))

    def _select_features(self) -> list[str]:
        opts = self.options
        if not self.separate_labels and opts.label not in self.columns:
            raise DataError(
                f"{self.path}: label column '{opts.label}' not found; columns are "
                f"{_preview(self.columns)}; pass --label NAME"
            )
        unknown = [c for c in opts.ignore if c not in self.columns]
        if unknown:
            raise DataError(f"{self.path}: --ignore names unknown column(s) {', '.join(unknown)}")
        dupes = sorted({c for c in self.columns if self.columns.count(c) > 1})
        if dupes:
            raise DataError(f"{self.path}: duplicate column name(s) {', '.join(dupes)}")
        available = [c for c in self.columns if c != self.label and c not in opts.ignore]
        if opts.feature_names:
            missing = [c for c in opts.feature_names if c not in available]
            if missing:
                raise DataError(
                    f"{self.path}: the model's input(s) {_preview(missing)} have no column; "
                    f"feature columns are {_preview(available)}"
                )
            return list(opts.feature_names)
        if opts.n_features is not None and len(available) != opts.n_features:
            raise DataError(
                f"{self.path}: {len(available)} feature columns but the model takes "
                f"{opts.n_features} features; feature columns are {_preview(available)} "
                "(drop extra columns with --ignore)"
            )
        return available

    # -- rows -------------------------------------------------------------------------------
    def batches(self) -> Iterator[Batch]:
        """Yield batches of clean rows; raise DataError on bad values (after counting them)."""
        start = 0
        invalid = 0
        first_bad: tuple[int, str] | None = None
        for x, raw_y in self._raw_batches():
            y = self._labels(raw_y, start)
            bad = ~np.isfinite(x).all(axis=1)
            n_bad = int(bad.sum())
            if n_bad:
                invalid += n_bad
                if first_bad is None:
                    row = int(np.argmax(bad))
                    col = int(np.argmax(~np.isfinite(x[row])))
                    first_bad = (start + row, self.features[col])
                if self.options.drop_invalid_rows:
                    keep = ~bad
                    if keep.any():
                        yield Batch(x[keep], y[keep], start, np.nonzero(keep)[0])
                    start += len(x)
                    continue
            if not invalid or self.options.drop_invalid_rows:
                yield Batch(x, y, start)
            start += len(x)
        self.dropped_rows = invalid if self.options.drop_invalid_rows else 0
        if start and invalid == start and self.options.drop_invalid_rows:
            column = first_bad[1] if first_bad else "?"
            raise DataError(
                f"{self.path}: all {start} row(s) of the {self.name} split have NaN or infinite "
                f"feature values (first: column '{column}'); nothing is left to audit"
            )
        if invalid and not self.options.drop_invalid_rows:
            assert first_bad is not None
            raise DataError(
                f"{self.path}: {invalid} row(s) have NaN or infinite feature values (first: row "
                f"{first_bad[0]}, column '{first_bad[1]}'); clean them or pass --drop-invalid-rows"
            )
        if start == 0:
            raise DataError(f"{self.path}: the {self.name} split has no rows")

    def _raw_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rows = self.options.batch_rows
        if self.format == "memory":
            yield from self._memory_batches(rows)
            return
        if self.format == "npz":
            x, y = self._npz["x"], self._npz["y"]
            if not np.issubdtype(x.dtype, np.number) and x.dtype != np.bool_:
                raise DataError(f"{self.path}: array x has non-numeric dtype {x.dtype}")
            index = [self.columns.index(f) for f in self.features]
            for i in range(0, len(x), rows):
                yield (
                    np.ascontiguousarray(x[i : i + rows][:, index], dtype=np.float32),
                    y[i : i + rows],
                )
            return
        if self.format == "parquet":
            yield from self._parquet_batches(rows)
            return
        yield from self._csv_batches(rows)

    def _parquet_batches(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        try:
            # pre_buffer would cache every column chunk it reads for the life of the file object
            # (the whole file, by the end); a small read buffer keeps memory to one row group.
            parquet = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path}: not a readable Parquet file ({exc})") from None
        schema = parquet.schema_arrow
        for name in self.features:
            kind = schema.field(name).type
            if not (
                pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            ):
                raise DataError(
                    f"{self.path}: feature column '{name}' has type {kind}; features must be "
                    "numeric or boolean (encode it, or pass --ignore " + name + ")"
                )
        try:
            for batch in parquet.iter_batches(
                batch_size=rows, columns=self.features + [self.label]
            ):
                yield self._to_arrays(batch)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path}: could not read the Parquet data ({exc})") from None

    def _csv_batches(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        convert = pacsv.ConvertOptions(
            column_types={name: pa.float64() for name in self.features},
            include_columns=self.features + [self.label],
            true_values=["true", "True", "TRUE"],
            false_values=["false", "False", "FALSE"],
        )
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=1 << 22),
                convert_options=convert,
            )
            for batch in reader:
                for chunk in _split(batch, rows):
                    yield self._to_arrays(chunk)
        except pa.ArrowInvalid as exc:
            raise DataError(_csv_problem(self.path, str(exc), self.columns)) from None

    def _to_arrays(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        x = np.empty((batch.num_rows, len(self.features)), dtype=np.float32)
        for i, name in enumerate(self.features):
            column = batch.column(name)
            if column.null_count:
                column = column.cast(pa.float64()).fill_null(np.nan)
            x[:, i] = column.to_numpy(zero_copy_only=False)
        y = np.array(batch.column(self.label).to_numpy(zero_copy_only=False))
        del batch
        # The batch is copied out: hand Arrow's freed buffers back to the system now rather than
        # let its allocator keep the high-water mark of every batch read (~100 MB).
        pa.default_memory_pool().release_unused()
        return x, y

    def _labels(self, raw: np.ndarray, start: int) -> np.ndarray:
        opts = self.options
        if opts.classes is not None and raw.dtype.kind in "OUSb":
            lookup = {name: i for i, name in enumerate(opts.classes)}
            values = np.array([lookup.get(str(v), -1) for v in raw], dtype=np.int64)
            bad = values < 0
            if bad.any():
                unknown = sorted({str(v) for v in raw[bad]})[:5]
                raise DataError(
                    f"{self.path}: label(s) {', '.join(unknown)} in column '{self.label}' are not "
                    f"among --classes {', '.join(opts.classes)}"
                )
            return values
        if raw.dtype.kind == "b":
            return raw.astype(np.int64)
        if raw.dtype.kind in "OUS":
            sample = ", ".join(sorted({str(v) for v in raw[:1000]})[:5])
            raise DataError(
                f"{self.path}: label column '{self.label}' holds text ({sample}); pass --classes "
                "with the class names in the order of the model's outputs"
            )
        values = raw.astype(np.float64)
        if np.isnan(values).any():
            row = start + int(np.argmax(np.isnan(values)))
            raise DataError(f"{self.path}: label column '{self.label}' is empty at row {row}")
        ints = values.astype(np.int64)
        outside = (ints != values) | (ints < 0) | (ints >= opts.n_classes)
        if outside.any():
            examples = ", ".join(str(v) for v in sorted(set(values[outside].tolist()))[:5])
            raise DataError(
                f"{self.path}: label(s) {examples} in column '{self.label}' are not class indices "
                f"0..{opts.n_classes - 1} of the model's {opts.n_classes} outputs"
            )
        return ints


def _split(batch: pa.RecordBatch, rows: int) -> Iterator[pa.RecordBatch]:
    for offset in range(0, batch.num_rows, rows):
        yield batch.slice(offset, rows)


def _csv_problem(path: Path, text: str, columns: Sequence[str]) -> str:
    first = text.strip().splitlines()[0]
    if "Expected" in first and "columns" in first:
        detail = first.split("parse error:")[-1].strip()
        return f"{path}: ragged CSV row ({detail}); every row needs one value per header column"
    if "conversion error" in first.lower() or "invalid value" in first.lower():
        found = re.search(r"column #(\d+)", first)
        value = re.search(r"invalid value '([^']*)'", first)
        index = int(found.group(1)) if found else -1
        name = columns[index] if 0 <= index < len(columns) else "?"
        shown = f" '{value.group(1)[:40]}'" if value else ""
        return (
            f"{path}: column '{name}' holds the non-numeric value{shown}; features must be numbers "
            f"(encode it, or pass --ignore {name})"
        )
    return f"{path}: could not parse the CSV ({first})"


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


class _WholeSplit:  # TEMPORARY: one shard over the whole split, until the readers' shards land
    index = 0
    first_row = 0
    report = None

    def __init__(self, reader: SplitReader):
        self.reader = reader

    def batches(self) -> Iterator[Batch]:
        yield from self.reader.batches()


SplitReader.shards = lambda self: [_WholeSplit(self)]  # type: ignore[attr-defined]
SplitReader.check = lambda self, report: None  # type: ignore[attr-defined]
