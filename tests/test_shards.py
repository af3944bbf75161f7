"""Split readers' shards: Parquet row-group runs read on their own give the rows one pass gives."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.errors import DataError
from auditor.loading.data import Batch, ReadOptions, ShardReport, SplitReader
from auditor.loading.readers import READERS, supported_formats

GROUPS = (1, 5, 40, 1, 30, 7, 16)  # uneven row groups, tiny ones between big ones


def _frame(rows: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.normal(size=rows).astype(np.float32),
            "c": rng.integers(-5, 5, size=rows),
            "label": rng.integers(0, 2, size=rows),
        }
    )


def _write(folder: Path, frame: pd.DataFrame, groups: Sequence[int] = GROUPS) -> dict[str, Path]:
    """The same rows as a Parquet file with one row group per size in `groups`, and as a CSV."""
    assert sum(groups) == len(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    parquet = folder / "split.parquet"
    with pq.ParquetWriter(parquet, table.schema) as writer:
        start = 0
        for size in groups:
            writer.write_table(table.slice(start, size))
            start += size
    csv = folder / "split.csv"
    frame.to_csv(csv, index=False)
    return {"parquet": parquet, "csv": csv}


def _reader(path: Path, batch_rows: int, drop: bool = False) -> SplitReader:
    options = ReadOptions(
        n_features=3, batch_rows=batch_rows, shard_rows=batch_rows, drop_invalid_rows=drop
    )
    return SplitReader("val", path, options)


def _joined(batches: Iterator[Batch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    listed = list(batches)
    return (
        np.concatenate([b.x for b in listed]),
        np.concatenate([b.y for b in listed]),
        np.concatenate([b.rows for b in listed]),
    )


def _assert_same(ours: tuple[np.ndarray, ...], theirs: tuple[np.ndarray, ...]) -> None:
    for mine, other in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, other)


def _shard_batches(reader: SplitReader) -> tuple[list, list[Batch]]:
    shards = reader.shards()
    return shards, [batch for shard in shards for batch in shard.batches()]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return _write(tmp_path, _frame(sum(GROUPS)))


def test_each_row_group_is_a_shard_when_a_batch_is_one_row(files):
    reader = _reader(files["parquet"], batch_rows=1)
    shards, batches = _shard_batches(reader)
    metadata = pq.ParquetFile(files["parquet"]).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert len(shards) == len(sizes) == len(GROUPS)
    assert [s.index for s in shards] == list(range(len(shards)))
    assert [s.first_row for s in shards] == np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    assert [s.report.rows for s in shards] == sizes
    assert all(len(b.x) == 1 for b in batches)
    from_shards = _joined(iter(batches))
    _assert_same(from_shards, _joined(_reader(files["parquet"], batch_rows=1).batches()))
    _assert_same(from_shards, _joined(_reader(files["csv"], batch_rows=1).batches()))
    np.testing.assert_array_equal(from_shards[2], np.arange(sum(sizes)))


def test_small_row_groups_coalesce_into_full_batches(files):
    batch_rows = 64
    shards, batches = _shard_batches(_reader(files["parquet"], batch_rows))
    assert 1 < len(shards) < len(GROUPS)
    rows = [s.report.rows for s in shards]
    assert all(n >= batch_rows for n in rows[:-1])
    assert sum(rows) == sum(GROUPS)
    assert [s.first_row for s in shards] == np.concatenate([[0], np.cumsum(rows)[:-1]]).tolist()
    sizes = [[len(b.x) for b in shard.batches()] for shard in shards]
    # Full batches across row-group borders (the first run starts with a one-row group); only a
    # shard's last batch may be short.
    assert sizes[0][0] == batch_rows
    assert all(n == batch_rows for run in sizes for n in run[:-1])
    assert all(0 < run[-1] <= batch_rows for run in sizes)
    _assert_same(_joined(iter(batches)), _joined(_reader(files["csv"], batch_rows).batches()))
    one = _reader(files["parquet"], batch_rows=sum(GROUPS)).shards()
    assert len(one) == 1 and one[0].first_row == 0


def test_a_file_with_one_row_group_is_one_shard(tmp_path):
    frame = _frame(50)
    files = _write(tmp_path, frame, groups=(50,))
    shards = _reader(files["parquet"], batch_rows=8).shards()
    assert len(shards) == 1 and shards[0].first_row == 0
    _assert_same(_joined(shards[0].batches()), _joined(_reader(files["csv"], 8).batches()))


@pytest.mark.parametrize("kind", ["csv", "npz", "memory"])
def test_csv_npz_and_memory_data_are_one_shard(tmp_path, kind):
    frame = _frame(30)
    source: object = _write(tmp_path, frame, groups=(30,))["csv"]
    if kind == "npz":
        source = tmp_path / "split.npz"
        np.savez(
            source,
            x=frame[["a", "b", "c"]].to_numpy(),
            y=frame["label"].to_numpy(),
            feature_names=np.array(["a", "b", "c"]),
        )
    elif kind == "memory":
        source = frame
    reader = _reader(source, batch_rows=7)  # type: ignore[arg-type]
    shards, batches = _shard_batches(reader)
    assert len(shards) == 1 and shards[0].first_row == 0
    assert shards[0].report == ShardReport(rows=30)
    _assert_same(_joined(iter(batches)), _joined(reader.batches()))
    np.testing.assert_array_equal(_joined(iter(batches))[1], frame["label"].to_numpy())


def test_shards_read_in_any_order_and_again_give_the_same_batches(files):
    shards = _reader(files["parquet"], batch_rows=4).shards()
    forward = [_joined(s.batches()) for s in shards]
    backward = [_joined(s.batches()) for s in reversed(shards)][::-1]
    for ours, theirs in zip(forward, backward, strict=True):
        _assert_same(ours, theirs)


def test_a_report_waits_for_the_shard_to_be_read(files):
    shard = _reader(files["parquet"], batch_rows=1).shards()[2]
    with pytest.raises(RuntimeError, match="until its batches are read"):
        _ = shard.report
    batches = shard.batches()
    next(batches)
    with pytest.raises(RuntimeError):
        _ = shard.report  # not exhausted yet
    list(batches)
    assert shard.report.rows == GROUPS[2]


@pytest.fixture
def invalid(tmp_path: Path) -> dict[str, Path]:
    """NaN and infinity in the third row group only (rows 6..45)."""
    frame = _frame(sum(GROUPS))
    frame["c"] = frame["c"].astype(np.float64)
    frame.loc[[11, 30], "b"] = np.nan
    frame.loc[19, "c"] = np.inf
    return _write(tmp_path, frame)


def _error(path: Path, batch_rows: int, drop: bool = False) -> tuple[str, list[Batch]]:
    reader = _reader(path, batch_rows, drop)
    yielded: list[Batch] = []
    with pytest.raises(DataError) as caught:
        for batch in reader.batches():
            yielded.append(batch)
    return str(caught.value).replace(str(path), "<path>"), yielded


def test_invalid_rows_in_a_middle_shard_read_as_in_one_pass(invalid):
    frame = pd.read_csv(invalid["csv"])
    first_bad = int(np.flatnonzero(~np.isfinite(frame[["a", "b", "c"]]).all(axis=1))[0])
    shards = _reader(invalid["parquet"], batch_rows=1).shards()
    third = shards[2]
    assert third.first_row <= first_bad < third.first_row + GROUPS[2]

    text, yielded = _error(invalid["parquet"], batch_rows=1)
    assert text == _error(invalid["csv"], batch_rows=1)[0]
    assert f"row {first_bad}, column 'b'" in text and text.startswith("<path>: 3 row(s)")
    # Nothing after the first invalid row is yielded, though the later shards are counted.
    assert np.concatenate([b.rows for b in yielded]).tolist() == list(range(first_bad))

    reports = []
    for shard in shards:
        list(shard.batches())
        reports.append(shard.report)
    assert [r.invalid for r in reports] == [0, 0, 3, 0, 0, 0, 0]
    merged = functools.reduce(ShardReport.merge, reports, ShardReport())
    assert merged == ShardReport(sum(GROUPS), 3, (first_bad, "b"))
    with pytest.raises(DataError) as caught:
        _reader(invalid["parquet"], batch_rows=1).check(merged)
    assert str(caught.value).replace(str(invalid["parquet"]), "<path>") == text


@pytest.mark.parametrize("batch_rows", [1, 4, 64])
def test_dropping_invalid_rows_in_a_middle_shard(invalid, batch_rows):
    parquet = _reader(invalid["parquet"], batch_rows, drop=True)
    csv = _reader(invalid["csv"], batch_rows, drop=True)
    from_parquet = _joined(parquet.batches())
    _assert_same(from_parquet, _joined(csv.batches()))
    assert parquet.dropped_rows == csv.dropped_rows == 3
    frame = pd.read_csv(invalid["csv"])
    clean = np.isfinite(frame[["a", "b", "c"]]).all(axis=1).to_numpy()
    np.testing.assert_array_equal(from_parquet[2], np.flatnonzero(clean))
    np.testing.assert_array_equal(from_parquet[1], frame["label"].to_numpy()[clean])


def test_split_level_checks_read_the_merged_report(tmp_path):
    frame = _frame(sum(GROUPS))
    frame[["a", "b", "c"]] = np.nan
    path = _write(tmp_path, frame)["parquet"]
    reader = _reader(path, batch_rows=1, drop=True)
    reports = []
    for shard in reader.shards():
        assert list(shard.batches()) == []
        reports.append(shard.report)
    merged = functools.reduce(ShardReport.merge, reports)
    with pytest.raises(DataError, match=rf"all {sum(GROUPS)} row\(s\) of the val split have NaN"):
        reader.check(merged)
    assert reader.dropped_rows == sum(GROUPS)
    with pytest.raises(DataError, match="the val split has no rows"):
        reader.check(ShardReport())


def test_merging_reports_is_associative_in_order(invalid):
    reports = []
    for shard in _reader(invalid["parquet"], batch_rows=1).shards():
        list(shard.batches())
        reports.append(shard.report)
    reports.append(ShardReport(2, 1, (999, "a")))  # a later first_bad must not win
    for a, b, c in itertools.combinations(reports, 3):  # combinations keep the order
        assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert all(ShardReport().merge(r) == r == r.merge(ShardReport()) for r in reports)
    left = functools.reduce(ShardReport.merge, reports)
    right = functools.reduce(lambda acc, r: r.merge(acc), reversed(reports))
    assert left == right
    assert left.first_bad == next(r.first_bad for r in reports if r.first_bad)
    assert left.rows == sum(r.rows for r in reports)


def test_formats_in_messages_and_help_come_from_the_table(tmp_path, monkeypatch):
    formats = supported_formats()
    for suffix in {".csv", ".parquet", ".npz"}:
        assert suffix in formats and suffix in READERS
    with pytest.raises(DataError) as folder:  # a folder is a Parquet dataset
        SplitReader("val", tmp_path, ReadOptions())
    assert str(folder.value) == (
        f"{tmp_path}: the val split holds no Parquet file (a folder, glob or URI is read as a "
        "Parquet dataset)"
    )
    text = tmp_path / "split.txt"
    text.write_text("a,b\n")
    with pytest.raises(DataError) as unknown:
        SplitReader("val", text, ReadOptions())
    assert str(unknown.value) == f"{text}: unknown data format '.txt'; use {formats}"
    help_text = " ".join(CliRunner().invoke(main, ["audit", "--help"]).output.split())
    assert f"Training split: a {formats} file, a Parquet dataset" in help_text

    # A new format is one reader class and one entry in the table.
    monkeypatch.setitem(READERS, ".txt", _TextReader)
    assert supported_formats().endswith(" or .txt")
    text.write_text("a b label\n1 2 0\n3 4 1\n5 6 1\n")
    reader = SplitReader("val", text, ReadOptions(n_features=2, batch_rows=2))
    x, y, rows = _joined(reader.batches())
    np.testing.assert_array_equal(x, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(y, [0, 1, 1])
    np.testing.assert_array_equal(rows, [0, 1, 2])


class _TextReader:
    """A space-separated text file, as a format someone might add."""

    format = "text"
    separate_labels = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def columns(self) -> list[str]:
        return self.path.read_text().split("\n", 1)[0].split()

    def shards(self, features, label, batch_rows, shard_rows):
        return [_TextShard(self.path, self.columns(), list(features), label, batch_rows)]


class _TextShard:
    first_row = 0

    def __init__(self, path, columns, features, label, batch_rows):
        self.table = np.loadtxt(path, skiprows=1, ndmin=2)
        self.x = self.table[:, [columns.index(f) for f in features]].astype(np.float32)
        self.y = self.table[:, columns.index(label)]
        self.batch_rows = batch_rows

    def batches(self):
        for i in range(0, len(self.x), self.batch_rows):
            yield self.x[i : i + self.batch_rows], self.y[i : i + self.batch_rows]


def test_shards_hold_at_least_shard_rows_and_batches_cross_row_groups(tmp_path):
    path = _write(tmp_path, _frame(200), groups=(10,) * 20)["parquet"]
    options = ReadOptions(n_features=3, batch_rows=8, shard_rows=35)
    shards = SplitReader("val", path, options).shards()
    sizes = [[len(b.x) for b in shard.batches()] for shard in shards]
    assert [sum(run) for run in sizes] == [40] * 5  # four row groups of 10 reach 35
    assert [shard.first_row for shard in shards] == [0, 40, 80, 120, 160]
    assert all(run == [8] * 5 for run in sizes)  # full batches across the row-group borders
