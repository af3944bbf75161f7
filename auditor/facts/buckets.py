"""Rows matched within and across splits, bucket by bucket: duplicates, shared rows, chance rates.

Each split's rows are partitioned by the top bits of their near-duplicate hash into 2**bits
buckets. Identical rows fall in the same grid cell, so one bucket holds every copy of a row and
every near neighbour of it: counts are sums over buckets, and the examples the whole-array
computation would pick are the smallest (by row number, or by hash for groups) of each bucket's.
A bucket is a `RowKeys` per shard (17 bytes a row, 25 with row numbers); an engine runs
`bucket_matches` wherever the buckets are (the local engine: one bucket, in this process; Ray: on
its workers, next to the object store) and only the small `SplitMatches` come back.

The one assumption beyond the hashes themselves: rows whose 64-bit row hashes agree (without
their label bits) also agree in near hash. It holds for identical rows; for two different rows it
needs a collision of the 64-bit row hash, which the whole-array count would also miscount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from auditor.metrics import CHUNK_ROWS

EXAMPLES = 10  # rows of evidence kept per fact

T = TypeVar("T")
# An engine's way to run FN once per bucket where the buckets are: for each (args, parts) it
# calls FN(*args, *parts) with each handle in parts (one list per split) resolved to its RowKeys.
MapBuckets = Callable[[Callable[..., T], "Tasks"], list[T]]


Tasks = list[tuple[tuple[Any, ...], list[list[Any]]]]  # per bucket: (arguments, parts per split)


def local_map(fn: Callable[..., T], tasks: Tasks) -> list[T]:
    """Run FN on each bucket in this process (the parts are the RowKeys themselves)."""
    return [fn(*args, *parts) for args, parts in tasks]


@dataclass(frozen=True)
class RowKeys:
    """One bucket's rows of one shard, in file order: near hash, row hash, label, row number.

    ROWS is None for a run of consecutive rows from FIRST_ROW (nothing dropped, one bucket).
    """

    near: np.ndarray  # uint64
    hashes: np.ndarray  # uint64
    labels: np.ndarray  # the smallest unsigned type that holds the class indices
    rows: np.ndarray | None = None  # int64
    first_row: int = 0

    def __len__(self) -> int:
        return len(self.hashes)

    def row_numbers(self) -> np.ndarray:
        """Return the file row number of each row."""
        if self.rows is not None:
            return self.rows
        return np.arange(self.first_row, self.first_row + len(self), dtype=np.int64)

    @classmethod
    def join(cls, parts: Sequence[RowKeys]) -> RowKeys:
        """Return consecutive PARTS (in file order) as one."""
        ends = [p.first_row + len(p) for p in parts[:-1]]
        run = all(p.rows is None for p in parts) and all(
            end == p.first_row for end, p in zip(ends, parts[1:], strict=True)
        )
        return cls(
            np.concatenate([p.near for p in parts]),
            np.concatenate([p.hashes for p in parts]),
            np.concatenate([p.labels for p in parts]),
            None if run else np.concatenate([p.row_numbers() for p in parts]),
            parts[0].first_row if run else 0,
        )


def compact(parts: list[Any]) -> list[Any]:
    """Join a bucket's parts into one RowKeys when they are here (not handles to elsewhere).

    The local engine's shards each hand over their rows; joined once per split, matching needs
    no copy of them (and the parts go as soon as the caller drops them).
    """
    if len(parts) < 2 or not all(isinstance(p, RowKeys) for p in parts):
        return parts
    return [RowKeys.join(parts)]


def bucket_of(near: np.ndarray, bits: int) -> np.ndarray:
    """Return each row's bucket: the top BITS of its near hash (0 everywhere for one bucket)."""
    if bits == 0:
        return np.zeros(len(near), np.intp)
    return (near >> np.uint64(64 - bits)).astype(np.intp)


def partition(
    near: np.ndarray,
    hashes: np.ndarray,
    labels: np.ndarray,
    rows: np.ndarray | None,
    first_row: int,
    bits: int,
) -> list[RowKeys]:
    """Cut one shard's rows into 2**BITS buckets by near hash, keeping file order in each.

    ROWS are the rows' file numbers; None: consecutive from FIRST_ROW.
    """
    # Class indices are small: one byte a row for up to 256 classes.
    labels = labels.astype(np.min_scalar_type(int(labels.max(initial=0))), copy=False)
    if bits == 0:
        return [RowKeys(near, hashes, labels, rows, first_row)]
    which = bucket_of(near, bits)
    order = np.argsort(which, kind="stable")
    edges = np.searchsorted(which[order], np.arange((1 << bits) + 1))
    numbers = (
        rows if rows is not None else np.arange(first_row, first_row + len(near), dtype=np.int64)
    )
    parts = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        take = order[low:high]
        parts.append(RowKeys(near[take], hashes[take], labels[take], numbers[take]))
    return parts


@dataclass(frozen=True)
class DuplicatesPart:
    """Identical rows within a split (or a bucket of it); EXAMPLES: the first groups by hash."""

    rows: int = 0
    duplicate_rows: int = 0
    conflicting_label_rows: int = 0
    conflicting_label_groups: int = 0
    # (group's hash without label bits, its first row, copies, its labels), smallest hash first
    examples: tuple[tuple[int, int, int, tuple[int, ...]], ...] = ()

    def merge(self, other: DuplicatesPart) -> DuplicatesPart:
        """Add another bucket's counts; keep the EXAMPLES groups of smallest hash."""
        return DuplicatesPart(
            self.rows + other.rows,
            self.duplicate_rows + other.duplicate_rows,
            self.conflicting_label_rows + other.conflicting_label_rows,
            self.conflicting_label_groups + other.conflicting_label_groups,
            tuple(sorted(self.examples + other.examples)[:EXAMPLES]),
        )


@dataclass(frozen=True)
class SharedPart:
    """A split's rows that also occur in training (exactly, same label, same grid cell)."""

    same_label: int = 0
    exact: int = 0
    near: int = 0  # rows with a training row in their grid cell, exact copies included
    # (row, train row, "exact" | "near", label, train label), first rows first
    examples: tuple[tuple[int, int, str, int, int], ...] = ()

    def merge(self, other: SharedPart) -> SharedPart:
        """Add another bucket's counts; keep the EXAMPLES first rows."""
        return SharedPart(
            self.same_label + other.same_label,
            self.exact + other.exact,
            self.near + other.near,
            tuple(sorted(self.examples + other.examples)[:EXAMPLES]),
        )


@dataclass(frozen=True)
class WithinPart:
    """Sampled training rows whose hash (or near hash) occurs more than once in training."""

    sampled: int = 0
    exact: int = 0
    near: int = 0

    def merge(self, other: WithinPart) -> WithinPart:
        """Add another bucket's counts."""
        return WithinPart(
            self.sampled + other.sampled, self.exact + other.exact, self.near + other.near
        )

    def rates(self) -> tuple[float, float]:
        """Return the shares of sampled rows with an exact and a near twin in training."""
        if not self.sampled:
            return 0.0, 0.0
        return self.exact / self.sampled, self.near / self.sampled


@dataclass(frozen=True)
class SplitMatches:
    """What a split's rows match: its own duplicates, training's rows, training's twins."""

    duplicates: DuplicatesPart
    shared: SharedPart | None = None  # splits other than train, when there is one
    within: WithinPart | None = None  # train: its sample's twins, for the chance estimate

    def merge(self, other: SplitMatches) -> SplitMatches:
        """Add another bucket's matches of the same split."""
        return SplitMatches(
            self.duplicates.merge(other.duplicates),
            _merge_optional(self.shared, other.shared),
            _merge_optional(self.within, other.within),
        )


def _merge_optional(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a.merge(b)


# ---- one bucket ----------------------------------------------------------------------------------


def label_bits(n_classes: int) -> int:
    """Return how many low bits of a row hash make room for its label."""
    return max(1, int(np.ceil(np.log2(max(n_classes, 2)))))


def sorted_keys(hashes: np.ndarray, y: np.ndarray, bits: int) -> np.ndarray:
    """Each row's hash with its low BITS replaced by its label, sorted.

    Sorted, such keys put identical rows next to each other (`key >> bits` is the row's hash
    without its low bits) and, inside a group of identical rows, rows with the same label.
    Sorting 8-byte integers in place is several times faster than an argsort, and needs no index
    array: 8 bytes a row.
    """
    keys = hashes & ~np.uint64((1 << bits) - 1)
    keys |= y.astype(np.min_scalar_type((1 << bits) - 1))
    keys.sort()
    return keys


def found_in(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """Per needle: whether the sorted, non-empty HAYSTACK holds it."""
    pos = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    return haystack[pos] == needles


def count_in(needles: np.ndarray, haystack: np.ndarray) -> int:
    """How many of NEEDLES occur in the sorted HAYSTACK (with multiplicity)."""
    if not len(haystack):
        return 0
    return sum(
        int(np.count_nonzero(found_in(needles[start : start + CHUNK_ROWS], haystack)))
        for start in range(0, len(needles), CHUNK_ROWS)
    )


def _first_matches(needles: np.ndarray, haystack: np.ndarray, limit: int) -> np.ndarray:
    """Return the indices of the first LIMIT NEEDLES (in their order) found in HAYSTACK (sorted)."""
    found: list[np.ndarray] = []
    if not len(haystack):
        return np.empty(0, np.int64)
    step = 1 << 16  # small steps: the first matches come early
    for start in range(0, len(needles), step):
        found.append(start + np.flatnonzero(found_in(needles[start : start + step], haystack)))
        if sum(len(f) for f in found) >= limit:
            break
    return np.concatenate(found)[:limit] if found else np.empty(0, np.int64)


@dataclass(frozen=True)
class _Rows:
    """A split's parts of one bucket, joined: arrays in file order."""

    near: np.ndarray
    hashes: np.ndarray
    labels: np.ndarray
    parts: Sequence[RowKeys]

    @classmethod
    def join(cls, parts: Sequence[RowKeys]) -> _Rows:
        def cat(name: str, dtype: Any) -> np.ndarray:
            arrays = [getattr(p, name) for p in parts]
            if len(arrays) == 1:
                return np.asarray(arrays[0])
            return np.concatenate(arrays) if arrays else np.empty(0, dtype)

        return cls(cat("near", np.uint64), cat("hashes", np.uint64), cat("labels", np.uint8), parts)

    def row(self, index: int) -> int:
        """Return the file row number of the row at INDEX (numbered only when asked)."""
        for part in self.parts:
            if index < len(part):
                if part.rows is not None:
                    return int(part.rows[index])
                return part.first_row + index
            index -= len(part)
        raise IndexError(index)


def _duplicates(split: _Rows, bits: int) -> DuplicatesPart:
    n = len(split.hashes)
    if n < 2:
        return DuplicatesPart(rows=n)
    # One sort of (hash, label) keys: identical rows form runs, and a key change inside a run
    # marks a group of identical rows that carry different labels. Walked in steps that overlap
    # by one key, so the temporaries stay small.
    shift = np.uint64(bits)
    keys = sorted_keys(split.hashes, split.labels, bits)
    count = 0
    found: list[np.ndarray] = []
    for start in range(0, n - 1, CHUNK_ROWS):
        window = keys[start : start + CHUNK_ROWS + 1]
        groups = window >> shift
        same = groups[1:] == groups[:-1]
        count += int(np.count_nonzero(same))
        found.append(groups[1:][same & (window[1:] != window[:-1])])
    conflicting = np.unique(np.concatenate(found))
    first = conflicting << shift
    last = first | np.uint64((1 << bits) - 1)
    sizes = np.searchsorted(keys, last, "right") - np.searchsorted(keys, first)
    del keys
    shown = []
    if len(conflicting):
        file_groups = split.hashes >> shift
        for group, size in zip(conflicting[:EXAMPLES], sizes[:EXAMPLES], strict=True):
            members = np.flatnonzero(file_groups == group)
            labels = tuple(int(c) for c in np.unique(split.labels[members]))
            shown.append((int(group), split.row(int(members[0])), int(size), labels))
    return DuplicatesPart(n, count, int(sizes.sum()), int(len(conflicting)), tuple(shown))


def _shared(train: _Rows, other: _Rows, bits: int) -> SharedPart:
    # Sorted keys of (row hash, label): counts of shared rows come from merging two sorted
    # arrays; no per-row index is kept.
    train_keys = sorted_keys(train.hashes, train.labels, bits)
    other_keys = sorted_keys(other.hashes, other.labels, bits)
    same_label = count_in(other_keys, train_keys)  # rows with a train copy of the same label
    train_keys >>= np.uint64(bits)  # in place, still sorted: the hashes without the labels
    other_keys >>= np.uint64(bits)
    exact = count_in(other_keys, train_keys)
    del train_keys, other_keys
    # Identical rows fall in the same near-duplicate cell, so near matches include the exact ones.
    train_near = np.sort(train.near)
    near = count_in(other.near, train_near)
    shown = []
    # Examples only when there is something to show: a clean split costs no second pass.
    for i in _first_matches(other.near, train_near, EXAMPLES) if near else ():
        copies = np.flatnonzero(train.hashes == other.hashes[i])
        if len(copies):
            # Show a copy with the same label if there is one, as `same_label` counts.
            alike = copies[train.labels[copies] == other.labels[i]]
            j = int(alike[0] if len(alike) else copies[0])
        else:
            j = int(np.argmax(train.near == other.near[i]))
        shown.append(
            (
                other.row(int(i)),
                train.row(j),
                "exact" if len(copies) else "near",
                int(other.labels[i]),
                int(train.labels[j]),
            )
        )
    return SharedPart(same_label, exact, near, tuple(shown))


def _twins(values: np.ndarray, sample: np.ndarray) -> int:
    """How many of SAMPLE's values occur more than once in VALUES.

    VALUES are looked up in the small sorted sample step by step, and only the values found are
    counted: no sorted copy of VALUES (the matching's widest temporary otherwise).
    """
    if not len(sample) or not len(values):
        return 0
    wanted = np.unique(sample)
    found = [
        part[found_in(part, wanted)]
        for part in (
            values[start : start + CHUNK_ROWS] for start in range(0, len(values), CHUNK_ROWS)
        )
    ]
    seen, counts = np.unique(np.concatenate(found), return_counts=True)
    return int(np.count_nonzero(np.isin(sample, seen[counts > 1])))


def bucket_matches(
    names: tuple[str, ...],
    bits: int,
    sample_hashes: np.ndarray,
    sample_near: np.ndarray,
    *parts: Sequence[RowKeys],
) -> dict[str, SplitMatches]:
    """Match one bucket's rows: PARTS holds each split's RowKeys (NAMES, train first if any).

    SAMPLE_HASHES and SAMPLE_NEAR are the hashes of training's sampled rows in this bucket. BITS
    are the label bits of the row hashes (`label_bits`).
    """
    joined = {name: _Rows.join(p) for name, p in zip(names, parts, strict=True)}
    train = joined.get("train")
    found = {}
    for name, rows in joined.items():
        shared = within = None
        if train is not None and name != "train":
            shared = _shared(train, rows, bits)
        if name == "train":
            within = WithinPart(
                len(sample_hashes),
                _twins(rows.hashes, sample_hashes),
                _twins(rows.near, sample_near),
            )
        found[name] = SplitMatches(_duplicates(rows, bits), shared, within)
    return found


def row_matches(
    keys: Mapping[str, Sequence[Sequence[Any]]],
    sample_hashes: np.ndarray,
    sample_near: np.ndarray,
    n_classes: int,
    run: MapBuckets[dict[str, SplitMatches]] = local_map,
) -> dict[str, SplitMatches]:
    """Match every split's rows, one task per bucket through RUN, and add the buckets up.

    KEYS: per split (train first), per bucket, the handles of its shards' RowKeys; every split
    has the same number of buckets. SAMPLE_*: the hashes of training's sampled rows.
    """
    names = tuple(keys)
    n_buckets = len(next(iter(keys.values()))) if keys else 0
    bits = n_buckets.bit_length() - 1
    assert all(len(b) == n_buckets for b in keys.values()) and n_buckets == 1 << bits
    which = bucket_of(sample_near, bits)
    tasks = [
        (
            (names, label_bits(n_classes), sample_hashes[which == b], sample_near[which == b]),
            [list(keys[name][b]) for name in names],
        )
        for b in range(n_buckets)
    ]
    found: dict[str, SplitMatches] = {}
    for matched in run(bucket_matches, tasks):
        for name, value in matched.items():
            found[name] = found[name].merge(value) if name in found else value
    return found
