"""Text columns as numbers for the data checks: each value a stable code, missing values apart.

The data checks (row hashes, duplicates across splits, drift, single-feature scores) read one
float32 table. A text column enters it as the CRC-32 of each value's UTF-8 bytes, cut to 24 bits
so that float32 holds it exactly: the same value gets the same code in every split, shard and
process, with no vocabulary to agree on first. Two of 16.7 million codes collide by chance, which
can merge two categories of a column in the checks (never in what the model is fed). A missing
value (null, empty CSV cell, NaN in a DataFrame) gets MISSING, which no value's code equals.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping

import numpy as np

CODE_BITS = 24
MISSING = -1.0
VOCABULARY = 200  # values per column remembered by code, to name categories in evidence


def encode(
    values: np.ndarray, normalized: bool = False
) -> tuple[np.ndarray, np.ndarray, dict[float, str]]:
    """Return the float32 code of each value, the missing mask, and code -> value of this batch.

    VALUES is an object array of str, None where missing. Only the batch's distinct values are
    hashed, so a categorical column costs one dictionary lookup per row. NORMALIZED codes each
    text after `normalize` (a text model's column: duplicates up to case, spaces, punctuation).
    """
    missing = np.array([v is None for v in values], dtype=bool)
    present = values[~missing]
    if normalized:
        present = np.array([normalize(str(v)) for v in present], dtype=object)
    codes = np.full(len(values), MISSING, dtype=np.float32)
    vocabulary: dict[float, str] = {}
    if len(present):
        # A dict, not np.unique: sorting would copy long texts into a fixed-width array.
        seen: dict[str, float] = {}
        for value in present:
            if value not in seen:
                seen[value] = code_of(str(value))
        codes[~missing] = np.fromiter((seen[v] for v in present), np.float32, len(present))
        for value, code in seen.items():
            if len(vocabulary) >= VOCABULARY:
                break
            vocabulary[code] = str(value)
    return codes, missing, vocabulary


_PUNCTUATION = re.compile(r"[^\w\s]+")


def normalize(text: str) -> str:
    """Return TEXT as the duplicate checks compare it: lower case, no punctuation, single spaces."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def code_of(value: str) -> float:
    """Return the code of one text value (see the module's docstring)."""
    return float(zlib.crc32(value.encode("utf-8")) & ((1 << CODE_BITS) - 1))


def merge_vocabularies(
    first: Mapping[str, Mapping[float, str]], second: Mapping[str, Mapping[float, str]]
) -> dict[str, dict[float, str]]:
    """Combine two columns -> (code -> value) maps, keeping at most VOCABULARY values a column."""
    merged = {name: dict(values) for name, values in first.items()}
    for name, values in second.items():
        column = merged.setdefault(name, {})
        for code, value in values.items():
            if len(column) >= VOCABULARY:
                break
            column.setdefault(code, value)
    return merged
