"""CSV splits: a header row, then one row per example; read with pyarrow in blocks."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from auditor.errors import DataError

# pyarrow is imported where rows are read, not here: the CLI imports this module (through the
# READERS table) for its --help, and pyarrow alone takes a tenth of a second to import.


class CsvReader:
    """A CSV file with a header row; one shard (a CSV cannot be entered mid-file by row number)."""

    format: ClassVar[str] = "csv"
    separate_labels = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._columns: list[str] | None = None

    def columns(self) -> list[str]:
        """Return the header row's names, stripped of surrounding spaces.

        A column without a name gets pandas' name for it, "Unnamed: I" (the index `to_csv` writes
        by default is "Unnamed: 0"), so that `--ignore` takes the name users see in pandas.
        """
        if self._columns is None:
            with open(self.path, newline="", encoding="utf-8", errors="replace") as handle:
                header = next(csv.reader(handle), None)
            if not header:
                raise DataError(f"{self.path}: the file is empty; expected a header row")
            names = [c.strip() for c in header]
            self._columns = [name or f"Unnamed: {i}" for i, name in enumerate(names)]
        return self._columns

    def shards(
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> list[CsvShard]:
        """Return the whole file as one shard."""
        columns = tuple(self.columns())
        return [CsvShard(self.path, tuple(features), label, columns, batch_rows, text=tuple(text))]


@dataclass(frozen=True)
class CsvShard:
    """All rows of a CSV file, parsed a 4 MB block at a time and cut into batches."""

    path: Path
    features: tuple[str, ...]
    label: str
    columns: tuple[str, ...]
    batch_rows: int
    first_row: int = 0
    text: tuple[str, ...] = ()  # features read as text (the model's string inputs)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """Yield (features, raw labels, text columns) of at most `batch_rows` rows.

        DataError on text in a numeric column, naming every column that holds text.
        """
        import pyarrow as pa
        import pyarrow.csv as pacsv

        from auditor.loading.readers._arrow import split, to_arrays

        convert = pacsv.ConvertOptions(
            column_types={
                name: pa.string() if name in self.text else pa.float64() for name in self.features
            },
            include_columns=[*self.features, self.label],
            true_values=["true", "True", "TRUE"],
            false_values=["false", "False", "FALSE"],
            # An empty cell (or NA, null, ...) of a text column is a missing value, as in pandas.
            strings_can_be_null=True,
        )
        try:
            reader = pacsv.open_csv(
                self.path,
                # The header's names as `columns()` gives them (stripped, unnamed ones named).
                read_options=pacsv.ReadOptions(
                    block_size=1 << 22, column_names=list(self.columns), skip_rows=1
                ),
                convert_options=convert,
            )
            for batch in reader:
                for chunk in split(batch, self.batch_rows):
                    yield to_arrays(chunk, self.features, self.label, self.text)
        except pa.ArrowInvalid as exc:
            numeric = [f for f in self.features if f not in self.text]
            raise DataError(
                _csv_problem(self.path, str(exc), self.columns, _text_columns(self.path, numeric))
            ) from None


def _text_columns(path: Path, numeric: Sequence[str]) -> list[str]:
    """Return the columns of NUMERIC whose first block of the file holds text, in file order."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 20),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(numeric),
                true_values=["true", "True", "TRUE"],
                false_values=["false", "False", "FALSE"],
            ),
        )
        block = reader.read_next_batch()
    except (pa.ArrowException, StopIteration, OSError):
        return []
    return [
        field.name
        for field in block.schema
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
    ]


def _csv_problem(
    path: Path, text: str, columns: Sequence[str], text_columns: Sequence[str] = ()
) -> str:
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
        if len(text_columns) > 1 or (text_columns and text_columns[0] != name):
            names = ", ".join(text_columns)
            return (
                f"{path}: column(s) {names} hold text (first:{shown or ' a word'} in '{name}'), "
                "where the model "
                "takes numbers: encode them, give the model one named string input per such "
                f"column (StringLookup inside), or pass --ignore for each of {names}"
            )
        return (
            f"{path}: column '{name}' holds the non-numeric value{shown}; features must be numbers "
            f"(encode it, or pass --ignore {name})"
        )
    return f"{path}: could not parse the CSV ({first})"
