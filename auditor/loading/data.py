"""Reads a data split in batches of model inputs and integer labels, whatever its format.

The formats themselves are in `auditor.loading.readers`; what is the same for all of them lives
here: choosing the feature columns, turning labels into class indices, finding NaN/infinite rows,
and shaping each batch into what the model's predict takes (`auditor.loading.inputs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auditor.errors import DataError
from auditor.loading.categories import encode, merge_vocabularies
from auditor.loading.image_inputs import image_feed, image_target, statistic_names, statistics
from auditor.loading.inputs import InputSpec, column_feed, input_kind, table_feed
from auditor.loading.readers import READERS, RawShard, open_source
from auditor.options import DEFAULT_BATCH_ROWS, DEFAULT_SHARD_ROWS

FORMATS = {suffix: reader.format for suffix, reader in READERS.items()}
IMAGE_BATCH_BYTES = 32 * 2**20  # float32 pixels per batch of images, at most (--batch-rows too)


@dataclass(frozen=True)
class Batch:
    """A block of rows: the model's input, integer class labels (n,), first row's number.

    `x` is what the model's predict takes: an array of any shape (n, ...), or a dict input name
    -> array for a model with named inputs. `table` is the rows' numeric features as float32
    (n, f), in the order of the split's `features`, for the data checks; None when the input is
    no numeric table (images, text).
    """

    x: Any
    y: np.ndarray
    start: int
    # Row offsets kept from the block, when invalid rows were dropped.
    kept: np.ndarray | None = None
    table: np.ndarray | None = None
    # A text model's texts (object array of str, None where missing), for the text checks.
    text: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def images(self) -> np.ndarray | None:
        """The images fed to the model (n, height, width[, channels]), for image inputs."""
        return self.x if isinstance(self.x, np.ndarray) and self.x.ndim >= 3 else None

    @property
    def rows(self) -> np.ndarray:
        """The file row number (0-based, header excluded) of each row of the batch."""
        offsets = self.kept if self.kept is not None else np.arange(len(self.y))
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
    shard_rows: int = DEFAULT_SHARD_ROWS
    # The first split's feature columns, when this is a later split: errors name what differs.
    reference_features: tuple[str, ...] | None = None
    # (option, column) pairs read beside the features (--group-column, --time-column): not
    # features unless the model takes them.
    context: tuple[tuple[str, str], ...] = ()
    # The model's inputs (`ModelInfo.inputs`), which shape each batch's `x`; none: x is the table.
    inputs: tuple[InputSpec, ...] = ()
    named_inputs: bool = False
    # A text model's column (its one string input): the split's only feature, fed as is.
    text_column: str | None = None

    @property
    def text_features(self) -> tuple[str, ...]:
        """The columns read as text: a text model's column, or the named string inputs'."""
        if self.text_column is not None:
            return (self.text_column,)
        if not self.named_inputs:
            return ()
        return tuple(spec.name for spec in self.inputs if spec.dtype == "string")


@dataclass(frozen=True)
class ShardReport:
    """What the split-level checks need from a shard read to its end; merge consecutive ones."""

    rows: int = 0
    invalid: int = 0
    # (row number within the split, column) of the first NaN/infinite feature value.
    first_bad: tuple[int, str] | None = None
    # Missing values per text column (a missing number makes its row invalid instead).
    missing: Mapping[str, int] = field(default_factory=dict)
    # Per text column, code -> value for up to `categories.VOCABULARY` values, to name them.
    vocabulary: Mapping[str, Mapping[float, str]] = field(default_factory=dict)

    def merge(self, other: ShardReport) -> ShardReport:
        """Return this report followed by the next shard's (order matters for `first_bad`)."""
        missing = dict(self.missing)
        for name, count in other.missing.items():
            missing[name] = missing.get(name, 0) + count
        return ShardReport(
            self.rows + other.rows,
            self.invalid + other.invalid,
            self.first_bad if self.first_bad is not None else other.first_bad,
            missing,
            merge_vocabularies(self.vocabulary, other.vocabulary),
        )


class Shard:
    """A run of a split's rows that can be read on its own, e.g. by another worker.

    `batches()` yields the shard's clean rows, with row numbers counted from the start of the
    split (without --drop-invalid-rows, nothing after the shard's first invalid row); once it is
    exhausted `report` says how many rows and invalid rows it held. Pass the merged reports of
    every shard, in order, to `SplitReader.check`.
    """

    __slots__ = ("_index", "_raw", "_path", "_label", "_features", "_options", "_report")

    def __init__(
        self,
        index: int,
        raw: RawShard,
        path: Path | str,
        label: str,
        features: Sequence[str],
        options: ReadOptions,
    ) -> None:
        self._index = index
        self._raw = raw
        self._path = path
        self._label = label
        self._features = tuple(features)
        self._options = options
        self._report: ShardReport | None = None

    @property
    def index(self) -> int:
        """The shard's position in the split, from 0."""
        return self._index

    @property
    def first_row(self) -> int:
        """The row number of the shard's first row within the split (0-based, header excluded)."""
        return self._raw.first_row

    @property
    def report(self) -> ShardReport:
        """Rows and invalid rows of the shard; available once `batches()` is exhausted."""
        if self._report is None:
            raise RuntimeError(f"shard {self._index} has no report until its batches are read")
        return self._report

    def __repr__(self) -> str:
        return f"Shard(index={self._index}, first_row={self.first_row})"

    def batches(self) -> Iterator[Batch]:
        """Yield batches of clean rows; DataError on bad labels. Each call reads the shard again.

        Rows with NaN or infinite features are dropped with --drop-invalid-rows; without it,
        nothing is yielded after the first of them, but the rest are still counted for `report`.
        """
        self._report = None
        drop = self._options.drop_invalid_rows
        start = self.first_row
        invalid = 0
        first_bad: tuple[int, str] | None = None
        missing = dict.fromkeys(self._options.text_features, 0)
        vocabulary: dict[str, dict[float, str]] = {}
        for raw in self._raw.batches():
            # A format that reads no text may yield (features, labels) alone; table readers add
            # the text columns (a dict), image readers each image's stored size (see `RawBatch`).
            x, raw_y = raw[0], raw[1]
            extra = raw[2] if len(raw) > 2 else None
            text: dict[str, np.ndarray] = extra if isinstance(extra, dict) else {}
            sizes = None if isinstance(extra, dict) else extra
            y = _labels(raw_y, start, self._path, self._label, self._options)
            for name, values in text.items():
                codes, absent, seen = encode(values, normalized=self._options.text_column == name)
                x[:, self._features.index(name)] = codes
                missing[name] += int(absent.sum())
                vocabulary = merge_vocabularies(vocabulary, {name: seen})
            flat = x.reshape(len(x), -1)
            bad = ~np.isfinite(flat).all(axis=1)
            n_bad = int(bad.sum())
            if n_bad:
                invalid += n_bad
                if first_bad is None:
                    row = int(np.argmax(bad))
                    col = int(np.argmax(~np.isfinite(flat[row])))
                    where = self._features[col] if x.ndim == 2 else f"pixel {col}"
                    first_bad = (start + row, where)
                if drop:
                    keep = ~bad
                    if keep.any():
                        kept_text = {name: values[keep] for name, values in text.items()}
                        kept_sizes = sizes[keep] if sizes is not None else None
                        yield self._batch(
                            x[keep], y[keep], start, kept_text, np.nonzero(keep)[0], kept_sizes
                        )
                    start += len(x)
                    continue
            if not invalid or drop:
                yield self._batch(x, y, start, text, sizes=sizes)
            start += len(x)
        self._report = ShardReport(start - self.first_row, invalid, first_bad, missing, vocabulary)

    def _batch(
        self,
        table: np.ndarray,
        y: np.ndarray,
        start: int,
        text: dict[str, np.ndarray],
        kept: np.ndarray | None = None,
        sizes: np.ndarray | None = None,
    ) -> Batch:
        opts = self._options
        if table.ndim >= 3:  # images: the table the data checks read is their statistics
            images = image_feed(table, opts.inputs[0], self._path)
            return Batch(images, y, start, kept, table=statistics(table, sizes))
        if opts.text_column is not None:
            texts = text[opts.text_column]
            filled = np.array(["" if v is None else v for v in texts], dtype=object)
            feed = column_feed(filled, opts.inputs[0]) if opts.inputs else filled
            return Batch(feed, y, start, kept, table=table, text=texts)
        feed = table_feed(table, self._features, opts.inputs, opts.named_inputs, text)
        return Batch(feed, y, start, kept, table=table)


class SplitReader:
    """Streams one split; `features` are the columns fed to the model, in model order."""

    def __init__(self, name: str, path: Any, options: ReadOptions):
        self.name = name
        self.options = options
        self._reader = open_source(name, path, options.label)
        self.path = self._reader.path
        self.format = self._reader.format
        self.columns = self._reader.columns()
        # "table" or "image": what the reader holds, which must be what the model takes.
        self.kind = getattr(self._reader, "kind", "table")
        self._check_kind()
        self.features = self._select_features() if self.kind == "table" else []
        self.dropped_rows = 0
        # Missing values per text column, set by `check` once the split is read.
        self.missing_values: dict[str, int] = {}

    @property
    def text_features(self) -> tuple[str, ...]:
        """The feature columns read as text (the model's named string inputs), in model order."""
        wanted = set(self.options.text_features)
        return tuple(f for f in self.features if f in wanted)

    @property
    def categorical(self) -> np.ndarray:
        """Per feature: whether it is a text column, coded as categories in the batches' table."""
        wanted = set(self.options.text_features)
        return np.array([f in wanted for f in self.features], dtype=bool)

    def _check_kind(self) -> None:
        """Refuse images for a table model and a table for an image model; set image targets."""
        specs = self.options.inputs
        wants = input_kind(specs) if specs else "table"
        if wants == "image" and self.kind != "image":
            raise DataError(
                f"{self.path}: the model takes images of shape {specs[0].shape}, but the "
                f"{self.name} split is a table; pass an image folder (one sub-folder per class), "
                "an NPZ whose x is (images, height, width[, channels]), or image arrays"
            )
        if self.kind == "image" and wants != "image":
            raise DataError(
                f"{self.path}: the {self.name} split holds images, but the model's input is "
                "not an image input (None, height, width[, channels])"
            )
        if self.kind == "image" and hasattr(self._reader, "target"):
            self._reader.target = image_target(specs[0])

    @property
    def table_columns(self) -> list[str]:
        """The names of the numeric table's columns: the features, or the image statistics."""
        if self.kind != "image":
            return list(self.features)
        channels = image_target(self.options.inputs[0])[2]
        return statistic_names(channels, stored_sizes=hasattr(self._reader, "target"))

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The class names an image folder's sub-folders give, in label order; else None."""
        return getattr(self._reader, "classes", None)

    @property
    def reading(self) -> str:
        """How an image split was read and resized, for the report; empty for tables."""
        describe = getattr(self._reader, "describe", None)
        return str(describe()) if self.kind == "image" and describe is not None else ""

    @property
    def source(self) -> Any:
        """What gives an image split's images and file names back by row (evidence); else None."""
        return self._reader if self.kind == "image" else None

    @property
    def label(self) -> str:
        """Where the labels are: the label column's name, or "y" for NPZ files and (x, y) arrays."""
        return "y" if self.separate_labels else self.options.label

    @property
    def separate_labels(self) -> bool:
        """Whether labels come as their own array (NPZ, (x, y)) rather than as a column."""
        return self._reader.separate_labels

    def _select_features(self) -> list[str]:
        opts = self.options
        _check_columns(
            self.path, self.columns, self.separate_labels, opts.label, opts.ignore, opts.context
        )
        available = [c for c in self.columns if c != self.label and c not in opts.ignore]
        context = {column for _, column in opts.context}
        if opts.text_column is not None:
            if opts.text_column not in available:
                raise DataError(
                    f"{self.path}: the model reads one text column, '{opts.text_column}', which "
                    f"the {self.name} split lacks; columns are {_preview(available)}; name the "
                    "text column with --text-column"
                )
            return [opts.text_column]
        if opts.feature_names:
            missing = [c for c in opts.feature_names if c not in available]
            if missing:
                raise DataError(
                    f"{self.path}: the model's input(s) {_preview(missing)} have no column; "
                    f"feature columns are {_preview(available)}"
                )
            return list(opts.feature_names)
        without = [c for c in available if c not in context]
        if opts.n_features is not None and len(without) != opts.n_features:
            if context and len(available) == opts.n_features:
                return available  # a flat input as wide as the columns with them: it takes them
            raise DataError(self._count_problem(without, opts.n_features))
        return without

    def column(self, name: str) -> np.ndarray:
        """Return every value of column NAME in file order, as stored (a pass over that column).

        The group and time columns are read this way, after the features: any type (text,
        numbers, dates), without the label checks.
        """
        if self.separate_labels:
            raise DataError(
                f"{self.path}: column '{name}' cannot be read from {self.format} data, whose "
                "labels are an array of their own; pass the split as CSV, Parquet or a DataFrame"
            )
        opts = self.options
        parts = [  # the column comes as the batches' labels, of any type
            batch[1]
            for shard in self._reader.shards((), name, opts.batch_rows, opts.shard_rows)
            for batch in shard.batches()
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def _count_problem(self, available: list[str], wanted: int) -> str:
        """Say why the feature columns do not match the model: what is missing, what is extra."""
        found = f"{len(available)} feature columns but the model takes {wanted} features"
        reference = self.options.reference_features
        if reference is not None:
            missing = [c for c in reference if c not in available]
            extra = [c for c in available if c not in reference]
            parts = []
            if missing:
                parts.append(f"missing {_preview(missing)} (the first split has them)")
            if extra:
                parts.append(f"unexpected {_preview(extra)} (drop them with --ignore)")
            if parts:
                return f"{self.path}: {found}: {'; '.join(parts)}"
        index = next((c for c in available if c.startswith("Unnamed: ")), None)
        if index is not None and len(available) > wanted:
            return (
                f"{self.path}: {found}; column '{index}' has no name in the header, as the index "
                f"pandas' to_csv writes: pass --ignore '{index}' (or write with index=False)"
            )
        advice = (
            " (drop extra columns with --ignore)"
            if len(available) > wanted
            else f"; {wanted - len(available)} column(s) the model needs are not in the file"
        )
        return f"{self.path}: {found}; feature columns are {_preview(available)}{advice}"

    # -- rows -------------------------------------------------------------------------------
    def shards(self) -> list[Shard]:
        """Cut the split's rows into consecutive shards that can be read independently, in order.

        CSV, NPZ and in-memory data are one shard; Parquet is one per run of row groups holding
        at least `shard_rows` (and `batch_rows`) rows. DataError when a feature column is not
        numeric.
        """
        opts = self.options
        batch_rows = opts.batch_rows
        if self.kind == "image":
            # A batch of images costs its pixels and the model's activations on them (a
            # convolution's are tens of times the pixels): a few thousand small images at once.
            height, width, channels = image_target(opts.inputs[0])
            batch_rows = min(
                batch_rows, max(1, IMAGE_BATCH_BYTES // (height * width * channels * 4))
            )
        text = self.text_features
        # Text only when there is some: a format that reads none keeps the four arguments.
        extra = {"text": text} if text else {}
        raw = self._reader.shards(self.features, self.label, batch_rows, opts.shard_rows, **extra)
        return [
            Shard(i, shard, self.path, self.label, self.features, self.options)
            for i, shard in enumerate(raw)
        ]

    def batches(self) -> Iterator[Batch]:
        """Yield batches of clean rows; raise DataError on bad values (after counting them)."""
        report = ShardReport()
        for shard in self.shards():
            for batch in shard.batches():
                # As in one pass over the split: nothing is yielded after the first invalid row
                # (without --drop-invalid-rows), but the later shards are still counted.
                if not report.invalid or self.options.drop_invalid_rows:
                    yield batch
            report = report.merge(shard.report)
        self.check(report)

    def check(self, report: ShardReport) -> None:
        """Raise the split-level DataErrors for the merged report of all shards; set dropped_rows.

        Every row invalid (with --drop-invalid-rows), any row invalid (without it), or no rows.
        """
        drop = self.options.drop_invalid_rows
        self.dropped_rows = report.invalid if drop else 0
        self.missing_values = {name: n for name, n in report.missing.items() if n}
        if report.rows and report.invalid == report.rows and drop:
            column = report.first_bad[1] if report.first_bad else "?"
            raise DataError(
                f"{self.path}: all {report.rows} row(s) of the {self.name} split have NaN or "
                f"infinite feature values (first: column '{column}'); nothing is left to audit"
            )
        if report.invalid and not drop:
            assert report.first_bad is not None
            row, column = report.first_bad
            raise DataError(
                f"{self.path}: {report.invalid} row(s) have NaN or infinite feature values (first: "
                f"row {row}, column '{column}'); clean them or pass --drop-invalid-rows"
            )
        if report.rows == 0:
            raise DataError(f"{self.path}: the {self.name} split has no rows")


def _labels(
    raw: np.ndarray, start: int, path: Path | str, label: str, opts: ReadOptions
) -> np.ndarray:
    """Raw labels as class indices (text via --classes); DataError naming the bad values."""
    if opts.classes is not None and raw.dtype.kind in "OUSb":
        lookup = {name: i for i, name in enumerate(opts.classes)}
        values = np.array([lookup.get(str(v), -1) for v in raw], dtype=np.int64)
        bad = values < 0
        if bad.any():
            unknown = sorted({str(v) for v in raw[bad]})[:5]
            raise DataError(
                f"{path}: label(s) {', '.join(unknown)} in column '{label}' are not "
                f"among --classes {', '.join(opts.classes)}"
            )
        return values
    if raw.dtype.kind == "b":
        return raw.astype(np.int64)
    if raw.dtype.kind in "OUS":
        sample = ", ".join(sorted({str(v) for v in raw[:1000]})[:5])
        raise DataError(
            f"{path}: label column '{label}' holds text ({sample}); pass --classes "
            "with the class names in the order of the model's outputs"
        )
    values = raw.astype(np.float64)
    if np.isnan(values).any():
        row = start + int(np.argmax(np.isnan(values)))
        raise DataError(f"{path}: label column '{label}' is empty at row {row}")
    ints = values.astype(np.int64)
    outside = (ints != values) | (ints < 0) | (ints >= opts.n_classes)
    if outside.any():
        examples = ", ".join(str(v) for v in sorted(set(values[outside].tolist()))[:5])
        raise DataError(
            f"{path}: label(s) {examples} in column '{label}' are not class indices "
            f"0..{opts.n_classes - 1} of the model's {opts.n_classes} outputs"
        )
    return ints


def parse_times(values: np.ndarray, path: Path | str, column: str) -> np.ndarray:
    """Return a time column as numbers or datetime64; DataError naming a value that is neither.

    Numbers (epoch seconds, days, a sequence number) stay numbers; text is read as dates
    (ISO 8601 and what pandas recognizes); empty values become NaT.
    """
    if values.dtype.kind in "biufM":
        return values
    import pandas as pd

    text = pd.Series(values, dtype=object)
    empty = text.isna() | (text.astype(str).str.strip() == "")
    parsed = pd.to_datetime(text.where(~empty), errors="coerce", utc=True, format="ISO8601")
    bad = parsed.isna() & ~empty
    if bad.any():  # other spellings ("Jan 5, 2026"), value by value: slower, so only for these
        rest = text[bad]
        month_first = pd.to_datetime(rest, errors="coerce", utc=True, format="mixed")
        day_first = pd.to_datetime(rest, errors="coerce", utc=True, format="mixed", dayfirst=True)
        # 03/04/2026 is March or April by convention, and a split read value by value would mix
        # them (13/04 can only be day first): refuse rather than guess.
        ambiguous = month_first.notna() & day_first.notna() & (month_first != day_first)
        if ambiguous.any():
            example = str(rest[ambiguous].iloc[0])[:40]
            raise DataError(
                f"{path}: --time-column '{column}' holds '{example}', which reads as two dates "
                "(day or month first); write dates as ISO 8601, e.g. 2026-01-31"
            )
        parsed[bad] = month_first
        bad = parsed.isna() & ~empty
    if bad.any():
        example = str(text[bad].iloc[0])[:40]
        raise DataError(
            f"{path}: --time-column '{column}' holds '{example}', which is neither a number nor a "
            "date (write dates as ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00)"
        )
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def check_header(
    name: str,
    source: Any,
    label: str,
    ignore: Sequence[str],
    context: Sequence[tuple[str, str]] = (),
) -> None:
    """Check a split file's header before any model is loaded: the file, label and --ignore columns.

    CONTEXT holds the (option, column) pairs of the group and time columns, which must exist too.

    Only formats whose header is cheap to read (CSV, Parquet) are opened; NPZ files and in-memory
    data are checked when they are read.
    """
    if not isinstance(source, (str, Path)):
        return
    reader = open_source(name, source, label)  # DataError when missing, a folder, unknown kind
    if reader.format in ("csv", "parquet"):
        _check_columns(
            reader.path, reader.columns(), reader.separate_labels, label, ignore, context
        )


def _check_columns(
    path: Path | str,
    columns: Sequence[str],
    separate_labels: bool,
    label: str,
    ignore: Sequence[str],
    context: Sequence[tuple[str, str]] = (),
) -> None:
    """Refuse a header without the label column, with unknown --ignore columns or duplicates."""
    if not separate_labels and label not in columns:
        raise DataError(
            f"{path}: label column '{label}' not found; columns are "
            f"{_preview(columns)}; pass --label NAME"
        )
    unknown = [c for c in ignore if c not in columns]
    if unknown:
        raise DataError(f"{path}: --ignore names unknown column(s) {', '.join(unknown)}")
    for option, column in context:
        if column not in columns or (column == label and not separate_labels):
            what = "is the label column" if column == label else "names an unknown column"
            raise DataError(f"{path}: {option} {what} '{column}'; columns are {_preview(columns)}")
    dupes = sorted({c for c in columns if list(columns).count(c) > 1})
    if dupes:
        raise DataError(f"{path}: duplicate column name(s) {', '.join(dupes)}")


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
