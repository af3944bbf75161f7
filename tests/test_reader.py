"""The split reader on its own: batches, invalid rows, label columns."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from auditor.errors import DataError
from auditor.loading.data import ReadOptions, SplitReader
from auditor.rules import load_rule_set


def _csv(tmp_path, frame):
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    return path


def test_dropping_invalid_rows_keeps_every_clean_batch(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10.0), "b": 1.0, "label": np.arange(10) % 2})
    frame.loc[1, "a"] = np.nan
    reader = SplitReader(
        "val",
        _csv(tmp_path, frame),
        ReadOptions(n_features=2, batch_rows=3, drop_invalid_rows=True),
    )
    batches = list(reader.batches())
    rows = np.concatenate([b.rows for b in batches])
    assert rows.tolist() == [0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert reader.dropped_rows == 1
    np.testing.assert_array_equal(
        np.concatenate([b.x[:, 0] for b in batches]), [0, 2, 3, 4, 5, 6, 7, 8, 9]
    )


def test_all_rows_invalid_is_a_clear_error(tmp_path):
    frame = pd.DataFrame({"a": [np.nan] * 4, "b": 1.0, "label": [0, 1, 0, 1]})
    reader = SplitReader(
        "val", _csv(tmp_path, frame), ReadOptions(n_features=2, drop_invalid_rows=True)
    )
    with pytest.raises(
        DataError, match=r"all 4 row\(s\) of the val split have NaN or infinite feature values"
    ):
        list(reader.batches())


def test_a_label_column_named_y_is_a_column(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "label": [0, 1]})
    with pytest.raises(DataError, match=r"label column 'y' not found; columns are a, b, label"):
        SplitReader("val", _csv(tmp_path, frame), ReadOptions(label="y", n_features=2))
    named_y = frame.rename(columns={"label": "y"})
    reader = SplitReader("val", _csv(tmp_path, named_y), ReadOptions(label="y", n_features=2))
    assert reader.features == ["a", "b"]
    assert [b.y.tolist() for b in reader.batches()] == [[0, 1]]


def test_waiver_expiring_at_a_time_of_day_counts_the_day(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "extends: default\nwaivers:\n  - rule: OF01\n    reason: r\n"
        "    expires: 2030-01-01 10:00:00\n"
    )
    waiver = load_rule_set(path).waivers[0]
    assert waiver.expires == date(2030, 1, 1)
    assert not waiver.expired(date(2030, 1, 1)) and waiver.expired(date(2030, 1, 2))
