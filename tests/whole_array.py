"""The whole-array matching that bucketed matching replaced, kept as the tests' reference.

These are the former `auditor.facts.data` computations over every row of a split at once (one
sort of all hashes), returning plain tuples; `tests/test_buckets.py` checks that the bucketed
code gives exactly these counts and examples for any number of buckets.
"""

from __future__ import annotations

import numpy as np

EXAMPLES = 10


def label_bits(n_classes: int) -> int:
    return max(1, int(np.ceil(np.log2(max(n_classes, 2)))))


def _sorted_keys(hashes: np.ndarray, y: np.ndarray, bits: int) -> np.ndarray:
    keys = hashes & ~np.uint64((1 << bits) - 1)
    keys |= y.astype(np.min_scalar_type((1 << bits) - 1))
    keys.sort()
    return keys


def _found_in(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    return haystack[pos] == needles


def _count_in(needles: np.ndarray, haystack: np.ndarray) -> int:
    if not len(haystack):
        return 0
    return int(np.count_nonzero(_found_in(needles, haystack)))


def shared(
    train: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    n_classes: int,
) -> tuple[int, int, int, list[tuple[int, int, str, int, int]]]:
    """(same label, exact, near beyond exact, examples) of OTHER's rows found in TRAIN.

    Each split is (hashes, near hashes, labels, row numbers), in file order.
    """
    (th, tn, ty, trows), (oh, on, oy, orows) = train, other
    bits = label_bits(n_classes)
    train_keys, other_keys = _sorted_keys(th, ty, bits), _sorted_keys(oh, oy, bits)
    same_label = _count_in(other_keys, train_keys)
    exact = _count_in(other_keys >> np.uint64(bits), train_keys >> np.uint64(bits))
    train_near = np.sort(tn)
    near = max(_count_in(on, train_near) - exact, 0)
    shown = []
    if exact + near and len(train_near):
        for i in np.flatnonzero(_found_in(on, train_near))[:EXAMPLES]:
            copies = np.flatnonzero(th == oh[i])
            if len(copies):
                alike = copies[ty[copies] == oy[i]]
                j = int(alike[0] if len(alike) else copies[0])
            else:
                j = int(np.argmax(tn == on[i]))
            match = "exact" if len(copies) else "near"
            shown.append((int(orows[i]), int(trows[j]), match, int(oy[i]), int(ty[j])))
    return same_label, exact, near, shown


def duplicates(
    hashes: np.ndarray, y: np.ndarray, rows: np.ndarray, n_classes: int
) -> tuple[int, int, int, list[tuple[int, int, tuple[int, ...]]]]:
    """(duplicate rows, conflicting rows, conflicting groups, examples) within one split."""
    if len(hashes) < 2:
        return 0, 0, 0, []
    bits = label_bits(n_classes)
    shift = np.uint64(bits)
    keys = _sorted_keys(hashes, y, bits)
    groups = keys >> shift
    same = groups[1:] == groups[:-1]
    conflicting = np.unique(groups[1:][same & (keys[1:] != keys[:-1])])
    first = conflicting << shift
    sizes = np.searchsorted(keys, first | np.uint64((1 << bits) - 1), "right") - np.searchsorted(
        keys, first
    )
    shown = []
    for group, size in zip(conflicting[:EXAMPLES], sizes[:EXAMPLES], strict=True):
        members = np.flatnonzero((hashes >> shift) == group)
        labels = tuple(int(c) for c in np.unique(y[members]))
        shown.append((int(rows[members[0]]), int(size), labels))
    return int(np.count_nonzero(same)), int(sizes.sum()), len(conflicting), shown


def within_rate(full: np.ndarray, sample: np.ndarray) -> float:
    """Share of SAMPLE's hashes that occur more than once in FULL."""
    if len(sample) == 0:
        return 0.0
    values, counts = np.unique(full, return_counts=True)
    pos = np.clip(np.searchsorted(values, sample), 0, len(values) - 1)
    return float(np.mean((values[pos] == sample) & (counts[pos] > 1)))
