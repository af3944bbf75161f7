"""Facts about the data that the leakage and drift rules judge, computed from the splits' row facts.

Each family of facts is a frozen value of plain numbers, counts and examples, computed once per
split it is asked for (`Request`): rows shared with training, duplicates within a split, features
that predict the label alone, identifier-like columns, drift from training, single-feature
signal. The rule kinds compare these values with their thresholds and do no computation of their
own, so they are tested with hand-built facts.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from auditor.facts.rows import (
    GRID_ROWS,
    NEAR_DUPLICATE_TOLERANCE,
    SplitRows,
    hash_rows,
    near_cells,
)
from auditor.facts.text import TextFacts, text_facts
from auditor.facts.univariate import rest_score
from auditor.loading.categories import MISSING as MISSING_CODE
from auditor.metrics import CHUNK_ROWS
from auditor.options import AuditOptions

EXAMPLES = 10  # rows of evidence kept per fact
DISCRETE_CHANCE = 0.01  # chance matches at or above this mean the features are discrete enough
MIN_CLASS_ROWS = 10  # fewer rows of a class give no stable single-feature score
IDENTIFIER_NAME = re.compile(
    r"(^|[_\W])(id|ids|idx|index|row|rownum|row_?id|uuid|key|record)($|[_\W])", re.I
)
CAMEL_ID = re.compile(r"[a-z](Id|ID|Index|Key)$")
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
TEXT_ID_UNIQUE = 0.95  # share of distinct values in a text column that makes it a row identifier
NAMED_TEXT_ID_UNIQUE = 0.5  # ... when it is also named like one
ID_LIKE_UNIQUE = 0.5  # a text column this unique in train is an identifier, not a distribution
SHOWN_CATEGORIES = 5  # categories listed as evidence of a text column's drift
SHOWN_CHARACTERS = 40  # characters of a category's value shown

# The families of facts, by the name a rule kind declares it reads (`Kind.facts`).
SHARED_ROWS = "shared_rows"
DUPLICATES = "duplicates"
PROXIES = "proxies"
IDENTIFIERS = "identifiers"
DRIFT = "drift"
SIGNAL = "signal"
TEXT = "text"  # a text model's texts (`auditor.facts.text`)
FAMILIES = (SHARED_ROWS, DUPLICATES, PROXIES, IDENTIFIERS, DRIFT, SIGNAL, TEXT)


class Request(NamedTuple):
    """One family of facts wanted for one split (a plain pair, so rules can name it)."""

    family: str
    split: str


@dataclass(frozen=True)
class SharedRows:
    """Rows of a split that also appear in the training split, exactly or on the near grid."""

    rows_checked: int
    shared_rows: int  # rows with an identical training row
    shared_rows_same_label: int  # ... of which one carries the same label
    near_duplicate_rows: int  # rows with a training row in the same grid cell, not identical
    shared_fraction_by_chance: float  # share unrelated rows would match exactly
    near_duplicate_fraction_by_chance: float
    method: str
    examples: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Duplicates:
    """Identical rows within one split, and groups of them that carry different labels."""

    rows: int
    duplicate_rows: int
    conflicting_label_rows: int
    conflicting_label_groups: int
    examples: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ProxyCandidate:
    """A feature that scores high alone, and what every other feature reaches together."""

    feature: str
    cls: str
    score: float
    rest_score: float | None  # None: the rest could not be scored


@dataclass(frozen=True)
class Proxies:
    """Single-feature scores of a split's sample, and the strongest features against the rest."""

    sample_rows: int
    sample_classes: int  # classes present in the sample
    usable_classes: tuple[str, ...]  # classes with MIN_CLASS_ROWS rows and as many others
    top_features: tuple[Mapping[str, Any], ...]  # {feature, score}, strongest first
    candidates: tuple[ProxyCandidate, ...]  # strongest first, while score >= proxy_min_score
    min_class_rows: int = MIN_CLASS_ROWS
    method: str = (
        "cross-fitted ROC AUC of the feature alone (20 quantile bins), "
        "vs a cross-validated logistic regression on all other features"
    )


@dataclass(frozen=True)
class IdentifierColumn:
    """A model input that looks like a row identifier, and why (at least one reason holds)."""

    feature: str
    named: bool  # named like an identifier (id, index, key, uuid, ...)
    unique_share: float | None  # set when its values are unique, nearly consecutive whole numbers
    increasing: bool  # never decreases in file order (and is not constant)
    score: float | None  # its single-feature ROC AUC on the training sample
    # "number", or "text" for a text column: unique_share then counts distinct text values.
    kind: str = "number"
    pattern: str | None = None  # what its values look like, when they all look alike ("UUID")


@dataclass(frozen=True)
class Identifiers:
    """Identifier-like columns of the training split."""

    sample_rows: int
    columns: tuple[IdentifierColumn, ...]


@dataclass(frozen=True)
class Drift:
    """How a split's features and class shares differ from the training split's."""

    train_sample_rows: int
    sample_rows: int
    features: tuple[Mapping[str, Any], ...]  # {feature, psi, ks_statistic, ks_pvalue}, by -psi
    class_prior_shift: float  # total variation distance between the class shares
    class_prior_pvalue: float  # chi-square test of the class counts
    method: str = ""


@dataclass(frozen=True)
class DataFacts:
    """Every data fact computed for an audit, by family and split."""

    shared_rows: Mapping[str, SharedRows] = field(default_factory=dict)
    duplicates: Mapping[str, Duplicates] = field(default_factory=dict)
    proxies: Mapping[str, Proxies] = field(default_factory=dict)
    identifiers: Mapping[str, Identifiers] = field(default_factory=dict)
    drift: Mapping[str, Drift] = field(default_factory=dict)
    signal: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    text: Mapping[str, TextFacts] = field(default_factory=dict)
    # A computation that raised: (family, split) -> what it raised. The rule that reads it reports
    # an error, and the other rules still judge (as when a kind raises).
    errors: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def has(self, request: Request) -> bool:
        """Whether the facts of REQUEST were computed (or their computation failed)."""
        return request.split in getattr(self, request.family) or tuple(request) in self.errors

    def merged(self, other: DataFacts) -> DataFacts:
        """Return these facts with OTHER's added (OTHER wins where both have a split)."""
        return DataFacts(
            **{name: {**getattr(self, name), **getattr(other, name)} for name in FAMILIES},
            errors={**self.errors, **other.errors},
        )


def compute(
    rows: Mapping[str, SplitRows],
    labels: Mapping[str, np.ndarray],
    classes: tuple[str, ...],
    features: tuple[str, ...],
    requests: Iterable[Request],
    options: AuditOptions,
) -> DataFacts:
    """Compute the requested facts from each split's row facts and full labels.

    OPTIONS steer the work: `proxy_candidates` and `proxy_min_score` for the proxies, and
    `sample_rows` names the sample size the row facts were gathered with.

    A request whose splits are missing (no test split, or a cross-split fact asked of train) is
    skipped: the rule that wanted it reports *not applicable*.
    """
    found: dict[str, dict[str, Any]] = {name: {} for name in FAMILIES}
    errors: dict[tuple[str, str], str] = {}
    for family, name in sorted(set(requests), key=lambda r: (FAMILIES.index(r[0]), r[1])):
        try:
            value = _family(Request(family, name), rows, labels, classes, features, options)
        except Exception as exc:  # one broken computation must not hide the other facts
            errors[(family, name)] = f"{type(exc).__name__}: {exc}"
            continue
        if value is not None:
            found[family][name] = value
    return DataFacts(**found, errors=errors)


def _family(
    request: Request,
    rows: Mapping[str, SplitRows],
    labels: Mapping[str, np.ndarray],
    classes: tuple[str, ...],
    features: tuple[str, ...],
    options: AuditOptions,
) -> Any:
    """Compute one family of facts for one split; None when its splits are missing."""
    train = rows.get("train")
    split = rows.get(request.split)
    if split is None:
        return None
    if request.family == DUPLICATES:
        return duplicates(split, labels[request.split], classes)
    if request.family == PROXIES:
        return proxies(split, classes, features, options)
    if request.family == SIGNAL:
        return signal(split, classes, features)
    if request.family == IDENTIFIERS:
        return identifiers(split, classes, features)
    if request.family == TEXT:
        return text_facts(train if request.split != "train" else None, split, classes)
    if train is None or request.split == "train":
        return None  # the cross-split families compare a split with train
    if request.family == SHARED_ROWS:
        return shared_rows(train, split, labels["train"], labels[request.split], classes)
    if request.family == DRIFT:
        found = drift(train, split, labels["train"], labels[request.split], len(classes))
        method = "PSI over train deciles and Kolmogorov-Smirnov"
        if train.categorical.any():
            method += "; text columns: PSI over categories and chi-square, unseen share"
        return replace(
            found, method=f"{method}, on samples of at most {options.sample_rows:,} rows"
        )
    raise ValueError(f"unknown family of facts {request.family!r}")


# ---- rows shared across and within splits --------------------------------------------------------


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
    alive = np.arange(len(other))  # rows whose chance is not yet 0: a feature value never seen
    for j in range(train.shape[1]):
        if not len(alive):  # continuous data: after a feature or two, no row can match
            break
        values, counts = np.unique(train[:, j], return_counts=True)
        column = other[alive, j]
        pos = np.clip(np.searchsorted(values, column), 0, len(values) - 1)
        freq = np.where(values[pos] == column, counts[pos] / len(train), 0.0)
        with np.errstate(divide="ignore"):
            log_p[alive] += np.log(freq)
        alive = alive[freq > 0]
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
    copies. A text model's texts take the within-training rate alone.
    """
    scale = train.near_scale
    if train.sample_text is not None:
        # A text model's one column: per-value frequencies would call every copy a coincidence
        # (each text occurs once). Texts that honestly repeat, repeat within training too.
        return _within_rate(train.hashes, hash_rows(train.sample_x)), 0.0
    exact = _chance_rate(train.sample_x, other.sample_x, train.n_rows)
    train_cells = near_cells(train.sample_x, scale)
    near = _chance_rate(train_cells, near_cells(other.sample_x, scale), train.n_rows)
    if exact >= DISCRETE_CHANCE:
        exact = max(exact, _within_rate(train.hashes, hash_rows(train.sample_x)))
    if near >= DISCRETE_CHANCE:
        near = max(near, _within_rate(train.near_hashes, hash_rows(train_cells)))
    return exact, max(near - exact, 0.0)


def shared_rows(
    train: SplitRows,
    other: SplitRows,
    y_train: np.ndarray,
    y_other: np.ndarray,
    classes: tuple[str, ...],
) -> SharedRows:
    """Count OTHER's rows that appear in TRAIN (exactly, with the same label, or nearly)."""
    bits = _label_bits(len(classes))
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
    # What unrelated records would share by chance (booleans and small integers collide honestly).
    chance_exact, chance_near = _chance(train, other)
    shown = []
    # Examples only when there is something to show: a clean split costs no second pass.
    examples = _first_matches(other.near_hashes, train_near, EXAMPLES) if exact + near else ()
    for i in examples:
        copies = np.flatnonzero(train.hashes == other.hashes[i])
        match = "exact" if len(copies) else "near"
        if len(copies):
            # Show a copy with the same label if there is one, as `same_label` counts.
            alike = copies[y_train[copies] == y_other[i]]
            j = int(alike[0] if len(alike) else copies[0])
        else:
            j = int(np.argmax(train.near_hashes == other.near_hashes[i]))
        shown.append(
            {
                "row": int(other.row_numbers[i]),
                "train_row": int(train.row_numbers[j]),
                "match": match,
                "label": classes[int(y_other[i])],
                "train_label": classes[int(y_train[j])],
            }
        )
    return SharedRows(
        rows_checked=other.n_rows,
        shared_rows=exact,
        shared_rows_same_label=same_label,
        near_duplicate_rows=near,
        shared_fraction_by_chance=chance_exact,
        near_duplicate_fraction_by_chance=chance_near,
        method=(
            f"features rounded to a grid of {NEAR_DUPLICATE_TOLERANCE:g} x each feature's standard "
            f"deviation (from the first {GRID_ROWS:,} training rows), then hashed; rows within the "
            "tolerance but across a grid line are not counted. Chance: the share independent rows "
            "with the same per-feature value frequencies would match"
        ),
        examples=tuple(shown),
    )


def duplicates(rows: SplitRows, y: np.ndarray, classes: tuple[str, ...]) -> Duplicates:
    """Count rows identical to another row of the split, and groups of them with several labels."""
    n = rows.n_rows
    if n < 2:
        return Duplicates(
            rows=n, duplicate_rows=0, conflicting_label_rows=0, conflicting_label_groups=0
        )
    # One sort of (hash, label) keys: identical rows form runs, and a key change inside a run
    # marks a group of identical rows that carry different labels. Walked in steps that overlap
    # by one key, so the temporaries stay small.
    bits = _label_bits(len(classes))
    shift = np.uint64(bits)
    keys = _sorted_keys(rows.hashes, y, bits)
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
        file_groups = rows.hashes >> np.uint64(bits)
        for group, size in zip(conflicting[:EXAMPLES], sizes[:EXAMPLES], strict=True):
            members = np.flatnonzero(file_groups == group)
            shown.append(
                {
                    "row": int(rows.row_numbers[members[0]]),
                    "copies": int(size),
                    "labels": ", ".join(classes[int(c)] for c in np.unique(y[members])),
                }
            )
    return Duplicates(
        rows=n,
        duplicate_rows=count,
        conflicting_label_rows=int(sizes.sum()),
        conflicting_label_groups=int(len(conflicting)),
        examples=tuple(shown),
    )


# ---- what single features say about the label ----------------------------------------------------


def _targets(n_classes: int) -> list[int]:
    """Return the classes single features are scored for: the positive one, or every one."""
    return [1] if n_classes == 2 else list(range(n_classes))


def proxies(
    rows: SplitRows, classes: tuple[str, ...], features: tuple[str, ...], options: AuditOptions
) -> Proxies:
    """Score every feature alone on the split's sample and compare the strongest with the rest."""
    x, y = rows.sample_x, rows.sample_y
    present = len(np.unique(y))
    counts = np.bincount(y, minlength=len(classes))
    targets = _targets(len(classes))
    # A class with few rows gives no stable score: leave it out (for binary, both must qualify).
    usable = [
        t for t in targets if counts[t] >= MIN_CLASS_ROWS and len(y) - counts[t] >= MIN_CLASS_ROWS
    ]
    if present < 2 or not usable:
        return Proxies(len(y), present, tuple(classes[t] for t in usable), (), ())
    scores = rows.feature_scores(len(classes)).copy()  # rare classes are masked below
    for t, cls in enumerate(targets):
        if cls not in usable:
            scores[:, t] = np.nan
    best = np.nanmax(np.where(np.isnan(scores), -1, scores), axis=1)
    order = np.argsort(-best)
    candidates = []
    for j in order[: options.proxy_candidates]:
        if best[j] < options.proxy_min_score:
            break
        t = int(np.nanargmax(scores[j]))
        rest = rest_score(x, y, int(j), targets[t], categorical=rows.categorical)
        candidates.append(ProxyCandidate(features[j], classes[targets[t]], float(best[j]), rest))
    top = tuple(
        {"feature": features[j], "score": float(best[j])} for j in order[:EXAMPLES] if best[j] >= 0
    )
    return Proxies(len(y), present, tuple(classes[t] for t in usable), top, tuple(candidates))


def signal(
    rows: SplitRows, classes: tuple[str, ...], features: tuple[str, ...]
) -> dict[str, float]:
    """Return the best single-feature ROC AUC of each varying feature on the split's sample."""
    if len(rows.sample_y) < 20:
        return {}
    scores = rows.feature_scores(len(classes))
    return {
        name: float(np.nanmax(scores[i]))
        for i, name in enumerate(features)
        if not np.all(np.isnan(scores[i]))
    }


def _text_identifier(name: str, rows: SplitRows, i: int, named: bool) -> IdentifierColumn | None:
    """Text column I as an identifier candidate: (nearly) one distinct value per row.

    A name alone does not make a text column an identifier: a store code with five values is
    named like one, but it is a category the model may well learn from.
    """
    column = rows.sample_x[:, i]
    column = column[column != MISSING_CODE]
    if len(column) < 50:
        return None
    unique = len(np.unique(column)) / len(column)
    if unique < TEXT_ID_UNIQUE and not (named and unique >= NAMED_TEXT_ID_UNIQUE):
        return None
    seen = list(rows.vocabulary.get(name, {}).values())
    pattern = None
    if seen and sum(bool(UUID.fullmatch(v.strip())) for v in seen) >= 0.9 * len(seen):
        pattern = "UUID"
    return IdentifierColumn(name, named, unique, False, None, kind="text", pattern=pattern)


def _identifier_column(name: str, rows: SplitRows, i: int) -> IdentifierColumn | None:
    """Column I as an identifier candidate, or None when nothing about it looks like one."""
    named = bool(IDENTIFIER_NAME.search(name) or CAMEL_ID.search(name))
    if rows.is_categorical(i):
        return _text_identifier(name, rows, i, named)
    unique_share, increasing = None, False
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
            unique_share = unique
        increasing = bool(
            stats.increasing is not None
            and stats.increasing[i]
            and stats.maximum[i] > stats.minimum[i]
        )
    if not (named or unique_share is not None or increasing):
        return None
    return IdentifierColumn(name, named, unique_share, increasing, None)


def identifiers(
    rows: SplitRows, classes: tuple[str, ...], features: tuple[str, ...]
) -> Identifiers:
    """Find the inputs that look like row identifiers (by name, whole-number range, file order)."""
    if len(rows.sample_y) < 2:
        return Identifiers(len(rows.sample_y), ())
    found = []
    scores = None
    for i, name in enumerate(features):
        column = _identifier_column(name, rows, i)
        if column is None:
            continue
        if scores is None:
            scores = rows.feature_scores(len(classes))
        score = float(np.nanmax(scores[i])) if not np.all(np.isnan(scores[i])) else None
        found.append(replace(column, score=score))
    return Identifiers(len(rows.sample_y), tuple(found))


# ---- drift between splits ------------------------------------------------------------------------


def _psi(reference: np.ndarray, other: np.ndarray, bins: int = 10) -> float:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    a = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, other, side="right"), minlength=len(edges) + 1)
    pa = (a + 0.5) / (a.sum() + 0.5 * len(a))
    pb = (b + 0.5) / (b.sum() + 0.5 * len(b))
    return float(np.sum((pa - pb) * np.log(pa / pb)))


def category_drift(
    train: np.ndarray, other: np.ndarray, names: Mapping[float, str]
) -> dict[str, Any] | None:
    """Compare a text column's category shares (codes TRAIN vs OTHER): PSI, chi-square, unseen.

    Missing values are a category of their own. None for an identifier-like column (at least
    ID_LIKE_UNIQUE of its train values distinct): its values do not form a distribution.
    """
    from scipy.stats import chi2_contingency

    if len(np.unique(train)) >= ID_LIKE_UNIQUE * len(train) and len(train) >= 50:
        return None
    categories, inverse = np.unique(np.concatenate([train, other]), return_inverse=True)
    inverse = inverse.reshape(-1)
    a = np.bincount(inverse[: len(train)], minlength=len(categories))
    b = np.bincount(inverse[len(train) :], minlength=len(categories))
    pa = (a + 0.5) / (a.sum() + 0.5 * len(a))
    pb = (b + 0.5) / (b.sum() + 0.5 * len(b))
    psi = float(np.sum((pa - pb) * np.log(pa / pb)))
    table = np.array([a, b])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] > 1:
        statistic, pvalue = (float(v) for v in chi2_contingency(table)[:2])
    else:
        statistic, pvalue = 0.0, 1.0
    unseen = float(b[a == 0].sum() / max(b.sum(), 1))
    share_a, share_b = a / max(a.sum(), 1), b / max(b.sum(), 1)
    order = np.argsort(-np.abs(share_b - share_a), kind="stable")[:SHOWN_CATEGORIES]
    shown = [
        {
            "value": _category_name(float(categories[k]), names),
            "train_share": float(share_a[k]),
            "share": float(share_b[k]),
        }
        for k in order
    ]
    return {
        "psi": psi,
        "test": "chi-square",
        "chi2_statistic": statistic,
        "chi2_pvalue": pvalue,
        "pvalue": pvalue,
        "unseen_share": unseen,
        "categories": len(categories),
        "shifted_categories": shown,
    }


def _category_name(code: float, names: Mapping[float, str]) -> str:
    """Show a category's value as evidence does: truncated, "(missing)", or its code if unknown."""
    if code == MISSING_CODE:
        return "(missing)"
    value = names.get(code)
    if value is None:
        return f"(code {int(code)})"
    return value if len(value) <= SHOWN_CHARACTERS else value[: SHOWN_CHARACTERS - 1] + "…"


def drift(
    train: SplitRows,
    other: SplitRows,
    y_train: np.ndarray,
    y_other: np.ndarray,
    n_classes: int,
) -> Drift:
    """Compare OTHER's sampled features (PSI, KS) and class counts (chi-square) with TRAIN's."""
    from scipy.stats import chi2_contingency, ks_2samp

    found: list[dict[str, Any]] = []
    for i, feature in enumerate(train.features):
        a, b = train.sample_x[:, i], other.sample_x[:, i]
        if not len(a) or not len(b):
            break
        if np.all(a == a[0]) and np.all(b == b[0]) and a[0] == b[0]:
            continue
        if train.is_categorical(i):
            names = {**other.vocabulary.get(feature, {}), **train.vocabulary.get(feature, {})}
            shifted = category_drift(a, b, names)
            if shifted is not None:
                found.append({"feature": feature, **shifted})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "exact calculation unsuccessful" on discrete columns
            ks = ks_2samp(a, b)
        found.append(
            {
                "feature": feature,
                "psi": _psi(a, b),
                "ks_statistic": float(ks.statistic),
                "ks_pvalue": float(ks.pvalue),
            }
        )
    found.sort(key=lambda d: -d["psi"])
    count_train = np.bincount(y_train, minlength=n_classes)
    count_other = np.bincount(y_other, minlength=n_classes)
    shift = float(0.5 * np.abs(count_train / len(y_train) - count_other / len(y_other)).sum())
    table = np.array([count_train, count_other])
    table = table[:, table.sum(axis=0) > 0]
    pvalue = float(chi2_contingency(table)[1]) if table.shape[1] > 1 else 1.0
    return Drift(len(train.sample_y), len(other.sample_y), tuple(found), shift, pvalue)
