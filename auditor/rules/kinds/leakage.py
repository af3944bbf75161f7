"""Rule kinds about the data: shared rows, label proxies, identifiers, drift, too-good scores.

Rows shared across splits, proxies of the label, identifiers, drift between splits, and validation
results too good to be true.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.datafacts import (
    GRID_ROWS,
    NEAR_DUPLICATE_TOLERANCE,
    SAMPLE_ROWS,
    SplitRows,
    hash_rows,
    near_cells,
)
from auditor.metrics import CHUNK_ROWS
from auditor.rules.kinds.common import fmt, not_applicable, pct, split_label
from auditor.rules.types import Outcome
from auditor.univariate import rest_score

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluate import Evaluation

EXAMPLES = 10  # rows of evidence shown per finding
DISCRETE_CHANCE = 0.01  # chance matches at or above this mean the features are discrete enough
MIN_CLASS_ROWS = 10  # fewer rows of a class give no stable single-feature score
IDENTIFIER_NAME = re.compile(
    r"(^|[_\W])(id|ids|idx|index|row|rownum|row_?id|uuid|key|record)($|[_\W])", re.I
)
CAMEL_ID = re.compile(r"[a-z](Id|ID|Index|Key)$")


def _rows(ev: Evaluation, name: str) -> SplitRows | None:
    return ev.rows.get(name)


def _label_bits(n_classes: int) -> int:
    return max(1, int(np.ceil(np.log2(max(n_classes, 2)))))


def _sorted_keys(hashes: np.ndarray, y: np.ndarray, bits: int) -> np.ndarray:
    """Each row's hash with its low BITS replaced by its label, sorted.

    Sorted, such keys put identical rows next to each other (`key >> bits` is the row's hash
    without its low bits) and, inside a group of identical rows, rows with the same label.
    Sorting 8-byte integers in place is several times faster than the argsort it replaces, and
    needs no index array: 8 bytes a row.
    """
    keys = hashes & ~np.uint64((1 << bits) - 1)
    keys |= y.astype(np.min_scalar_type((1 << bits) - 1))
    keys.sort()
    return keys


def _found_in(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """Per needle: whether the sorted, non-empty HAYSTACK holds it."""
    pos = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    return haystack[pos] == needles


def _count_in(needles: np.ndarray, haystack: np.ndarray) -> int:
    """How many of the sorted NEEDLES occur in the sorted HAYSTACK (with multiplicity)."""
    if not len(haystack):
        return 0
    return sum(
        int(np.count_nonzero(_found_in(needles[start : start + CHUNK_ROWS], haystack)))
        for start in range(0, len(needles), CHUNK_ROWS)
    )


def _first_matches(needles: np.ndarray, haystack: np.ndarray, limit: int) -> np.ndarray:
    """Return the indices of the first LIMIT NEEDLES (in their order) found in HAYSTACK (sorted)."""
    found: list[np.ndarray] = []
    if not len(haystack):
        return np.empty(0, np.int64)
    step = 1 << 16  # small steps: the first matches come early
    for start in range(0, len(needles), step):
        found.append(start + np.flatnonzero(_found_in(needles[start : start + step], haystack)))
        if sum(len(f) for f in found) >= limit:
            break
    return np.concatenate(found)[:limit] if found else np.empty(0, np.int64)


def _chance_rate(train: np.ndarray, other: np.ndarray, n_train: int) -> float:
    """Return the expected share of OTHER rows that match some train row by chance.

    Features are taken as independent: per row, 1 - (1 - prod_j freq_j(value))^n_train, with each
    feature's value frequencies taken from the train sample. Discrete data (booleans, small
    integers) matches a lot by chance; rows of several continuous features almost never do.
    """
    if len(train) == 0 or len(other) == 0:
        return 0.0
    log_p = np.zeros(len(other))
    for j in range(train.shape[1]):
        values, counts = np.unique(train[:, j], return_counts=True)
        pos = np.clip(np.searchsorted(values, other[:, j]), 0, len(values) - 1)
        freq = np.where(values[pos] == other[:, j], counts[pos] / len(train), 0.0)
        with np.errstate(divide="ignore"):
            log_p += np.log(freq)
    p = np.exp(log_p)
    return float(np.mean(-np.expm1(n_train * np.log1p(-np.minimum(p, 1 - 1e-12)))))


def _within_rate(full: np.ndarray, sample: np.ndarray) -> float:
    """Share of sampled training rows whose hash occurs more than once in the whole train split."""
    if len(sample) == 0:
        return 0.0
    values, counts = np.unique(full, return_counts=True)
    pos = np.clip(np.searchsorted(values, sample), 0, len(values) - 1)
    return float(np.mean((values[pos] == sample) & (counts[pos] > 1)))


def _chance(train: SplitRows, other: SplitRows) -> tuple[float, float]:
    """Chance levels of (exact, near) matches between OTHER and TRAIN rows for unrelated records.

    Under independent features, per-feature value frequencies give the chance of a coincidence.
    When that is already noticeable (>= 1%: discrete or low-resolution data), correlated features
    (one-hot columns, say) can make coincidences far likelier than independence says, so the rate
    at which training rows coincide with other training rows is taken when it is higher.
    Continuous data keeps the independence figure, so duplicated records there still count as
    copies.
    """
    scale = train.near_scale
    exact = _chance_rate(train.sample_x, other.sample_x, train.n_rows)
    train_cells = near_cells(train.sample_x, scale)
    near = _chance_rate(train_cells, near_cells(other.sample_x, scale), train.n_rows)
    if exact >= DISCRETE_CHANCE:
        exact = max(exact, _within_rate(train.hashes, hash_rows(train.sample_x)))
    if near >= DISCRETE_CHANCE:
        near = max(near, _within_rate(train.near_hashes, hash_rows(train_cells)))
    return exact, max(near - exact, 0.0)


def _noise(rate: float, n: int) -> float:
    """2.58 binomial standard errors of a share RATE measured on N rows (99%)."""
    return 2.58 * float(np.sqrt(max(rate * (1 - rate), 1.0 / max(n, 1)) / max(n, 1)))


def leakage_duplicates(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when more judged-split rows appear (exactly or nearly) in train than chance explains."""
    split = params["split"]
    train, other = _rows(ev, "train"), _rows(ev, split)
    if train is None or other is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    if other.n_rows < params["min_rows"]:
        return not_applicable(
            f"the {split} split has {other.n_rows} row(s), fewer than {params['min_rows']}"
        )
    bits = _label_bits(len(ev.classes))
    y_train, y_other = ev.splits["train"].y, ev.splits[split].y
    n = other.n_rows
    # Sorted keys of (row hash, label): counts of shared rows come from merging two sorted
    # arrays; no per-row index is kept.
    train_keys = _sorted_keys(train.hashes, y_train, bits)
    other_keys = _sorted_keys(other.hashes, y_other, bits)
    same_label = _count_in(other_keys, train_keys)  # rows with a train copy of the same label
    train_keys >>= np.uint64(bits)  # in place, still sorted: the hashes without the labels
    other_keys >>= np.uint64(bits)
    exact = _count_in(other_keys, train_keys)
    del train_keys, other_keys
    # Identical rows fall in the same near-duplicate cell, so near matches include the exact ones.
    train_near = np.sort(train.near_hashes)
    near = max(_count_in(np.sort(other.near_hashes), train_near) - exact, 0)
    # What unrelated records would share by chance (booleans and small integers collide honestly),
    # plus sampling noise around that level.
    chance_exact, chance_near = _chance(train, other)
    excess_exact = exact / n - chance_exact - _noise(chance_exact, n)
    excess_near = near / n - chance_near - _noise(chance_near, n)
    observed = {
        "shared_rows": exact,
        "shared_fraction": exact / n,
        "shared_fraction_by_chance": chance_exact,
        "shared_rows_same_label": same_label,
        "shared_rows_other_label": exact - same_label,
        "near_duplicate_rows": near,
        "near_duplicate_fraction": near / n,
        "near_duplicate_fraction_by_chance": chance_near,
        "near_duplicate_method": (
            f"features rounded to a grid of {NEAR_DUPLICATE_TOLERANCE:g} x each feature's standard "
            f"deviation (from the first {GRID_ROWS:,} training rows), then hashed; rows within the "
            "tolerance but across a grid line are not counted. Chance: the share independent rows "
            "with the same per-feature value frequencies would match"
        ),
        "rows_checked": n,
    }
    threshold = {
        "max_shared_fraction": params["max_shared_fraction"],
        "max_near_fraction": params["max_near_fraction"],
    }
    shown = []
    # Examples only when there is something to show: a clean split costs no second pass.
    examples = _first_matches(other.near_hashes, train_near, EXAMPLES) if exact + near else ()
    for i in examples:
        copies = np.flatnonzero(train.hashes == other.hashes[i])
        match = "exact" if len(copies) else "near"
        if len(copies):
            # Show a copy with the same label if there is one, as `shared_rows_same_label` counts.
            alike = copies[y_train[copies] == y_other[i]]
            j = int(alike[0] if len(alike) else copies[0])
        else:
            j = int(np.argmax(train.near_hashes == other.near_hashes[i]))
        shown.append(
            {
                f"{split}_row": int(other.row_numbers[i]),
                "train_row": int(train.row_numbers[j]),
                "match": match,
                f"{split}_label": ev.classes[int(y_other[i])],
                "train_label": ev.classes[int(y_train[j])],
            }
        )
    evidence = {"shared_rows": shown}
    chance_text = (
        f"; chance alone explains {pct(chance_exact + chance_near)}"
        if chance_exact + chance_near >= 0.001
        else ""
    )
    if excess_exact > params["max_shared_fraction"] or excess_near > params["max_near_fraction"]:
        message = (
            f"{exact:,} of {n:,} {split} rows ({pct(exact / n)}) also appear in the training split"
            f"{f', {near:,} more nearly ({pct(near / n)})' if near else ''}{chance_text}: "
            "the model is scored on rows it was trained on, so its validation numbers overstate "
            "how it will do on new data."
        )
        return Outcome("failed", message, observed, threshold, evidence)
    message = (
        f"{exact:,} of {n:,} {split} rows appear in the training split and {near:,} nearly"
        f"{chance_text}; limits {pct(params['max_shared_fraction'])} and "
        f"{pct(params['max_near_fraction'])} above chance."
    )
    return Outcome("passed", message, observed, threshold, evidence if exact or near else {})


def duplicate_rows(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Report duplicate rows within one split, and identical rows that carry different labels."""
    split = params["split"]
    rows = _rows(ev, split)
    if rows is None or split not in ev.splits:
        return not_applicable(f"no {split} split was given")
    y = ev.splits[split].y
    n = rows.n_rows
    if n < 2:
        return not_applicable(f"the {split} split has fewer than 2 rows")
    # One sort of (hash, label) keys: identical rows form runs, and a key change inside a run
    # marks a group of identical rows that carry different labels. Walked in steps that overlap
    # by one key, so the temporaries stay small.
    bits = _label_bits(len(ev.classes))
    shift = np.uint64(bits)
    keys = _sorted_keys(rows.hashes, y, bits)
    duplicates = 0
    found: list[np.ndarray] = []
    for start in range(0, n - 1, CHUNK_ROWS):
        window = keys[start : start + CHUNK_ROWS + 1]
        groups = window >> shift
        same = groups[1:] == groups[:-1]
        duplicates += int(np.count_nonzero(same))
        found.append(groups[1:][same & (window[1:] != window[:-1])])
    conflicting = np.unique(np.concatenate(found))
    first = conflicting << shift
    last = first | np.uint64((1 << bits) - 1)
    sizes = np.searchsorted(keys, last, "right") - np.searchsorted(keys, first)
    del keys
    conflicting_rows = int(sizes.sum())
    observed = {
        "duplicate_rows": duplicates,
        "duplicate_fraction": duplicates / n,
        "conflicting_label_rows": conflicting_rows,
        "conflicting_label_groups": int(len(conflicting)),
    }
    threshold = {"max_fraction": params["max_fraction"]}
    shown = []
    if len(conflicting):
        file_groups = rows.hashes >> np.uint64(bits)
        for group, size in zip(conflicting[:EXAMPLES], sizes[:EXAMPLES], strict=True):
            members = np.flatnonzero(file_groups == group)
            shown.append(
                {
                    "row": int(rows.row_numbers[members[0]]),
                    "copies": int(size),
                    "labels": ", ".join(ev.classes[int(c)] for c in np.unique(y[members])),
                }
            )
    evidence = {"conflicting_labels": shown}
    if duplicates / n > params["max_fraction"] or conflicting_rows:
        conflict = (
            f"; {conflicting_rows:,} rows in {len(conflicting):,} group(s) "
            "of identical features carry different labels (label noise the model cannot learn)"
            if conflicting_rows
            else ""
        )
        return Outcome(
            "failed",
            f"{duplicates:,} of {n:,} {split} rows ({pct(duplicates / n)}) duplicate another row"
            f"{conflict}: duplicates weigh some examples more and inflate metrics when they "
            "straddle a split.",
            observed,
            threshold,
            evidence,
        )
    return Outcome(
        "passed",
        f"{duplicates:,} of {n:,} {split} rows duplicate another row (limit "
        f"{pct(params['max_fraction'])}); no identical rows carry different labels.",
        observed,
        threshold,
    )


def leakage_target_proxy(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when one feature alone predicts the label nearly perfectly, far better than the rest."""
    split = params["split"]
    rows = _rows(ev, split)
    if rows is None:
        return not_applicable(f"no {split} split was given")
    x, y = rows.sample_x, rows.sample_y
    if len(y) < params["min_rows"] or len(np.unique(y)) < 2:
        return not_applicable(
            f"needs at least {params['min_rows']} {split} rows with several classes"
        )
    counts = np.bincount(y, minlength=len(ev.classes))
    targets = [1] if len(ev.classes) == 2 else list(range(len(ev.classes)))
    # A class with few rows gives no stable score: leave it out (for binary, both must qualify).
    usable = [
        t for t in targets if counts[t] >= MIN_CLASS_ROWS and len(y) - counts[t] >= MIN_CLASS_ROWS
    ]
    if not usable:
        return not_applicable(
            f"no class has {MIN_CLASS_ROWS} or more rows (and as many others) in the {split} sample"
        )
    scores = rows.feature_scores(len(ev.classes)).copy()  # rare classes are masked below
    for t, cls in enumerate(targets):
        if cls not in usable:
            scores[:, t] = np.nan
    best = np.nanmax(np.where(np.isnan(scores), -1, scores), axis=1)
    order = np.argsort(-best)
    suspects = []
    for j in order[: params["max_candidates"]]:
        if best[j] < params["min_score"]:
            break
        t = int(np.nanargmax(scores[j]))
        rest = rest_score(x, y, int(j), targets[t])
        if rest is not None and best[j] - rest >= params["min_margin"]:
            suspects.append((ev.features[j], ev.classes[targets[t]], float(best[j]), rest))
    top = [
        {"feature": ev.features[j], "score": float(best[j])}
        for j in order[:EXAMPLES]
        if best[j] >= 0
    ]
    observed = {
        "method": "cross-fitted ROC AUC of the feature alone (20 quantile bins), "
        "vs a cross-validated logistic regression on all other features",
        "sample_rows": int(len(y)),
        "top_features": top,
        "suspects": [
            {"feature": f, "class": c, "score": s, "rest_score": r} for f, c, s, r in suspects
        ],
    }
    threshold = {"min_score": params["min_score"], "min_margin": params["min_margin"]}
    if suspects:
        f, c, s, r = suspects[0]
        others = f" ({len(suspects) - 1} more)" if len(suspects) > 1 else ""
        rest_text = f"; all other features together reach {fmt(r)}"
        return Outcome(
            "failed",
            f"Feature '{f}' alone predicts class '{c}' on {split} with ROC AUC {fmt(s)}{rest_text}"
            f"{others}: a column that gives the answer away is usually derived from the label or "
            "recorded after the outcome, and will not be there (or not be the same) in production.",
            observed,
            threshold,
            {"single_feature_scores": top},
            features=tuple(suspect[0] for suspect in suspects),
        )
    lead = top[0] if top else None
    lead_text = f" (strongest: '{lead['feature']}' at {fmt(lead['score'])})" if lead else ""
    return Outcome(
        "passed",
        f"No single feature predicts the label on {split} "
        f"with ROC AUC of {fmt(params['min_score'])} or more "
        f"while beating the other features by {fmt(params['min_margin'])}{lead_text}.",
        observed,
        threshold,
    )


def _identifier_reasons(name: str, rows: SplitRows, i: int) -> list[str]:
    reasons = []
    if IDENTIFIER_NAME.search(name) or CAMEL_ID.search(name):
        reasons.append("named like an identifier")
    stats = rows.stats
    column = rows.sample_x[:, i]
    if stats.integral is not None and stats.integral[i] and len(column) >= 50:
        unique = len(np.unique(column)) / len(column)
        # Integral, minimum and maximum are accumulated together: all set or all None.
        assert stats.minimum is not None and stats.maximum is not None
        span = float(stats.maximum[i] - stats.minimum[i] + 1)
        # Row numbers fill their range; money or counts with many distinct values do not.
        dense = stats.n / span >= 0.5 if span > 0 else False
        if unique >= 0.95 and dense:
            reasons.append(f"{pct(unique)} unique, nearly consecutive whole numbers")
        if (
            stats.increasing is not None
            and stats.increasing[i]
            and stats.maximum[i] > stats.minimum[i]
        ):
            reasons.append("never decreases in file order")
    return reasons


def leakage_identifier(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when a model input looks like a row identifier (and, optionally, predicts the label)."""
    rows = _rows(ev, "train")
    if rows is None:
        return not_applicable("no train split was given")
    if len(rows.sample_y) < 2:
        return not_applicable(
            f"the train split has {len(rows.sample_y)} row(s); the check needs 2 or more"
        )
    found: list[dict[str, Any]] = []
    scores = None
    for i, name in enumerate(ev.features):
        reasons = _identifier_reasons(name, rows, i)
        if not reasons:
            continue
        if scores is None:
            scores = rows.feature_scores(len(ev.classes))
        score = float(np.nanmax(scores[i])) if not np.all(np.isnan(scores[i])) else None
        predictive = score is not None and score >= params["min_score"]
        if params["require_predictive"] and not predictive:
            continue
        found.append(
            {
                "feature": name,
                "reasons": "; ".join(reasons),
                "score": score,
                "predictive": predictive,
            }
        )
    observed = {"identifier_columns": found}
    threshold = {
        "require_predictive": params["require_predictive"],
        "min_score": params["min_score"],
    }
    if found:
        first = found[0]
        predicts = (
            f" and predicts the label (ROC AUC {fmt(first['score'])})"
            if first["predictive"]
            else ""
        )
        more = f" ({len(found) - 1} more)" if len(found) > 1 else ""
        return Outcome(
            "failed",
            f"Feature '{first['feature']}' looks like a row identifier "
            f"({first['reasons']}){predicts}"
            f"{more}: an identifier carries no meaning the model can generalize from; when it "
            "predicts the label, the rows were ordered or numbered by outcome.",
            observed,
            threshold,
            {"identifier_columns": found},
            features=tuple(str(column["feature"]) for column in found),
        )
    what = (
        "a predictive identifier" if params["require_predictive"] else "an identifier-like column"
    )
    return Outcome("passed", f"No model input is {what}.", observed, threshold)


def _psi(reference: np.ndarray, other: np.ndarray, bins: int = 10) -> float:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    a = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, other, side="right"), minlength=len(edges) + 1)
    pa = (a + 0.5) / (a.sum() + 0.5 * len(a))
    pb = (b + 0.5) / (b.sum() + 0.5 * len(b))
    return float(np.sum((pa - pb) * np.log(pa / pb)))


def split_drift(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when feature distributions (PSI) or class priors differ between train and the split."""
    from scipy.stats import chi2_contingency, ks_2samp

    split = params["split"]
    train, other = _rows(ev, "train"), _rows(ev, split)
    if train is None or other is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    if len(other.sample_y) < params["min_rows"] or len(train.sample_y) < params["min_rows"]:
        return not_applicable(f"needs at least {params['min_rows']} rows in train and {split}")
    drift: list[dict[str, Any]] = []
    for i, name in enumerate(ev.features):
        a, b = train.sample_x[:, i], other.sample_x[:, i]
        if np.all(a == a[0]) and np.all(b == b[0]) and a[0] == b[0]:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "exact calculation unsuccessful" on discrete columns
            ks = ks_2samp(a, b)
        drift.append(
            {
                "feature": name,
                "psi": _psi(a, b),
                "ks_statistic": float(ks.statistic),
                "ks_pvalue": float(ks.pvalue),
            }
        )
    drift.sort(key=lambda d: -d["psi"])
    p_train = (
        np.bincount(ev.splits["train"].y, minlength=len(ev.classes)) / ev.splits["train"].n_rows
    )
    p_other = np.bincount(ev.splits[split].y, minlength=len(ev.classes)) / ev.splits[split].n_rows
    prior_shift = float(0.5 * np.abs(p_train - p_other).sum())
    table = np.array(
        [np.bincount(ev.splits[s].y, minlength=len(ev.classes)) for s in ("train", split)]
    )
    table = table[:, table.sum(axis=0) > 0]
    prior_pvalue = float(chi2_contingency(table)[1]) if table.shape[1] > 1 else 1.0
    prior_drift = prior_shift > params["max_prior_shift"] and prior_pvalue < params["alpha"]
    # A feature drifts when its PSI is large *and* the KS test says it is not sampling noise
    # (Bonferroni-corrected over the features), so small splits do not raise false alarms.
    alpha = params["alpha"] / max(len(drift), 1)
    drifted = [d for d in drift if d["psi"] > params["max_psi"] and d["ks_pvalue"] < alpha]
    observed: dict[str, Any] = {
        "drifted_features": [d["feature"] for d in drifted],
        "max_psi": drift[0]["psi"] if drift else 0.0,
        "class_prior_shift": prior_shift,
        "class_prior_pvalue": prior_pvalue,
        "sample_rows": {"train": int(len(train.sample_y)), split: int(len(other.sample_y))},
        "method": (
            "PSI over train deciles and Kolmogorov-Smirnov, "
            f"on samples of at most {SAMPLE_ROWS:,} rows"
        ),
    }
    threshold = {
        "max_psi": params["max_psi"],
        "alpha": params["alpha"],
        "max_prior_shift": params["max_prior_shift"],
    }
    evidence = {"most_drifted_features": drift[:EXAMPLES]}
    if drifted or prior_drift:
        parts = []
        if drifted:
            names = ", ".join(f"'{d['feature']}' (PSI {fmt(d['psi'])})" for d in drifted[:3])
            more = f" and {len(drifted) - 3} more" if len(drifted) > 3 else ""
            parts.append(f"{len(drifted)} feature(s) are distributed differently: {names}{more}")
        if prior_drift:
            parts.append(
                f"class shares differ by {pct(prior_shift)} (chi-square p {prior_pvalue:.2g})"
            )
        return Outcome(
            "failed",
            f"Train and {split} differ: {'; '.join(parts)}. "
            f"The {split} numbers do not describe the population the model was trained on; "
            "split at random (stratified), or by time on purpose.",
            observed,
            threshold,
            evidence,
            features=tuple(d["feature"] for d in drifted),
        )
    return Outcome(
        "passed",
        f"Train and {split} have similar feature distributions (largest PSI "
        f"{fmt(observed['max_psi'])}, limit {fmt(params['max_psi'])}) and class shares "
        f"(shift {pct(prior_shift)}).",
        observed,
        threshold,
        evidence,
    )


def suspicious_validation(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Warn when the judged split scores clearly better than training, or perfectly."""
    split = params["split"]
    train, other = ev.splits.get("train"), ev.splits.get(split)
    if train is None or other is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    if other.n_rows < params["min_rows"]:
        return not_applicable(
            f"the {split} split has {other.n_rows} row(s), fewer than {params['min_rows']}"
        )
    t_loss, o_loss = train.metrics["loss"], other.metrics["loss"]
    if t_loss is None or o_loss is None:
        return not_applicable(f"needs the loss on the train and {split} splits")
    label = split_label(split)
    accuracy = other.metrics["accuracy"]
    margin = (t_loss - o_loss) / t_loss if t_loss else 0.0
    observed = {
        "train_loss": t_loss,
        f"{split}_loss": o_loss,
        "relative_margin": margin,
        f"{split}_accuracy": accuracy,
    }
    threshold = {"max_relative_margin": params["max_relative_margin"]}
    benign = (
        "Dropout and weight penalties make Keras' own training loss look worse than validation "
        "loss, but auditor measures both without dropout and without the penalty, so that "
        "benign cause is ruled out here; a smaller or easier validation split is the other "
        "innocent explanation."
    )
    # The difference must also exceed sampling noise: z = 2.58 standard errors of the split's loss.
    noise = 2.58 * (other.metrics.get("loss_standard_error") or 0.0)
    observed["noise_margin"] = noise
    if margin > params["max_relative_margin"] and t_loss - o_loss > max(params["min_gap"], noise):
        return Outcome(
            "failed",
            f"{label} loss {fmt(o_loss)} is {pct(margin)} below training loss {fmt(t_loss)}: "
            f"validation should not be easier than training. Check for validation rows copied into "
            f"training and for columns derived from the label. {benign}",
            observed,
            threshold,
        )
    if accuracy == 1.0:
        return Outcome(
            "failed",
            f"{label} accuracy is 100% on {other.n_rows:,} rows: "
            f"perfect validation is rare without leakage. {benign}",
            observed,
            threshold,
        )
    return Outcome(
        "passed",
        f"{label} loss {fmt(o_loss)} is not suspiciously below training loss {fmt(t_loss)} "
        f"(beyond sampling noise of {fmt(noise)}).",
        observed,
        threshold,
    )
