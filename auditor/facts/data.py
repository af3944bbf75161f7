"""Facts about the data that the leakage and drift rules judge, computed from the splits' row facts.

Each family of facts is a frozen value of plain numbers, counts and examples, computed once per
split it is asked for (`Request`): rows shared with training, duplicates within a split, features
that predict the label alone, identifier-like columns, drift from training, single-feature
signal. The rule kinds compare these values with their thresholds and do no computation of their
own, so they are tested with hand-built facts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from auditor.facts.buckets import (
    EXAMPLES,
    SplitMatches,
    count_in,
    found_in,
    label_bits,
    sorted_keys,
)
from auditor.facts.context import Groups, Times, group_overlap, temporal
from auditor.facts.images import NEAR_BITS, near_within, nearest, thumbnail
from auditor.facts.rows import (
    GRID_ROWS,
    NEAR_DUPLICATE_TOLERANCE,
    SplitRows,
    near_cells,
)
from auditor.facts.text import TextFacts, text_facts
from auditor.facts.twosample import compare
from auditor.facts.univariate import rest_score, rest_score_without, single_accuracy
from auditor.loading.categories import MISSING as MISSING_CODE
from auditor.options import AuditOptions

THUMBNAIL_PAIRS = 4  # image pairs a report shows for a duplicate finding
DISCRETE_CHANCE = 0.01  # chance matches at or above this mean the features are discrete enough
MIN_CLASS_ROWS = 10  # fewer rows of a class give no stable single-feature score
# A column with at most this many distinct values (or 1% of the sampled rows, if more) is a code
# (a region, a product line), not an identifier, whatever its name says.
LOW_CARDINALITY = 20
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
GROUPS = "groups"  # from the --group-column columns
TEMPORAL = "temporal"  # from the --time-column column
TEXT = "text"  # a text model's texts (`auditor.facts.text`)
FAMILIES = (SHARED_ROWS, DUPLICATES, PROXIES, IDENTIFIERS, DRIFT, SIGNAL, GROUPS, TEMPORAL, TEXT)


# A model's predicted classes for feature rows (float32, shape (n, f)): for the proxies' reliance.
Predict = Callable[[np.ndarray], np.ndarray]


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
    # Images only: up to THUMBNAIL_PAIRS (split image, training image, captions) uint8 thumbnails.
    thumbnails: tuple[tuple[Any, ...], ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Duplicates:
    """Identical rows within one split, and groups of them that carry different labels."""

    rows: int
    duplicate_rows: int
    conflicting_label_rows: int
    conflicting_label_groups: int
    examples: tuple[Mapping[str, Any], ...] = ()
    # Images only: images with a near copy in the split (not identical), and pairs to show.
    near_duplicate_rows: int | None = None
    near_examples: tuple[Mapping[str, Any], ...] = ()
    thumbnails: tuple[tuple[Any, ...], ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class ProxyCandidate:
    """A feature that scores high alone, and what every other feature reaches together."""

    feature: str
    cls: str
    score: float
    rest_score: float | None  # None: the rest could not be scored
    # Cross-fitted accuracy of the feature alone on the whole label (near-determinism).
    accuracy: float | None = None
    # What the features that are no candidate reach together (the other candidates left out).
    honest_score: float | None = None


@dataclass(frozen=True)
class ProxySet:
    """How much the model relies on a set of candidates: its accuracy with them shuffled."""

    features: tuple[str, ...]
    score: float  # the best single-feature ROC AUC among them
    alone_accuracy: float  # the best accuracy of one of them alone on the whole label
    model_accuracy: float  # the model's accuracy on the sample
    permuted_accuracy: float  # ... with the set's columns shuffled together

    @property
    def reliance(self) -> float:
        """How much accuracy the model loses without the set."""
        return self.model_accuracy - self.permuted_accuracy


@dataclass(frozen=True)
class Proxies:
    """Single-feature scores of a split's sample, and the strongest features against the rest."""

    sample_rows: int
    sample_classes: int  # classes present in the sample
    usable_classes: tuple[str, ...]  # classes with MIN_CLASS_ROWS rows and as many others
    top_features: tuple[Mapping[str, Any], ...]  # {feature, score}, strongest first
    candidates: tuple[ProxyCandidate, ...]  # strongest first, while score >= proxy_min_score
    min_class_rows: int = MIN_CLASS_ROWS
    # The model's reliance on each candidate and on all of them together (when it was given).
    sets: tuple[ProxySet, ...] = ()
    method: str = (
        "cross-fitted ROC AUC of the feature alone (20 quantile bins), "
        "vs a cross-validated logistic regression on all other features"
    )
    # Why the check does not apply to this input kind (images have no feature columns).
    not_applicable: str = ""


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
    not_applicable: str = ""


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
    groups: Mapping[str, Groups] = field(default_factory=dict)
    temporal: Mapping[str, Times] = field(default_factory=dict)
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
    context: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    predict: Predict | None = None,
    counts: Mapping[str, np.ndarray] | None = None,
) -> DataFacts:
    """Compute the requested facts from each split's row facts, labels and class COUNTS.

    LABELS are every row's, where a fact reads them row by row (image splits, a time column);
    COUNTS (default: counted from LABELS) are each split's rows per class.

    OPTIONS steer the work: `proxy_candidates` and `proxy_min_score` for the proxies, and
    `sample_rows` names the sample size the row facts were gathered with; its `group_columns`
    and `time_column` are read from CONTEXT (split -> column -> a value per evaluated row).

    A request whose splits are missing (no test split, or a cross-split fact asked of train) is
    skipped: the rule that wanted it reports *not applicable*.
    """
    found: dict[str, dict[str, Any]] = {name: {} for name in FAMILIES}
    errors: dict[tuple[str, str], str] = {}
    if counts is None:
        counts = {n: np.bincount(y, minlength=len(classes)) for n, y in labels.items()}
    for family, name in sorted(set(requests), key=lambda r: (FAMILIES.index(r[0]), r[1])):
        try:
            request = Request(family, name)
            if family in (GROUPS, TEMPORAL):
                value = _context_family(request, context or {}, labels, classes, options)
            else:
                value = _family(request, rows, labels, counts, classes, features, options, predict)
        except Exception as exc:  # one broken computation must not hide the other facts
            errors[(family, name)] = f"{type(exc).__name__}: {exc}"
            continue
        if value is not None:
            found[family][name] = value
    return DataFacts(**found, errors=errors)


def _context_family(
    request: Request,
    context: Mapping[str, Mapping[str, np.ndarray]],
    labels: Mapping[str, np.ndarray],
    classes: tuple[str, ...],
    options: AuditOptions,
) -> Groups | Times | None:
    """Compare a split's group or time column with train's; None when a split is missing."""
    if request.split == "train" or request.split not in labels or "train" not in labels:
        return None
    train, other = context.get("train", {}), context.get(request.split, {})
    if request.family == GROUPS:
        return Groups(tuple(group_overlap(c, train[c], other[c]) for c in options.group_columns))
    column = options.time_column
    if not column:
        return Times(())
    return Times(
        (
            temporal(
                column,
                train[column],
                other[column],
                labels["train"],
                labels[request.split],
                classes,
            ),
        )
    )


def _family(
    request: Request,
    rows: Mapping[str, SplitRows],
    labels: Mapping[str, np.ndarray],
    counts: Mapping[str, np.ndarray],
    classes: tuple[str, ...],
    features: tuple[str, ...],
    options: AuditOptions,
    predict: Predict | None = None,
) -> Any:
    """Compute one family of facts for one split; None when its splits are missing."""
    train = rows.get("train")
    split = rows.get(request.split)
    if split is None:
        return None
    if split.kind == "image":
        return _image_family(request, train, split, labels, counts, classes, options)
    if request.family == DUPLICATES:
        return duplicates(split, classes)
    if request.family == PROXIES:
        return proxies(split, classes, features, options, predict)
    if request.family == SIGNAL:
        return signal(split, classes, features)
    if request.family == IDENTIFIERS:
        return identifiers(split, classes, features)
    if request.family == TEXT:
        return text_facts(train if request.split != "train" else None, split, classes)
    if train is None or request.split == "train":
        return None  # the cross-split families compare a split with train
    if request.family == SHARED_ROWS:
        return shared_rows(train, split, classes)
    if request.family == DRIFT:
        found = drift(train, split, counts["train"], counts[request.split])
        method = "PSI over train deciles and Kolmogorov-Smirnov"
        if train.categorical.any():
            method += "; text columns: PSI over categories and chi-square, unseen share"
        return replace(
            found, method=f"{method}, on samples of at most {options.sample_rows:,} rows"
        )
    raise ValueError(f"unknown family of facts {request.family!r}")


NO_COLUMNS = (
    "images have no feature columns: a per-column check does not apply (the image checks are "
    "exact and near duplicates, drift of image statistics and class balance)"
)


def _image_family(
    request: Request,
    train: SplitRows | None,
    split: SplitRows,
    labels: Mapping[str, np.ndarray],
    counts: Mapping[str, np.ndarray],
    classes: tuple[str, ...],
    options: AuditOptions,
) -> Any:
    """Compute one family of facts for an image split (see `auditor.facts.images`)."""
    family = request.family
    if family == DUPLICATES:
        return image_duplicates(split, labels[request.split], classes, request.split)
    if family == PROXIES:
        present = len(np.unique(split.sample_y))
        return Proxies(len(split.sample_y), present, (), (), (), not_applicable=NO_COLUMNS)
    if family == IDENTIFIERS:
        return Identifiers(len(split.sample_y), (), not_applicable=NO_COLUMNS)
    if family == SIGNAL:
        return {}
    if train is None or request.split == "train":
        return None
    if family == SHARED_ROWS:
        return shared_images(
            train, split, labels["train"], labels[request.split], classes, request.split
        )
    if family == DRIFT:
        found = drift(train, split, counts["train"], counts[request.split])
        method = (
            "PSI over train deciles and Kolmogorov-Smirnov of per-image statistics (mean "
            "intensity per channel; stored height, width and aspect ratio for image files), "
        )
        return replace(found, method=f"{method}on samples of at most {options.sample_rows:,} rows")
    raise ValueError(f"unknown family of facts {family!r}")


def _evidence(rows: SplitRows, row: int, label: str) -> dict[str, Any]:
    """One image's evidence: its row, file (for image files) and label."""
    name = rows.source.name(row) if rows.source is not None else None
    found: dict[str, Any] = {"row": int(rows.row_numbers[row])}
    if name is not None:
        found["file"] = name
    found["label"] = label
    return found


def _caption(rows: SplitRows, row: int, split: str) -> str:
    name = rows.source.name(row) if rows.source is not None else None
    return f"{split} {name}" if name else f"{split} row {int(rows.row_numbers[row])}"


def _thumbnails(
    pairs: list[tuple[int, int]], a: SplitRows, b: SplitRows, names: tuple[str, str]
) -> tuple[tuple[Any, ...], ...]:
    """(thumbnail, thumbnail, caption, caption) of up to THUMBNAIL_PAIRS (A row, B row) pairs.

    The images are read again from the splits' sources; NAMES are the splits' names.
    """
    if a.source is None or b.source is None:
        return ()
    shown = []
    for i, j in pairs[:THUMBNAIL_PAIRS]:
        first, second = a.source.image(i), b.source.image(j)
        if first is None or second is None:  # a tf.data.Dataset gives no image back by row
            return ()
        shown.append(
            (
                thumbnail(first),
                thumbnail(second),
                _caption(a, i, names[0]),
                _caption(b, j, names[1]),
            )
        )
    return tuple(shown)


IMAGE_METHOD = (
    f"exact: identical pixels (BLAKE2b of the images as the model sees them); near: difference "
    f"hashes (128 bits of grayscale gradients on a 9 x 9 grid) at most {NEAR_BITS} bits apart "
    "and not identical, every image compared with every training image"
)


def shared_images(
    train: SplitRows,
    other: SplitRows,
    y_train: np.ndarray,
    y_other: np.ndarray,
    classes: tuple[str, ...],
    split_name: str = "val",
) -> SharedRows:
    """Count OTHER's images that appear in TRAIN: identical pixels, or a near difference hash."""
    bits = label_bits(len(classes))
    train_keys = sorted_keys(train.hashes, y_train, bits)
    other_keys = sorted_keys(other.hashes, y_other, bits)
    same_label = count_in(other_keys, train_keys)
    train_keys >>= np.uint64(bits)
    exact_found = (
        found_in(other.hashes >> np.uint64(bits), train_keys)
        if len(train_keys)
        else (np.zeros(other.n_rows, bool))
    )
    nearest_row, distance = nearest(other.near_hashes, train.near_hashes)
    near_found = (distance <= NEAR_BITS) & ~exact_found
    shown, pairs = [], []
    for i in np.flatnonzero(exact_found | near_found)[:EXAMPLES]:
        if exact_found[i]:
            copies = np.flatnonzero(train.hashes == other.hashes[i])
            alike = copies[y_train[copies] == y_other[i]]
            j = int(alike[0] if len(alike) else copies[0])
        else:
            j = int(nearest_row[i])
        pairs.append((int(i), j))
        mine = _evidence(other, int(i), classes[int(y_other[i])])
        theirs = _evidence(train, j, classes[int(y_train[j])])
        shown.append(
            {
                "row": mine["row"],
                "train_row": theirs["row"],
                "match": "exact" if exact_found[i] else f"near ({int(distance[i])} bits)",
                "label": mine["label"],
                "train_label": theirs["label"],
                **({"file": mine["file"]} if "file" in mine else {}),
                **({"train_file": theirs["file"]} if "file" in theirs else {}),
            }
        )
    return SharedRows(
        rows_checked=other.n_rows,
        shared_rows=int(exact_found.sum()),
        shared_rows_same_label=same_label,
        near_duplicate_rows=int(near_found.sum()),
        shared_fraction_by_chance=0.0,
        near_duplicate_fraction_by_chance=0.0,
        method=IMAGE_METHOD,
        examples=tuple(shown),
        thumbnails=_thumbnails(pairs, other, train, (split_name, "train")),
    )


def image_duplicates(
    rows: SplitRows, y: np.ndarray, classes: tuple[str, ...], name: str = "train"
) -> Duplicates:
    """Identical images within a split (as `duplicates`), and images with a near copy there."""
    exact = duplicates(rows, classes)
    if rows.n_rows < 2:
        return replace(exact, near_duplicate_rows=0)
    nearest_row, distance = near_within(rows.near_hashes, rows.hashes)
    near = np.flatnonzero(distance <= NEAR_BITS)
    shown, pairs = [], []
    for i in near:
        j = int(nearest_row[i])
        if j < i:  # each pair once
            continue
        pairs.append((int(i), j))
        first = _evidence(rows, int(i), classes[int(y[i])])
        second = _evidence(rows, j, classes[int(y[j])])
        shown.append(
            {
                "row": first["row"],
                "other_row": second["row"],
                "bits_apart": int(distance[i]),
                "label": first["label"],
                "other_label": second["label"],
                **({"file": first["file"]} if "file" in first else {}),
                **({"other_file": second["file"]} if "file" in second else {}),
            }
        )
        if len(shown) >= EXAMPLES:
            break
    # Exact copies first (the rule's evidence already lists conflicting ones), then near pairs.
    exact_pairs = _exact_pairs(rows)
    return replace(
        exact,
        near_duplicate_rows=int(len(near)),
        near_examples=tuple(shown),
        thumbnails=_thumbnails((exact_pairs + pairs)[:THUMBNAIL_PAIRS], rows, rows, (name, name)),
    )


def _exact_pairs(rows: SplitRows) -> list[tuple[int, int]]:
    """Up to THUMBNAIL_PAIRS pairs of identical images within a split, first rows first."""
    order = np.argsort(rows.hashes, kind="stable")
    ordered = rows.hashes[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    found = sorted((int(order[k]), int(order[k + 1])) for k in same)
    return found[:THUMBNAIL_PAIRS]


# ---- rows shared across and within splits --------------------------------------------------------


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


def _matches(rows: SplitRows) -> SplitMatches:
    if rows.matches is None:
        raise ValueError("the split's rows were not matched (auditor.facts.rows.matched)")
    return rows.matches


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
        within = _matches(train).within
        return (within.rates()[0] if within is not None else 0.0), 0.0
    exact = _chance_rate(train.sample_x, other.sample_x, train.n_rows)
    train_cells = near_cells(train.sample_x, scale)
    near = _chance_rate(train_cells, near_cells(other.sample_x, scale), train.n_rows)
    within = _matches(train).within
    twins_exact, twins_near = within.rates() if within is not None else (0.0, 0.0)
    if exact >= DISCRETE_CHANCE:
        exact = max(exact, twins_exact)
    if near >= DISCRETE_CHANCE:
        near = max(near, twins_near)
    return exact, max(near - exact, 0.0)


def shared_rows(train: SplitRows, other: SplitRows, classes: tuple[str, ...]) -> SharedRows:
    """Count OTHER's rows that appear in TRAIN (exactly, with the same label, or nearly).

    The counts and examples come from OTHER's matches with TRAIN, bucket by bucket.
    """
    found = _matches(other).shared
    if found is None:
        raise ValueError("the split's rows were not matched with training's")
    # Identical rows fall in the same near-duplicate cell, so near matches include the exact ones.
    near = max(found.near - found.exact, 0)
    # What unrelated records would share by chance (booleans and small integers collide honestly).
    chance_exact, chance_near = _chance(train, other)
    shown = tuple(
        {
            "row": row,
            "train_row": train_row,
            "match": match,
            "label": classes[label],
            "train_label": classes[train_label],
        }
        for row, train_row, match, label, train_label in found.examples
    )
    return SharedRows(
        rows_checked=other.n_rows,
        shared_rows=found.exact,
        shared_rows_same_label=found.same_label,
        near_duplicate_rows=near,
        shared_fraction_by_chance=chance_exact,
        near_duplicate_fraction_by_chance=chance_near,
        method=(
            f"features rounded to a grid of {NEAR_DUPLICATE_TOLERANCE:g} x each feature's standard "
            f"deviation (from the first {GRID_ROWS:,} training rows), then hashed; rows within the "
            "tolerance but across a grid line are not counted. Chance: the share independent rows "
            "with the same per-feature value frequencies would match"
        ),
        examples=shown,
    )


def duplicates(rows: SplitRows, classes: tuple[str, ...]) -> Duplicates:
    """Count rows identical to another row of the split, and groups of them with several labels."""
    found = _matches(rows).duplicates
    shown = tuple(
        {"row": row, "copies": copies, "labels": ", ".join(classes[c] for c in labels)}
        for _, row, copies, labels in found.examples
    )
    return Duplicates(
        rows=rows.n_rows,
        duplicate_rows=found.duplicate_rows,
        conflicting_label_rows=found.conflicting_label_rows,
        conflicting_label_groups=found.conflicting_label_groups,
        examples=shown,
    )


# ---- what single features say about the label ----------------------------------------------------


def _targets(n_classes: int) -> list[int]:
    """Return the classes single features are scored for: the positive one, or every one."""
    return [1] if n_classes == 2 else list(range(n_classes))


def proxies(
    rows: SplitRows,
    classes: tuple[str, ...],
    features: tuple[str, ...],
    options: AuditOptions,
    predict: Predict | None = None,
) -> Proxies:
    """Score every feature alone on the split's sample and compare the strongest with the rest.

    With PREDICT (sample rows -> predicted classes), the model's reliance on each candidate and
    on all of them together is measured by shuffling their columns in the sample: linear in the
    sample's rows, one prediction of it per set.
    """
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
    chosen = [
        int(j) for j in order[: options.proxy_candidates] if best[j] >= options.proxy_min_score
    ]
    candidates = []
    honest_by_class: dict[int, float | None] = {}  # the same for every candidate of a class
    for j in chosen:
        t = int(np.nanargmax(scores[j]))
        rest = rest_score(x, y, j, targets[t], categorical=rows.categorical)
        if len(chosen) == 1:
            honest = rest
        elif targets[t] in honest_by_class:
            honest = honest_by_class[targets[t]]
        else:
            honest = honest_by_class[targets[t]] = rest_score_without(
                x, y, chosen, targets[t], categorical=rows.categorical
            )
        candidates.append(
            ProxyCandidate(
                features[j],
                classes[targets[t]],
                float(best[j]),
                rest,
                accuracy=single_accuracy(x[:, j], y),
                honest_score=honest,
            )
        )
    top = tuple(
        {"feature": features[j], "score": float(best[j])} for j in order[:EXAMPLES] if best[j] >= 0
    )
    sets = _reliance(x, y, chosen, candidates, features, predict) if predict else ()
    return Proxies(
        len(y), present, tuple(classes[t] for t in usable), top, tuple(candidates), sets=sets
    )


def _reliance(
    x: np.ndarray,
    y: np.ndarray,
    chosen: list[int],
    candidates: list[ProxyCandidate],
    features: tuple[str, ...],
    predict: Predict,
) -> tuple[ProxySet, ...]:
    """Measure the model's accuracy with each candidate, and all together, shuffled in the sample.

    Shuffling a set's columns together keeps their joint values (two copies of the label stay
    copies of each other) and cuts their tie to the label: what the model loses is what it took
    from them. Two leaks that stand in for each other show only as a set.
    """
    if not chosen:
        return ()
    model_accuracy = float(np.mean(predict(x) == y))
    groups = [[i] for i in range(len(chosen))]
    if len(chosen) > 1:
        groups.append(list(range(len(chosen))))
    shuffle = np.random.default_rng(0).permutation(len(y))
    found = []
    for members in groups:
        columns = [chosen[i] for i in members]
        shuffled = x.copy()
        shuffled[:, columns] = x[shuffle][:, columns]
        alone = [a for a in (candidates[i].accuracy for i in members) if a is not None]
        found.append(
            ProxySet(
                features=tuple(features[c] for c in columns),
                score=max(candidates[i].score for i in members),
                alone_accuracy=max(alone) if alone else 0.0,
                model_accuracy=model_accuracy,
                permuted_accuracy=float(np.mean(predict(shuffled) == y)),
            )
        )
    return tuple(found)


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
    if rows.is_categorical(i):
        text_named = bool(IDENTIFIER_NAME.search(name) or CAMEL_ID.search(name))
        return _text_identifier(name, rows, i, text_named)
    stats = rows.stats
    column = rows.sample_x[:, i]
    distinct = len(np.unique(column))
    # ... and its values repeat (each at least twice on average), which ids do not.
    code = distinct <= max(LOW_CARDINALITY, 0.01 * len(column)) and 2 * distinct <= len(column)
    named = bool(IDENTIFIER_NAME.search(name) or CAMEL_ID.search(name)) and not code
    unique_share, increasing = None, False
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
    train: SplitRows, other: SplitRows, count_train: np.ndarray, count_other: np.ndarray
) -> Drift:
    """Compare OTHER's sampled features (PSI, KS) and class counts (chi-square) with TRAIN's.

    COUNT_TRAIN and COUNT_OTHER are the splits' rows per class.
    """
    from scipy.stats import chi2_contingency

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
        found.append({"feature": feature, **compare(a, b)})
    found.sort(key=lambda d: -d["psi"])
    shift = float(
        0.5 * np.abs(count_train / count_train.sum() - count_other / count_other.sum()).sum()
    )
    table = np.array([count_train, count_other])
    table = table[:, table.sum(axis=0) > 0]
    pvalue = float(chi2_contingency(table)[1]) if table.shape[1] > 1 else 1.0
    return Drift(len(train.sample_y), len(other.sample_y), tuple(found), shift, pvalue)
