"""Facts about the rows' context columns: entities shared across splits, and splits out of time.

A group column (--group-column) names the entity a row belongs to (a patient, a customer, a
device); a time column (--time-column) when it was recorded. Both are read beside the features
(`auditor.evaluate`) and compared here, one sort per split: linear in rows up to the sorts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

EXAMPLES = 10  # shared groups shown as evidence
TIME_BINS = 10  # equal-count bins of the label rate over time


@dataclass(frozen=True)
class GroupOverlap:
    """How many of a split's groups (and their rows) also occur in the training split."""

    column: str
    train_groups: int
    groups: int  # distinct groups in the split (rows without a group left out)
    shared_groups: int  # ... that also occur in train
    rows: int  # rows of the split that have a group
    shared_rows: int  # ... whose group occurs in train
    missing_rows: int  # rows without a group value (empty, null)
    examples: tuple[Mapping[str, Any], ...] = ()  # {group, rows, train_rows}, most rows first


@dataclass(frozen=True)
class Groups:
    """The group columns' overlap between a split and training (none when no column was given)."""

    columns: tuple[GroupOverlap, ...]


@dataclass(frozen=True)
class Temporal:
    """Where a split's rows fall in time against the training rows, and the label rate over time."""

    column: str
    dates: bool  # the column holds dates (shown as such), not plain numbers
    train_start: float
    train_end: float
    start: float
    end: float
    rows: int  # rows of the split with a time
    earlier_rows: int  # ... strictly earlier than the latest training row
    missing_rows: int
    rate_class: str  # the class whose share over time is shown
    label_rate: tuple[Mapping[str, Any], ...] = ()  # {start, end, rows, train_rows, rate}

    def shown(self, value: float) -> str:
        """Write a time of this column as people read it: a date, or the number."""
        if not self.dates:
            return f"{value:g}"
        stamp = np.datetime64(int(value * 1e9), "ns")
        text = str(np.datetime_as_string(stamp, unit="s"))
        return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")


@dataclass(frozen=True)
class Times:
    """The time column's comparison of a split with training (none when no column was given)."""

    columns: tuple[Temporal, ...]


def _text(value: Any) -> str:
    """One group value as text; a whole float as the integer it is (1.0 and "1" are one id).

    A CSV column of integer ids with a blank cell reads as floats in one split and as text in
    another: both must name the same groups.
    """
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _keys(values: np.ndarray, as_text: bool) -> np.ndarray:
    """VALUES as comparable keys (numbers, or text), with the rows that have no value left out."""
    if as_text:
        text = np.array([_text(v) for v in values], dtype=object)
        missing = np.array([v is None or v != v or str(v).strip() == "" for v in values], bool)
        return text[~missing].astype(str)
    numbers = values.astype(np.float64)
    return numbers[~np.isnan(numbers)]


def _numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "biuf"


def group_overlap(column: str, train: np.ndarray, other: np.ndarray) -> GroupOverlap:
    """Count OTHER's groups of COLUMN, and their rows, that also occur in TRAIN."""
    as_text = not (_numeric(train) and _numeric(other))  # ids read as text and numbers compare
    train_keys, keys = _keys(train, as_text), _keys(other, as_text)
    train_groups, train_counts = np.unique(train_keys, return_counts=True)
    groups, counts = np.unique(keys, return_counts=True)
    if len(train_groups):
        at = np.minimum(np.searchsorted(train_groups, groups), len(train_groups) - 1)
        shared = train_groups[at] == groups
    else:
        at, shared = np.zeros(len(groups), np.int64), np.zeros(len(groups), bool)
    order = np.flatnonzero(shared)[np.argsort(-counts[shared], kind="stable")][:EXAMPLES]
    examples = tuple(
        {
            "group": _plain(groups[i]),
            "rows": int(counts[i]),
            "train_rows": int(train_counts[at[i]]),
        }
        for i in order
    )
    return GroupOverlap(
        column=column,
        train_groups=int(len(train_groups)),
        groups=int(len(groups)),
        shared_groups=int(shared.sum()),
        rows=int(len(keys)),
        shared_rows=int(counts[shared].sum()),
        missing_rows=int(len(other) - len(keys)),
        examples=examples,
    )


def _plain(value: Any) -> Any:
    """Return a key as report.json holds it: a whole number without its '.0', text as text."""
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return str(value)


def seconds(values: np.ndarray) -> np.ndarray:
    """Return times as float seconds (dates since 1970) or plain numbers; NaN for none."""
    if values.dtype.kind == "M":
        ns = values.astype("datetime64[ns]")
        out = ns.astype(np.int64).astype(np.float64) / 1e9
        out[np.isnat(ns)] = np.nan
        return out
    return values.astype(np.float64)


def temporal(
    column: str,
    train: np.ndarray,
    other: np.ndarray,
    y_train: np.ndarray,
    y_other: np.ndarray,
    classes: tuple[str, ...],
) -> Temporal:
    """Compare OTHER's times of COLUMN with TRAIN's, and bin the label rate over both in time."""
    dates = train.dtype.kind == "M" or other.dtype.kind == "M"
    t, o = seconds(train), seconds(other)
    t_ok, o_ok = ~np.isnan(t), ~np.isnan(o)
    kinds = [
        "dates" if v.dtype.kind == "M" else "numbers"
        for v, ok in ((train, t_ok), (other, o_ok))
        if ok.any()
    ]
    if len(set(kinds)) == 2:  # seconds since 1970 against plain numbers would compare nothing
        raise ValueError(
            f"--time-column '{column}' holds {kinds[0]} in train and {kinds[1]} in the other "
            "split; write the times of both splits the same way"
        )
    if not t_ok.any() or not o_ok.any():  # nothing to compare: the rule is not applicable
        nan = float("nan")
        return Temporal(column, dates, nan, nan, nan, nan, 0, 0, int((~o_ok).sum()), "")
    train_end = float(t[t_ok].max())
    counts = np.bincount(y_train, minlength=len(classes))
    rate_cls = 1 if len(classes) == 2 else int(np.argmax(counts))
    # The label rate over time, in equal-count bins of both splits' rows together.
    times = np.concatenate([t[t_ok], o[o_ok]])
    hits = np.concatenate([y_train[t_ok], y_other[o_ok]]) == rate_cls
    from_train = np.concatenate([np.ones(int(t_ok.sum()), bool), np.zeros(int(o_ok.sum()), bool)])
    order = np.argsort(times, kind="stable")
    bins = []
    for part in np.array_split(order, min(TIME_BINS, len(order))):
        if not len(part):
            continue
        bins.append(
            {
                "start": float(times[part[0]]),
                "end": float(times[part[-1]]),
                "rows": int(len(part)),
                "train_rows": int(from_train[part].sum()),
                "rate": float(hits[part].mean()),
            }
        )
    return Temporal(
        column=column,
        dates=dates,
        train_start=float(t[t_ok].min()),
        train_end=train_end,
        start=float(o[o_ok].min()),
        end=float(o[o_ok].max()),
        rows=int(o_ok.sum()),
        earlier_rows=int(np.count_nonzero(o[o_ok] < train_end)),
        missing_rows=int((~o_ok).sum()),
        rate_class=classes[rate_cls],
        label_rate=tuple(bins),
    )
