"""Bucketed matching of rows gives exactly the whole-array counts and examples, for any buckets.

Splits with planted exact copies, near copies and label conflicts (within a split and across
splits) are fed shard by shard through `RowFacts`, handed over as 2**bits buckets and matched
bucket by bucket (`auditor.facts.rows.matched`); `whole_array` is the former computation over
every row at once. NumPy only.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import whole_array

from auditor.facts.buckets import EXAMPLES, RowKeys, bucket_of, compact, local_map, partition
from auditor.facts.rows import RowFacts, hash_rows, matched, near_cells, near_grid

NAMES = ("a", "b", "c")


def planted(
    n: int, seed: int, k: int, source: tuple[np.ndarray, np.ndarray] | None = None, discrete=False
) -> tuple[np.ndarray, np.ndarray]:
    """N rows with copies of their own rows (some relabelled) and, from SOURCE, copied rows."""
    rng = np.random.default_rng(seed)
    if discrete:  # 27 distinct rows: duplicates and conflicts everywhere, more than EXAMPLES
        x = rng.integers(0, 3, size=(n, 3)).astype(np.float32)
    else:
        x = rng.normal(size=(n, 3)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    for _ in range(n // 6):  # exact copies within the split, half of them relabelled
        i, j = rng.integers(0, n, size=2)
        x[j] = x[i]
        y[j] = y[i] if rng.random() < 0.5 else (y[i] + 1) % k
    if source is not None:
        sx, sy = source
        for _ in range(n // 5):
            i, j = rng.integers(0, len(sx)), rng.integers(0, n)
            kind = rng.integers(0, 3)  # an exact copy, a relabelled copy, a near copy
            x[j] = sx[i] if kind < 2 else sx[i] + np.float32(1e-4)
            y[j] = sy[i] if kind != 1 else (sy[i] + 1) % k
    return x, y


def rows_of(n: int, seed: int, dropped: bool) -> np.ndarray:
    """File row numbers: 0..n-1, or increasing numbers with gaps (rows dropped)."""
    if not dropped:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(3 * n, size=n, replace=False))


def feed(x: np.ndarray, y: np.ndarray, rows: np.ndarray, scale: np.ndarray, cuts, bits: int):
    """Shards of the split cut at CUTS, fed in batches of 7: per bucket, each shard's RowKeys."""
    bounds = [0, *cuts, len(x)]
    buckets: list[list[RowKeys]] = [[] for _ in range(1 << bits)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        facts = RowFacts(scale=scale)
        for s in range(a, b, 7):
            e = min(s + 7, b)
            facts.update(x[s:e], y[s:e], rows[s:e])
        for bucket, part in zip(buckets, facts.take_keys(y[a:b], bits), strict=True):
            bucket.append(part)
    return buckets


def frozen(x: np.ndarray, y: np.ndarray, rows: np.ndarray, scale: np.ndarray, sample: int) -> Any:
    facts = RowFacts(scale=scale, sample_rows_limit=sample)
    facts.update(x, y, rows)
    return facts.freeze(NAMES)


def expected(splits: dict[str, tuple], scale: np.ndarray, k: int, sample_x: np.ndarray) -> dict:
    """The whole-array answers: per split its duplicates, its rows in train, train's twins."""
    arrays = {
        name: (hash_rows(x), hash_rows(near_cells(x, scale)), y, rows)
        for name, (x, y, rows) in splits.items()
    }
    found: dict[str, Any] = {}
    for name, (h, _, y, rows) in arrays.items():
        found[name] = {"duplicates": whole_array.duplicates(h, y, rows, k)}
        if name != "train":
            found[name]["shared"] = whole_array.shared(arrays["train"], arrays[name], k)
    h, near = arrays["train"][:2]
    found["train"]["within"] = (
        whole_array.within_rate(h, hash_rows(sample_x)),
        whole_array.within_rate(near, hash_rows(near_cells(sample_x, scale))),
    )
    return found


def observed(matches: Any) -> dict:
    """The same answers, read from a split's bucketed matches."""
    d = matches.duplicates
    found: dict[str, Any] = {
        "duplicates": (
            d.duplicate_rows,
            d.conflicting_label_rows,
            d.conflicting_label_groups,
            [(row, copies, labels) for _, row, copies, labels in d.examples],
        )
    }
    if matches.shared is not None:
        s = matches.shared
        found["shared"] = (s.same_label, s.exact, max(s.near - s.exact, 0), list(s.examples))
    if matches.within is not None:
        found["within"] = matches.within.rates()
    return found


def run(
    splits: dict[str, tuple],
    k: int,
    bits: int,
    cuts: dict[str, list[int]],
    map_=local_map,
    compacted: bool = False,
):
    """Match SPLITS (name -> x, y, rows) in 2**BITS buckets; return observed and expected."""
    scale = near_grid(splits["train"][0])
    rows = {name: frozen(*split, scale, sample=40) for name, split in splits.items()}
    keys = {name: feed(*split, scale, cuts[name], bits) for name, split in splits.items()}
    if compacted:  # as `evaluate` hands the local engine's shards over: one part per bucket
        keys = {name: [compact(bucket) for bucket in buckets] for name, buckets in keys.items()}
        assert all(len(bucket) <= 1 for buckets in keys.values() for bucket in buckets)
    got = matched(rows, keys, k, map_)
    for name, split in splits.items():
        assert got[name].n_rows == len(split[0])
        assert got[name].matches is not None and got[name].matches.duplicates.rows == len(split[0])
    want = expected(splits, scale, k, rows["train"].sample_x)
    return {name: observed(got[name].matches) for name in splits}, want


@pytest.mark.parametrize("bits", [0, 1, 3, 6])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("discrete", [False, True], ids=["continuous", "discrete"])
@pytest.mark.parametrize("dropped", [False, True], ids=["all-rows", "dropped-rows"])
@pytest.mark.parametrize("compacted", [False, True], ids=["shards", "joined"])
def test_buckets_give_the_whole_array_answers(
    bits: int, k: int, discrete: bool, dropped: bool, compacted: bool
):
    train_x, train_y = planted(300, seed=1, k=k, discrete=discrete)
    val_x, val_y = planted(200, seed=2, k=k, source=(train_x, train_y), discrete=discrete)
    test_x, test_y = planted(90, seed=3, k=k, source=(train_x, train_y), discrete=discrete)
    splits = {
        "train": (train_x, train_y, rows_of(300, 4, dropped)),
        "val": (val_x, val_y, rows_of(200, 5, dropped)),
        "test": (test_x, test_y, rows_of(90, 6, dropped)),
    }
    cuts = {"train": [1, 41, 118, 121], "val": [100], "test": []}  # uneven: a one-row shard
    got, want = run(splits, k, bits, cuts, compacted=compacted)
    assert got == want
    # The planted defects are there to be found.
    same_label, exact, near, examples = want["val"]["shared"]
    assert exact > 0 and want["train"]["duplicates"][2] > 0 and examples
    if not discrete:  # relabelled and near copies (discrete rows all have a same-label twin)
        assert same_label < exact and near > 0
        assert any(m == "near" for _, _, m, _, _ in examples)
    if discrete:  # more groups and matches than examples kept: the smallest win over buckets
        assert want["train"]["duplicates"][2] > EXAMPLES
        assert len(want["val"]["shared"][3]) == EXAMPLES
        assert want["train"]["within"][0] > 0.5


def test_one_row_splits_and_empty_buckets() -> None:
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    y = np.array([1])
    other = np.array([[1.0, 2.0, 3.0]], np.float32), np.array([0])
    splits = {"train": (x, y, np.arange(1)), "val": (*other, np.array([7]))}
    got, want = run(splits, 2, 4, {"train": [], "val": []})  # 16 buckets, 15 of them empty
    assert got == want
    assert got["val"]["shared"] == (0, 1, 0, [(7, 0, "exact", 0, 1)])
    assert got["train"]["duplicates"] == (0, 0, 0, [])


def test_known_answer() -> None:
    """Train: A (label 0), A (label 1), B; val: A (label 0), C, near-A. Counted by hand."""
    a, b, c = [0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [-5.0, 3.0, 1.0]
    train = np.array([a, a, b, c, [2.0, -2.0, 0.0]], np.float32)
    val = np.array([b, a, [0.0, 0.0, 1e-6]], np.float32)
    splits = {
        "train": (train, np.array([0, 1, 0, 1, 0]), np.arange(5)),
        "val": (val, np.array([1, 0, 1]), np.arange(3)),
    }
    for bits in (0, 2):
        got, want = run(splits, 2, bits, {"train": [2], "val": [1]})
        assert got == want
        same_label, exact, near, examples = got["val"]["shared"]
        # b (row 0) copies train row 2 with another label; a (row 1) copies train row 0 (label
        # 0 alike); row 2 is in a's grid cell, not identical: a near copy of train row 0.
        assert (same_label, exact, near) == (1, 2, 1)
        assert examples == [(0, 2, "exact", 1, 0), (1, 0, "exact", 0, 0), (2, 0, "near", 1, 0)]
        # Train rows 0 and 1 are one group of two copies with labels 0 and 1.
        assert got["train"]["duplicates"] == (1, 2, 1, [(0, 2, (0, 1))])


def test_partition_cuts_by_the_top_bits_and_keeps_file_order() -> None:
    rng = np.random.default_rng(0)
    near = rng.integers(0, 2**63, size=500, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    hashes = rng.integers(0, 2**63, size=500, dtype=np.int64).astype(np.uint64)
    labels = rng.integers(0, 3, size=500)
    parts = partition(near, hashes, labels, None, 1000, 3)
    assert len(parts) == 8 and sum(len(p) for p in parts) == 500
    for b, part in enumerate(parts):
        assert np.all(bucket_of(part.near, 3) == b) and np.all(part.near >> np.uint64(61) == b)
        assert np.all(np.diff(part.row_numbers()) > 0)  # file order within the bucket
        np.testing.assert_array_equal(part.hashes, hashes[part.row_numbers() - 1000])
    (whole,) = partition(near, hashes, labels, None, 1000, 0)
    assert whole.rows is None and whole.row_numbers()[0] == 1000  # one bucket: no row numbers


def test_buckets_travel_pickled_as_an_engine_sends_them() -> None:
    """A map that pickles every bucket's parts and result (as Ray does) gives the same answers."""

    def pickling_map(fn, tasks):
        sent = pickle.loads(pickle.dumps(tasks))
        return [pickle.loads(pickle.dumps(fn(*args, *parts))) for args, parts in sent]

    train_x, train_y = planted(120, seed=7, k=2)
    val_x, val_y = planted(80, seed=8, k=2, source=(train_x, train_y))
    splits = {
        "train": (train_x, train_y, np.arange(120)),
        "val": (val_x, val_y, np.arange(80)),
    }
    got, want = run(splits, 2, 2, {"train": [60], "val": [1, 2]}, pickling_map)
    assert got == want


def test_joined_parts_keep_their_rows() -> None:
    h = np.arange(10, dtype=np.uint64)
    labels = np.zeros(10, np.uint8)
    a = RowKeys(h[:4], h[:4], labels[:4], None, 100)
    b = RowKeys(h[4:], h[4:], labels[4:], None, 104)
    run = RowKeys.join([a, b])
    assert run.rows is None and run.first_row == 100 and len(run) == 10
    gap = RowKeys.join([a, RowKeys(h[4:], h[4:], labels[4:], None, 200)])
    assert gap.row_numbers().tolist() == [100, 101, 102, 103, *range(200, 206)]
    assert compact([a]) == [a] and compact(["a handle", "another"]) == ["a handle", "another"]


def test_small_steps_give_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups walk the rows in steps of CHUNK_ROWS: steps of 7 rows change nothing."""
    from auditor.facts import buckets

    train_x, train_y = planted(300, seed=11, k=3, discrete=True)
    val_x, val_y = planted(100, seed=12, k=3, source=(train_x, train_y), discrete=True)
    splits = {"train": (train_x, train_y, np.arange(300)), "val": (val_x, val_y, np.arange(100))}
    cuts = {"train": [150], "val": []}
    whole, want = run(splits, 3, 1, cuts)
    monkeypatch.setattr(buckets, "CHUNK_ROWS", 7)
    stepped, _ = run(splits, 3, 1, cuts)
    assert stepped == whole == want


def test_the_ray_engine_cuts_few_enough_buckets_to_keep_them_in_the_object_store() -> None:
    """4 buckets per worker, unless a shard's part of a bucket would be returned inline."""
    from auditor.engines.cluster import INLINE_BYTES, KEY_BYTES, bucket_bits

    assert bucket_bits(2, 250_000) == 3  # 8 buckets of ~31k rows (780 KB)
    assert bucket_bits(1, 1 << 20) == 2
    assert bucket_bits(64, 250_000) == 5  # not 256 buckets: 32, of ~7.8k rows (195 KB)
    assert bucket_bits(64, 1 << 20) == 7  # 256 buckets would be exactly 100 KiB each
    assert bucket_bits(2, 50) == 1  # tiny shards: two buckets all the same
    for workers in (1, 3, 64, 512):
        for rows in (10_000, 250_000, 1 << 20, 10**8):
            bits = bucket_bits(workers, rows)
            assert 1 <= bits and (1 << bits) <= max(4 * workers, 2) * 2
            assert bits == 1 or rows * KEY_BYTES / (1 << bits) > INLINE_BYTES
