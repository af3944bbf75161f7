"""How much each single feature says about the label, measured honestly on a sample of rows.

The score of a feature for a class is the one-vs-rest ROC AUC of a 20-bin "depth-limited tree":
the feature is cut at sample quantiles, each bin predicts its class rate learned on one half of the
rows, and the AUC is measured on the other half (then the halves swap). It catches monotonic and
non-monotonic relations alike, and a feature with no signal scores about 0.5.
"""

from __future__ import annotations

import numpy as np

BINS = 20


def auc(truth: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; None for one class."""
    from scipy.stats import rankdata

    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def binned_auc(cells: np.ndarray, truth: np.ndarray, rate: np.ndarray) -> float | None:
    """Return `auc(truth, rate[cells])` from counts per bin: rows of a bin share their score.

    Bins with equal rates tie as one score. The Mann-Whitney sum is a sum of whole and half
    counts either way, so the result is the rank formula's to the last bit.
    """
    k = len(rate)
    positives = np.bincount(cells, weights=truth, minlength=k)
    rows = np.bincount(cells, minlength=k)
    p = float(positives.sum())
    n = float(len(cells)) - p
    if p == 0 or n == 0:
        return None
    scores, tie = np.unique(rate, return_inverse=True)
    pos = np.bincount(tie.reshape(-1), weights=positives, minlength=len(scores))
    neg = np.bincount(tie.reshape(-1), weights=rows - positives, minlength=len(scores))
    below = np.cumsum(neg) - neg  # negatives scored lower than each score
    return float(np.sum(pos * below + 0.5 * pos * neg) / (p * n))


def _cross_fitted(
    cells: np.ndarray, onehot: np.ndarray, fit: np.ndarray, score: np.ndarray, k: int
) -> list[float | None]:
    fitted, held = cells[fit], cells[score]
    counts = np.bincount(fitted, minlength=k).astype(np.float64)
    results = []
    for target in onehot.T:
        learned = target[fit]
        positives = np.bincount(fitted, weights=learned, minlength=k)
        prior = learned.mean() if len(learned) else 0.5
        # A pseudo-row of the prior keeps empty bins sane.
        rate = (positives + prior) / (counts + 1.0)
        results.append(binned_auc(held, target[score] > 0, rate))
    return results


def quantile_bins(edges: np.ndarray, column: np.ndarray) -> np.ndarray:
    """Return `np.searchsorted(edges, column, side="right")` for a few sorted EDGES, faster.

    One comparison per edge over the column (NaN values fall past every edge, as there) costs
    less than a binary search per value; edges that hold NaN go to the binary search.
    """
    if np.isnan(edges).any():
        return np.searchsorted(edges, column, side="right")
    cells = np.full(len(column), len(edges), dtype=np.int64)
    for edge in edges:
        cells -= column < edge
    return cells


def feature_scores(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    seed: int = 0,
    categorical: np.ndarray | None = None,
) -> np.ndarray:
    """Return an (n_features, n_target_classes) array of cross-fitted univariate AUCs.

    Binary models get one column (class 1); multiclass models one column per class. NaN marks an
    undefined score. CATEGORICAL features (codes without order) get one bin per category instead
    of quantile bins; a category not seen in the fitting half predicts the prior.
    """
    n, f = x.shape
    targets = [1] if n_classes == 2 else list(range(n_classes))
    out = np.full((f, len(targets)), np.nan)
    if n < 20:
        return out
    onehot = (y[:, None] == np.array(targets)[None, :]).astype(np.float64)
    half = np.random.default_rng(seed).permutation(n) < n // 2
    for j in range(f):
        column = x[:, j].astype(np.float64)
        if np.all(column == column[0]):
            continue  # constant: no signal, and no score
        scores = []
        if categorical is not None and len(categorical) > j and categorical[j]:
            _, codes = np.unique(column, return_inverse=True)
            codes = codes.reshape(-1)
            for fit, held in ((half, ~half), (~half, half)):
                scores.append(_cross_fitted(codes, onehot, fit, held, int(codes.max()) + 1))
        else:
            for fit, held in ((half, ~half), (~half, half)):
                edges = np.unique(np.quantile(column[fit], np.linspace(0, 1, BINS + 1)[1:-1]))
                cells = quantile_bins(edges, column)
                scores.append(_cross_fitted(cells, onehot, fit, held, len(edges) + 1))
        for t in range(len(targets)):
            found = [v for v in (s[t] for s in scores) if v is not None]
            if found:
                out[j, t] = float(np.mean(found))
    return out


MAX_ONE_HOT = 30  # categories of a text column one-hot encoded for the rest's regression


def rest_score(
    x: np.ndarray,
    y: np.ndarray,
    without: int,
    cls: int,
    seed: int = 0,
    categorical: np.ndarray | None = None,
) -> float | None:
    """Cross-validated ROC AUC for CLS of a logistic regression on every feature but WITHOUT.

    CATEGORICAL features enter one-hot encoded when they have at most MAX_ONE_HOT categories in
    the sample, and not at all beyond (identifier-like codes say nothing a regression can use).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    target = (y == cls).astype(int)
    rest = _encoded(x, without, categorical)
    if rest.shape[1] == 0:
        return 0.5
    if target.min() == target.max() or min(target.sum(), len(target) - target.sum()) < 3:
        return None
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, rest, target, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(target, proba))


def single_accuracy(column: np.ndarray, y: np.ndarray, seed: int = 0) -> float | None:
    """Cross-fitted accuracy of the 20-bin "tree" on COLUMN alone predicting the whole label.

    Each bin predicts its most frequent class learned on one half of the rows, scored on the
    other half (then the halves swap): near 1 only when the column nearly determines the label.
    A feature that isolates one class of ten scores little, however well it isolates it.
    """
    n = len(y)
    if n < 20:
        return None
    column = column.astype(np.float64)
    k = int(y.max()) + 1
    half = np.random.default_rng(seed).permutation(n) < n // 2
    right = 0
    for fit, held in ((half, ~half), (~half, half)):
        edges = np.unique(np.quantile(column[fit], np.linspace(0, 1, BINS + 1)[1:-1]))
        cells = quantile_bins(edges, column)
        table = np.zeros((len(edges) + 1, k))
        np.add.at(table, (cells[fit], y[fit]), 1.0)
        table += np.bincount(y[fit], minlength=k) / max(
            int(fit.sum()), 1
        )  # the prior, for empty bins
        right += int(np.count_nonzero(np.argmax(table, axis=1)[cells[held]] == y[held]))
    return right / n


def rest_score_without(
    x: np.ndarray,
    y: np.ndarray,
    without: list[int],
    cls: int,
    seed: int = 0,
    categorical: np.ndarray | None = None,
) -> float | None:
    """Cross-validated ROC AUC for CLS of a logistic regression on the features not in WITHOUT."""
    keep = [j for j in range(x.shape[1]) if j not in set(without)]
    if not keep:
        return 0.5
    # rest_score drops one column; drop the others first and let it drop the first of them.
    order = [without[0], *keep]
    kinds = None if categorical is None else np.asarray(categorical)[order]
    return rest_score(x[:, order], y, 0, cls, seed, kinds)


def _encoded(x: np.ndarray, without: int, categorical: np.ndarray | None) -> np.ndarray:
    """Return the columns of X but WITHOUT, categorical ones one-hot (left out when too many)."""
    if categorical is None or not np.any(categorical):
        return np.delete(x, without, axis=1)
    parts = []
    for j in range(x.shape[1]):
        if j == without:
            continue
        if j < len(categorical) and categorical[j]:
            values = np.unique(x[:, j])
            if len(values) <= MAX_ONE_HOT:
                parts.append((x[:, [j]] == values[None, :]).astype(np.float32))
            continue
        parts.append(x[:, [j]])
    return np.hstack(parts) if parts else np.empty((len(x), 0), np.float32)
