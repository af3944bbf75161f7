"""The drift and single-feature statistics computed from sorted samples equal the direct ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import ks_2samp

from auditor.facts.twosample import EXACT_KS_ROWS, compare, ks, psi
from auditor.facts.univariate import auc, binned_auc, quantile_bins


def _samples(kind: str, n1: int, n2: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    if kind == "continuous":
        a, b = rng.normal(size=n1), rng.normal(0.03, 1.1, size=n2)
    elif kind == "discrete":  # long runs of ties, a value only one sample has
        a, b = rng.integers(0, 5, n1) * 1.0, rng.integers(0, 6, n2) * 1.0
    else:  # signed zeros are one value; the gap is one row wide
        a = np.where(rng.random(n1) < 0.5, 0.0, -0.0)
        b = np.concatenate([np.zeros(n2 - 1), [1.0]])
    return a.astype(np.float32), b.astype(np.float32)


@pytest.mark.parametrize("kind", ["continuous", "discrete", "signed zeros"])
@pytest.mark.parametrize("sizes", [(20_000, 20_000), (12_000, 30_000), (4_000, 20_000), (90, 40)])
def test_ks_is_scipys_to_the_last_bit(kind: str, sizes: tuple[int, int]) -> None:
    a, b = _samples(kind, *sizes, np.random.default_rng(sum(sizes)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ks_2samp(a, b)
    assert ks(np.sort(a), np.sort(b)) == (float(expected.statistic), float(expected.pvalue))


def test_ks_takes_the_keyed_path_only_for_large_float32_samples() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=EXACT_KS_ROWS + 1), rng.normal(size=50)
    expected = ks_2samp(a, b)  # float64: scipy itself
    assert ks(np.sort(a), np.sort(b)) == (float(expected.statistic), float(expected.pvalue))
    with_nan = np.append(a.astype(np.float32), np.nan)
    got = ks(np.sort(with_nan), np.sort(with_nan))  # NaN goes to scipy, whatever it says
    np.testing.assert_equal(got[0], float(ks_2samp(with_nan, with_nan).statistic))


def _psi_by_lookup(reference: np.ndarray, other: np.ndarray, bins: int = 10) -> float:
    """The population stability index with every value looked up in the bins (the definition)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    a = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, other, side="right"), minlength=len(edges) + 1)
    pa = (a + 0.5) / (a.sum() + 0.5 * len(a))
    pb = (b + 0.5) / (b.sum() + 0.5 * len(b))
    return float(np.sum((pa - pb) * np.log(pa / pb)))


@pytest.mark.parametrize("kind", ["continuous", "discrete", "signed zeros"])
def test_psi_from_sorted_samples_equals_the_lookup(kind: str) -> None:
    a, b = _samples(kind, 5_000, 3_000, np.random.default_rng(7))
    b[:3] = np.nan  # missing values fall past the last edge, as in a lookup
    assert psi(np.sort(a), np.sort(b)) == _psi_by_lookup(a, b)
    found = compare(a, b)
    assert found["psi"] == _psi_by_lookup(a, b)
    assert set(found) == {"psi", "ks_statistic", "ks_pvalue"}


def test_identical_samples_do_not_drift() -> None:
    a = np.random.default_rng(1).normal(size=30_000).astype(np.float32)
    found = compare(a, a[::-1].copy())
    assert found["psi"] == 0.0 and found["ks_statistic"] == 0.0 and found["ks_pvalue"] == 1.0


def test_quantile_bins_equal_a_binary_search() -> None:
    rng = np.random.default_rng(2)
    column = np.round(rng.normal(size=2_000), 1)
    column[:4] = np.nan
    edges = np.unique(np.quantile(column[4:], np.linspace(0, 1, 21)[1:-1]))
    expected = np.searchsorted(edges, column, side="right")
    assert quantile_bins(edges, column).tolist() == expected.tolist()
    nan_edges = np.array([0.0, np.nan])
    assert (
        quantile_bins(nan_edges, column).tolist()
        == np.searchsorted(nan_edges, column, side="right").tolist()
    )


@pytest.mark.parametrize("seed", range(4))
def test_binned_auc_is_the_rank_formula_to_the_last_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 8, 3_000)
    truth = rng.random(3_000) < 0.3 + 0.05 * cells
    rate = rng.random(8)
    rate[3] = rate[5]  # two bins with one score tie as one
    assert binned_auc(cells, truth, rate) == auc(truth, rate[cells])
    assert binned_auc(cells, np.zeros(3_000, bool), rate) is None
