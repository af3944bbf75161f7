"""Property tests and a short fuzz run: the loader and readers fail only with their own errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import DataError, RuleConfigError
from auditor.facts.rows import FeatureStats, RowFacts
from auditor.loading.data import ReadOptions, SplitReader
from auditor.rules import load_rule_set
from auditor.rules.kinds import KINDS

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["val", "train", "all", "positive", "error", "warning", "point"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
param_maps = st.dictionaries(
    st.sampled_from(sorted({k for kind in KINDS.values() for k in kind.params}) + ["bogus"]),
    values,
    max_size=4,
)
rules = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["OF01", "RC01", "TT01", "TT02"]), st.text(max_size=5))},
    optional={
        "kind": st.one_of(st.sampled_from(sorted(KINDS)), st.text(max_size=6)),
        "severity": st.one_of(st.sampled_from(["error", "warning", "info"]), values),
        "params": st.one_of(param_maps, values),
        "summary": st.one_of(st.text(max_size=10), values),
        "why": st.text(max_size=10),
        "what_to_do": st.text(max_size=10),
        "enabled": st.one_of(st.booleans(), values),
    },
)
rule_sets = st.fixed_dictionaries(
    {},
    optional={
        "extends": st.one_of(st.just("default"), st.text(max_size=6), values),
        "rules": st.one_of(st.lists(rules, max_size=4), values),
        "disable": st.one_of(st.lists(st.sampled_from(["OF01", "XX"]), max_size=2), values),
        "waivers": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"rule": st.sampled_from(["OF01", "XX"])},
                    optional={"reason": values, "expires": values},
                ),
                max_size=2,
            ),
            values,
        ),
        "name": values,
    },
)


@FAST
@given(document=rule_sets)
def test_rule_set_loader_accepts_or_names_the_problem(tmp_path: Path, document):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    try:
        loaded = load_rule_set(path)
    except RuleConfigError as exc:
        assert str(path) in str(exc) or "rule set not found" in str(exc)
        assert "\n" not in str(exc)
    else:
        for rule in loaded.rules:
            assert rule.kind in KINDS and rule.severity in ("error", "warning", "info")
            assert set(rule.params) == set(KINDS[rule.kind].params)


@FAST
@given(text=st.text(alphabet=st.sampled_from(list('0123456789.,-e\n"abcnaNinf ')), max_size=300))
def test_csv_reader_fuzz(tmp_path: Path, text):
    path = tmp_path / "f.csv"
    path.write_text("a,b,label\n" + text)
    try:
        reader = SplitReader("val", path, ReadOptions(n_features=2))
        for batch in reader.batches():
            assert batch.x.dtype == np.float32 and np.isfinite(batch.x).all()
            assert set(np.unique(batch.y)) <= {0, 1}
    except DataError as exc:
        assert str(path) in str(exc)


@FAST
@given(data=st.binary(max_size=400))
def test_npz_reader_fuzz_on_raw_bytes(tmp_path: Path, data):
    path = tmp_path / "f.npz"
    path.write_bytes(data)
    with pytest.raises(DataError):
        list(SplitReader("val", path, ReadOptions(n_features=2)).batches())


@FAST
@given(
    rows=st.integers(1, 30),
    dtype=st.sampled_from(["float32", "float64", "int64", "bool", "object", "U3"]),
    y_kind=st.sampled_from(["int", "float", "bool", "text", "short"]),
)
def test_npz_reader_fuzz_on_arrays(tmp_path: Path, rows, dtype, y_kind):
    rng = np.random.default_rng(rows)
    x = rng.integers(0, 3, size=(rows, 2)).astype(dtype)
    y = {
        "int": rng.integers(0, 2, rows),
        "float": rng.random(rows),
        "bool": rng.random(rows) > 0.5,
        "text": np.array(["a"] * rows),
        "short": np.zeros(max(rows - 1, 0), int),
    }[y_kind]
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    path = tmp_path / "f.npz"
    path.write_bytes(buffer.getvalue())
    readable = dtype in ("float32", "float64", "int64", "bool") and y_kind in ("int", "bool")
    if readable:
        batches = list(SplitReader("val", path, ReadOptions(n_features=2)).batches())
        np.testing.assert_array_equal(np.concatenate([b.x for b in batches]), x.astype(np.float32))
        np.testing.assert_array_equal(np.concatenate([b.y for b in batches]), y.astype(np.int64))
    else:  # pickled objects, text features, fractional or text labels, a short y: refused
        with pytest.raises(DataError, match=str(path)):
            list(SplitReader("val", path, ReadOptions(n_features=2)).batches())


@FAST
@given(
    x=st.integers(2, 400).flatmap(
        lambda n: st.lists(st.floats(-1e3, 1e3, width=32), min_size=n * 3, max_size=n * 3)
    ),
    cut=st.integers(1, 399),
)
def test_row_facts_merge_equals_one_pass(x, cut):
    data = np.array(x, dtype=np.float32).reshape(-1, 3)
    cut = min(cut, len(data) - 1)
    whole = RowFacts(scale=np.ones(3))
    whole.update(data, np.zeros(len(data), np.int64), np.arange(len(data)))
    first, second = RowFacts(scale=np.ones(3)), RowFacts(scale=np.ones(3))
    first.update(data[:cut], np.zeros(cut, np.int64), np.arange(cut))
    second.update(data[cut:], np.zeros(len(data) - cut, np.int64), np.arange(cut, len(data)))
    both = first.merge(second)
    merged, single = both.freeze(("a", "b", "c")), whole.freeze(("a", "b", "c"))
    labels = np.zeros(len(data), np.int64)
    (merged_keys,), (single_keys,) = both.take_keys(labels, 0), whole.take_keys(labels, 0)
    for field in ("near", "hashes", "labels"):
        np.testing.assert_array_equal(getattr(merged_keys, field), getattr(single_keys, field))
    np.testing.assert_array_equal(merged_keys.row_numbers(), single_keys.row_numbers())
    for field in ("sample_x", "sample_y", "sample_rows"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(single, field))
    for field in ("total", "total_sq", "minimum", "maximum", "integral", "increasing"):
        np.testing.assert_allclose(
            getattr(merged.stats, field), getattr(single.stats, field), rtol=1e-9
        )
    assert merged.stats.n == single.stats.n == len(data)


def test_feature_stats_whole_and_rising_columns_in_batches():
    # Columns stop being whole or rising at different rows; later batches only check the columns
    # that still qualify, and must reach the one-pass answer.
    rows = np.arange(1000, dtype=np.float32)
    data = np.column_stack(
        [
            rows,  # whole and rising throughout: an identifier
            np.where(rows < 600, rows, rows + 0.5),  # rising throughout, fractional from row 600
            np.where(rows < 300, rows, 0.0),  # whole throughout, falls at row 300
            np.random.default_rng(1).normal(size=1000),  # neither, from the first batch
        ]
    ).astype(np.float32)
    batched = FeatureStats()
    for start in range(0, 1000, 137):
        batched.update(data[start : start + 137])
    single = FeatureStats()
    single.update(data)
    np.testing.assert_array_equal(batched.integral, [True, False, True, False])
    np.testing.assert_array_equal(batched.increasing, [True, True, False, False])
    np.testing.assert_array_equal(batched.integral, single.integral)
    np.testing.assert_array_equal(batched.increasing, single.increasing)


def test_feature_stats_match_numpy():
    data = np.random.default_rng(0).normal(size=(1000, 4)).astype(np.float32)
    stats = FeatureStats()
    for start in range(0, 1000, 137):
        stats.update(data[start : start + 137])
    np.testing.assert_allclose(stats.mean, data.astype(np.float64).mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(stats.std, data.astype(np.float64).std(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(stats.minimum, data.min(axis=0))
