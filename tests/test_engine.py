"""A split read as shards and merged gives the facts and the report of one pass.

The splits are written as Parquet files whose row groups are the shards (1, 2 and 7 of them, with
one-row shards and a shard where a class is absent), and as CSV files that are read in one pass;
the audit of each must be the same report.json but for the files' paths: every count, rule
status and message the same, and every float summed over rows (log loss, Brier score, loss moments,
calibration sums) the same but for the order of its additions (1e-12).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sharding import assert_close

from auditor.api import audit
from auditor.loading.data import ReadOptions, SplitReader

pytestmark = pytest.mark.slow

NAMES = ["alpha", "beta", "gamma", "delta"]
LAYOUTS = {
    "one shard": {"train": [400], "val": [200]},
    "two shards": {"train": [150, 250], "val": [100, 100]},
    "seven shards": {"train": [1, 56, 1, 100, 40, 2, 200], "val": [1, 20, 1, 50, 28, 50, 50]},
}
NO_CLASS_2 = slice(158, 198)  # the train rows of the 40-row shard of the seven-shard layout


def _ordered(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows reordered so that rows 158-197 hold no row of class 2."""
    others = np.flatnonzero(y != 2)
    chosen = others[:40]
    rest = np.setdiff1d(np.arange(len(y)), chosen)
    order = np.concatenate([rest[:158], chosen, rest[158:]])
    return x[order], y[order]


def _write_parquet(path: Path, x: np.ndarray, y: np.ndarray, groups: list[int]) -> None:
    schema = pa.schema([(n, pa.float32()) for n in NAMES] + [("label", pa.int64())])
    with pq.ParquetWriter(path, schema) as writer:
        start = 0
        for size in groups:
            part = slice(start, start + size)
            columns = [pa.array(x[part, i]) for i in range(len(NAMES))] + [pa.array(y[part])]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            start += size
    assert pq.ParquetFile(path).metadata.num_row_groups == len(groups)


def _write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    import pandas as pd

    frame = pd.DataFrame(x, columns=NAMES)
    frame["label"] = y
    frame.to_csv(path, index=False, float_format="%.9g")  # float32 round-trips exactly


# The row facts the driver keeps; `matches` are what every row's hashes matched (duplicates,
# rows shared with train, with their row numbers as examples).
ROW_FACTS = ("n_rows", "sample_x", "sample_y", "sample_rows", "matches")


def _report(model: Any, splits: dict[str, Path], **settings: Any) -> tuple[dict[str, Any], Any]:
    """The audit's report.json without paths and timings, and its evaluation.

    The sample (150 rows) is smaller than the splits, so that merged shards must sample as one
    pass does.
    """
    settings = {"batch_rows": 1, "shard_rows": 1, "sample_rows": 150, **settings}
    result = audit(model, train=splits["train"], val=splits["val"], **settings)
    doc = result.to_dict()
    for key in ("created", "timings", "environment"):
        doc.pop(key)
    train = result.evaluation.splits["train"]
    assert doc.pop("engine")["splits"]["train"]["rows"] == train.n_rows + train.dropped_rows
    for split in doc["splits"].values():
        split.pop("path")
    return doc, result.evaluation


@pytest.fixture(scope="module")
def data(tiny_multiclass: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("shards")
    train = _ordered(tiny_multiclass.x_train, tiny_multiclass.y_train)
    val = tiny_multiclass.x_val, tiny_multiclass.y_val
    assert 2 not in train[1][NO_CLASS_2]
    csv = {"train": folder / "train.csv", "val": folder / "val.csv"}
    _write_csv(csv["train"], *train)
    _write_csv(csv["val"], *val)
    return {
        "folder": folder,
        "model": tiny_multiclass.path("keras"),
        "splits": {"train": train, "val": val},
        "one_pass": _report(tiny_multiclass.path("keras"), csv),
    }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sharded_splits_give_the_report_of_one_pass(data: dict[str, Any], layout: str) -> None:
    paths = {}
    for name, groups in LAYOUTS[layout].items():
        path = data["folder"] / f"{name}-{len(groups)}.parquet"
        _write_parquet(path, *data["splits"][name], groups)
        reader = SplitReader(
            name, path, ReadOptions(n_classes=3, n_features=4, batch_rows=1, shard_rows=1)
        )
        assert len(reader.shards()) == len(groups)  # the merge below is over these shards
        paths[name] = path
    doc, evaluation = _report(data["model"], paths)
    one_doc, one_pass = data["one_pass"]
    assert_close(doc, one_doc, tolerance=1e-12)
    assert evaluation.data == one_pass.data  # every data fact the rules judged
    for name in ("train", "val"):
        for field in ROW_FACTS:
            got, want = getattr(evaluation.rows[name], field), getattr(one_pass.rows[name], field)
            assert np.array_equal(got, want), (name, field)
        np.testing.assert_array_equal(evaluation.splits[name].proba, one_pass.splits[name].proba)


def test_the_evaluation_options_steer_the_facts(tiny_binary: Any) -> None:
    result = audit(
        tiny_binary.path("keras"),
        train=tiny_binary.split("train"),
        val=tiny_binary.split("val"),
        sample_rows=150,
        proxy_candidates=0,
    )
    assert len(result.evaluation.rows["train"].sample_y) == 150
    drift = next(r for r in result.results if r.rule.kind == "split_drift")
    assert drift.observed["sample_rows"] == {"train": 150, "val": 150}
    assert "at most 150 rows" in drift.observed["method"]
    assert result.evaluation.data.proxies["val"].candidates == ()
    default = audit(
        tiny_binary.path("keras"), train=tiny_binary.split("train"), val=tiny_binary.split("val")
    )
    assert len(default.evaluation.rows["train"].sample_y) == 400  # all of it: under 20,000


def test_the_grid_comes_from_the_first_rows_across_shards(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.engines import local
    from auditor.facts.rows import near_grid

    monkeypatch.setattr(local, "GRID_ROWS", 100)  # the head spans the first four train shards
    paths = {}
    for name, groups in LAYOUTS["seven shards"].items():
        paths[name] = data["folder"] / f"grid-{name}.parquet"
        _write_parquet(paths[name], *data["splits"][name], groups)
    _, sharded = _report(data["model"], paths)
    _, one_pass = _report(data["model"], {n: data["folder"] / f"{n}.csv" for n in paths})
    x_train = data["splits"]["train"][0]
    for evaluation in (sharded, one_pass):
        np.testing.assert_array_equal(evaluation.rows["val"].near_scale, near_grid(x_train[:100]))
    for name in ("train", "val"):
        assert sharded.rows[name].matches == one_pass.rows[name].matches


def _with_invalid_rows(data: dict[str, Any], name: str) -> dict[str, Path]:
    """Train as 7 Parquet shards and as CSV, with NaN features in rows 170 and 171 (shard 5)."""
    x, y = data["splits"]["train"]
    x = x.copy()
    x[170, 1] = np.nan
    x[171, 3] = np.nan
    parquet, csv = data["folder"] / f"{name}.parquet", data["folder"] / f"{name}.csv"
    _write_parquet(parquet, x, y, LAYOUTS["seven shards"]["train"])
    _write_csv(csv, x, y)
    return {"parquet": parquet, "csv": csv}


def test_dropped_invalid_rows_in_a_middle_shard_give_one_pass_s_report(
    data: dict[str, Any],
) -> None:
    train = _with_invalid_rows(data, "dropped")
    val = data["folder"] / "val.csv"
    sharded, facts = _report(
        data["model"], {"train": train["parquet"], "val": val}, drop_invalid_rows=True
    )
    one_pass, one_facts = _report(
        data["model"], {"train": train["csv"], "val": val}, drop_invalid_rows=True
    )
    assert_close(sharded, one_pass, tolerance=1e-12)
    assert sharded["splits"]["train"]["dropped_rows"] == 2
    assert facts.data == one_facts.data
    for field in ROW_FACTS:
        assert np.array_equal(
            getattr(facts.rows["train"], field), getattr(one_facts.rows["train"], field)
        ), field
    assert facts.rows["train"].n_rows == len(data["splits"]["train"][1]) - 2


def test_invalid_rows_in_a_middle_shard_stop_the_predictions(data: dict[str, Any]) -> None:
    from auditor.errors import DataError

    train = _with_invalid_rows(data, "invalid")
    messages, predicted = [], []
    for kind in ("parquet", "csv"):
        rows: list[int] = []
        with pytest.raises(DataError) as caught:
            audit(
                data["model"],
                train=train[kind],
                val=data["folder"] / "val.csv",
                batch_rows=1,
                shard_rows=1,
                progress=lambda split, n, seen=rows: seen.append(n),
            )
        messages.append(str(caught.value).split(": ", 1)[1])
        predicted.append(sum(rows))
    assert messages[0] == messages[1]
    assert "2 row(s) have NaN or infinite feature values (first: row 170" in messages[0]
    assert predicted == [170, 170]  # nothing after the first invalid row, in any shard


def test_a_parquet_file_without_row_groups_has_no_rows(data: dict[str, Any]) -> None:
    from auditor.errors import DataError

    empty = data["folder"] / "empty.parquet"
    schema = pa.schema([(n, pa.float32()) for n in NAMES] + [("label", pa.int64())])
    pq.ParquetWriter(empty, schema).close()
    with pytest.raises(DataError, match="the train split has no rows"):
        audit(data["model"], train=empty, val=data["folder"] / "val.csv")
