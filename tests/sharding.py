"""Writers of the same rows as one Parquet file and as datasets (flat folders, hive partitions)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def table(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> pa.Table:
    columns = {name: pa.array(x[:, i]) for i, name in enumerate(names)}
    return pa.table({**columns, "label": pa.array(y)})


def write_file(path: Path, rows: pa.Table, groups: Sequence[int] | None = None) -> Path:
    """One Parquet file, with one row group per size in GROUPS (default: one)."""
    groups = list(groups or [rows.num_rows])
    assert sum(groups) == rows.num_rows
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, rows.schema) as writer:
        start = 0
        for size in groups:
            writer.write_table(rows.slice(start, size))
            start += size
    return path


def write_folder(folder: Path, rows: pa.Table, files: Sequence[Sequence[int]]) -> Path:
    """A flat folder of Parquet files in row order: file i holds row groups of sizes FILES[i]."""
    start = 0
    for i, groups in enumerate(files):
        size = sum(groups)
        write_file(folder / f"part-{i:03d}.parquet", rows.slice(start, size), groups)
        start += size
    assert start == rows.num_rows
    return folder


def write_hive(folder: Path, rows: pa.Table, key: str, values: Sequence[Any]) -> pa.Table:
    """A hive-partitioned folder (KEY=value/part.parquet), two row groups per file.

    Returns the rows in the order the dataset holds them (partition folders in path order), with
    the KEY column: the one-file equivalent.
    """
    parts = []
    per = -(-rows.num_rows // len(values))
    for i, value in enumerate(sorted(values, key=str)):
        part = rows.slice(i * per, per)
        half = max(part.num_rows // 2, 1)
        groups = [half, part.num_rows - half] if part.num_rows > 1 else [1]
        write_file(folder / f"{key}={value}" / "part-0.parquet", part, groups)
        parts.append(part.append_column(key, pa.array([value] * part.num_rows)))
    return pa.concat_tables(parts)


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """report.json without what differs between two runs on the same rows: paths, times, engine."""
    doc = dict(doc)
    for key in ("created", "timings", "environment", "engine"):
        doc.pop(key, None)
    splits = doc["splits"].items()
    doc["splits"] = {name: {k: v for k, v in s.items() if k != "path"} for name, s in splits}
    return doc


def assert_close(ours: Any, theirs: Any, tolerance: float = 1e-9, where: str = "report") -> None:
    """Assert two JSON documents equal, numbers within TOLERANCE (absolute and relative)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        assert list(ours) == list(theirs), (where, sorted(set(ours) ^ set(theirs)))
        for key in ours:
            assert_close(ours[key], theirs[key], tolerance, f"{where}.{key}")
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs), (where, len(ours), len(theirs))
        for i, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_close(mine, other, tolerance, f"{where}[{i}]")
    elif isinstance(ours, float) or isinstance(theirs, float):
        assert isinstance(ours, (int, float)) and isinstance(theirs, (int, float)), where
        assert abs(ours - theirs) <= tolerance * max(1.0, abs(theirs)), (where, ours, theirs)
    else:
        assert ours == theirs, (where, ours, theirs)
