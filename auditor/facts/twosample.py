"""Two samples of one feature compared: population stability index and Kolmogorov-Smirnov test.

Both work from the sorted samples (`compare` sorts each once): a sort of 20,000 float32 values
takes tens of microseconds, while looking every value up in the bins or the other sample
(`np.searchsorted` of unsorted values) takes ten times as long, per feature and split.
"""

from __future__ import annotations

import warnings

import numpy as np

PSI_BINS = 10
# Below this many values in the larger sample, scipy's ks_2samp computes the exact p-value
# (its method="auto"); above, the asymptotic one, which `ks` computes from the statistic alone.
EXACT_KS_ROWS = 10_000


def psi(reference: np.ndarray, other: np.ndarray, bins: int = PSI_BINS) -> float:
    """Return the population stability index of sorted OTHER against sorted REFERENCE's bins.

    A value falls in bin k when edges[k-1] <= value < edges[k]; each bin's share has half a row
    added, so that an empty bin stays finite.
    """
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    a = _bin_counts(reference, edges)
    b = _bin_counts(other, edges)
    pa = (a + 0.5) / (a.sum() + 0.5 * len(a))
    pb = (b + 0.5) / (b.sum() + 0.5 * len(b))
    return float(np.sum((pa - pb) * np.log(pa / pb)))


def _bin_counts(ordered: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count the sorted values ORDERED in the len(EDGES) + 1 bins the EDGES cut (NaN last)."""
    below = np.searchsorted(ordered, edges, side="left")  # values < each edge
    return np.diff(np.concatenate([[0], below, [len(ordered)]]))


def ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Return the two-sided two-sample Kolmogorov-Smirnov statistic and p-value of sorted A, B.

    The statistic is scipy's `ks_2samp`'s to the last bit: the largest gap between the two
    empirical distribution functions at any value, from one sort of both float32 samples'
    order-preserving keys. So is the p-value: the asymptotic `kstwo` one, as scipy gives it above
    EXACT_KS_ROWS values; smaller or other samples go to scipy itself (its exact p-value).
    """
    from scipy.stats import distributions, ks_2samp

    n1, n2 = len(a), len(b)
    fast = a.dtype == b.dtype == np.float32 and max(n1, n2) > EXACT_KS_ROWS
    if not fast or np.isnan(a[-1]) or np.isnan(b[-1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "exact calculation unsuccessful" on discrete data
            found = ks_2samp(a, b)
        return float(found.statistic), float(found.pvalue)
    # Each value's key orders as the value does; the low bit says which sample it is from.
    one = np.uint64(1)
    keys = np.concatenate([_order_keys(a) << one, (_order_keys(b) << one) | one])
    keys.sort()
    from_b = np.cumsum(keys & one)
    from_a = np.arange(1, len(keys) + 1) - from_b
    # Each distribution function is read after the last of a run of equal values.
    last = np.flatnonzero(np.diff(keys >> one) != 0)
    last = np.append(last, len(keys) - 1)
    gaps = from_a[last] / n1 - from_b[last] / n2
    d = float(max(np.clip(-gaps.min(), 0, 1), gaps.max()))
    m, n = max(n1, n2), min(n1, n2)
    pvalue = distributions.kstwo.sf(d, np.round(m * n / (m + n)))
    return d, float(np.clip(pvalue, 0, 1))


def _order_keys(values: np.ndarray) -> np.ndarray:
    """Keys that order as the float32 VALUES do (-0.0 as 0.0; no NaN), as uint64."""
    bits = (values + np.float32(0.0)).view(np.uint32)
    negative = (bits >> np.uint32(31)) != 0
    return np.where(negative, ~bits, bits | np.uint32(1 << 31)).astype(np.uint64)


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """PSI and Kolmogorov-Smirnov test of sample B against the reference sample A (any order)."""
    a, b = np.sort(a), np.sort(b)
    statistic, pvalue = ks(a, b)
    return {"psi": psi(a, b), "ks_statistic": statistic, "ks_pvalue": pvalue}
