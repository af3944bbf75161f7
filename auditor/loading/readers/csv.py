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
        self, features: Sequence[str], label: str, batch_rows: int, shard_rows: int
    ) -> list[CsvShard]:
        """Return the whole file as one shard."""
        return [CsvShard(self.path, tuple(features), label, tuple(self.columns()), batch_rows)]


@dataclass(frozen=True)
class CsvShard:
    """All rows of a CSV file, parsed a 4 MB block at a time and cut into batches."""

    path: Path
    features: tuple[str, ...]
    label: str
    columns: tuple[str, ...]
    batch_rows: int
    first_row: int = 0

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (features, raw labels) of at most `batch_rows` rows; DataError on bad text."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        from auditor.loading.readers._arrow import split, to_arrays

        convert = pacsv.ConvertOptions(
            column_types={name: pa.float64() for name in self.features},
            include_columns=[*self.features, self.label],
            true_values=["true", "True", "TRUE"],
            false_values=["false", "False", "FALSE"],
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
                    yield to_arrays(chunk, self.features, self.label)
        except pa.ArrowInvalid as exc:
            raise DataError(_csv_problem(self.path, str(exc), self.columns)) from None


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
