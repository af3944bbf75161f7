"""Leakage and split-quality kinds on hand-built row facts: planted defects, clean data, corners.

No Keras: rows go through `RowFacts` batch by batch as the local engine feeds them, the data facts
are computed from them as the audit computes them (`add_facts`), and the splits' labels come from
`helpers.split_from_predictions`, so `ev.splits[name].y` matches the rows.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import scipy.stats
from helpers import architecture, model_info, split_from_predictions

from auditor.evaluate import SPLIT_ORDER, Evaluation, SplitEvaluation, add_facts
from auditor.facts import buckets as facts_buckets
from auditor.facts import data as facts_data
from auditor.facts import rows as rowfacts
from auditor.facts.data import FAMILIES
from auditor.facts.rows import RowFacts, hash_rows, matched, near_grid
from auditor.rules.engine import run_rules
from auditor.rules.kinds import KINDS
from auditor.rules.loader import load_rule_set
from auditor.rules.types import Outcome, RuleSet

BINARY = ("0", "1")
ANIMALS = ("cat", "dog", "fox")
LEAKAGE_KINDS = (
    "leakage_duplicates",
    "duplicate_rows",
    "leakage_target_proxy",
    "leakage_identifier",
    "split_drift",
    "suspicious_validation",
)


# ---- builders ------------------------------------------------------------------------------------


def with_rows(
    splits: Mapping[str, tuple[Any, Any]],
    features: Sequence[str],
    classes: tuple[str, ...] = BINARY,
    batch_rows: int = 64,
) -> Evaluation:
    """An Evaluation whose row facts are gathered as `evaluate` gathers them, batch by batch.

    SPLITS maps a split name to (x, y). Splits are fed in train, val, test order on the first
    one's near-duplicate grid; then every family of data facts is computed for every split.
    Predictions are uniform: these kinds read rows and labels, not predictions
    (suspicious_validation is built with `scored` instead).
    """
    names = tuple(features)
    rows, evaluated, keys = {}, {}, {}
    order = sorted(splits, key=SPLIT_ORDER.index)
    scale = near_grid(np.asarray(splits[order[0]][0], dtype=np.float32))
    for name in order:
        x = np.asarray(splits[name][0], dtype=np.float32)  # the reader hands over float32 features
        y = np.asarray(splits[name][1], dtype=np.int64)
        facts = RowFacts(scale=scale)
        for start in range(0, len(x), batch_rows):
            stop = min(start + batch_rows, len(x))
            facts.update(x[start:stop], y[start:stop], np.arange(start, stop))
        rows[name] = facts.freeze(names)
        keys[name] = [facts.take_keys(y, 0)]  # one bucket, as the local engine keeps them
        uniform = np.full((len(y), len(classes)), 1 / len(classes))
        evaluated[name] = split_from_predictions(name, y, uniform, classes)
    ev = Evaluation(
        model=model_info(len(classes)),
        classes=classes,
        features=names,
        splits=evaluated,
        architecture=architecture(),
        rows=matched(rows, keys, len(classes)),
    )
    return add_facts(ev, [(family, name) for family in FAMILIES for name in order])


def scored(
    name: str, y: np.ndarray, proba: np.ndarray, classes: tuple[str, ...] = BINARY
) -> SplitEvaluation:
    """A split whose loss and loss standard error are computed per row, as `evaluate` does."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    losses = -np.log(np.clip(proba[np.arange(len(y)), y], 1e-7, 1))
    split = split_from_predictions(name, y, proba, classes, loss=float(losses.mean()))
    error = float(losses.std(ddof=1) / np.sqrt(len(losses)))
    return dataclasses.replace(split, metrics={**split.metrics, "loss_standard_error": error})


def predictions(y: np.ndarray, confidence: float, wrong: int) -> np.ndarray:
    """P(class 1): CONFIDENCE on the true class, except for the first WRONG rows (flipped)."""
    p = np.where(y == 1, confidence, 1 - confidence)
    p[:wrong] = 1 - p[:wrong]
    return p


def normal_rows(n: int, seed: int, features: int = 3, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """N rows of independent standard normal features and labels unrelated to them."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, k, n)


def proxy_rows(n: int, seed: int, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Features a and b are noise; `leak` is the label plus a little noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=n), y + rng.normal(scale=0.1, size=n)])
    return x, y


def two_views(n: int, seed: int, positives: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A and b are two noisy measurements of the same cause of the label; c is noise.

    Each of a and b alone predicts the label very well (ROC AUC about 0.99), but neither gives it
    away: the other one knows as much. POSITIVES: that many rows (those with the largest cause)
    are class 1, instead of the cause's sign deciding.
    """
    rng = np.random.default_rng(seed)
    cause = rng.normal(size=n)
    if positives is None:
        y = (cause > 0).astype(np.int64)
    else:
        y = np.zeros(n, np.int64)
        y[np.argsort(-cause)[:positives]] = 1
    noise = rng.normal(scale=0.15, size=(n, 2))
    return np.column_stack([cause + noise[:, 0], cause + noise[:, 1], rng.normal(size=n)]), y


def copied_rows(copies: int, split: str = "val", relabel: int = 0, rows: int = 50) -> Evaluation:
    """Train 100 rows; SPLIT ROWS rows whose first COPIES rows are train rows 10, 11, ...

    The first RELABEL copies carry the other label.
    """
    x_train, y_train = normal_rows(100, seed=1)
    x, y = normal_rows(rows, seed=2)
    x[:copies], y[:copies] = x_train[10 : 10 + copies], y_train[10 : 10 + copies]
    y[:relabel] = 1 - y[:relabel]
    return with_rows({"train": (x_train, y_train), split: (x, y)}, "abc")


def repeated_rows(repeats: int, conflicts: int, n: int = 40) -> Evaluation:
    """A train split of N rows whose last REPEATS rows repeat its first; CONFLICTS relabeled."""
    x, _ = normal_rows(n, seed=3)
    y = np.arange(n) % 2
    x[n - repeats :], y[n - repeats :] = x[:repeats], y[:repeats]
    y[n - conflicts :] = 1 - y[n - conflicts :]
    return with_rows({"train": (x, y)}, "abc")


def label_copy(n: int = 100) -> Evaluation:
    """Train and val where the feature `leak` is the label itself and `zero` is constant."""
    y = np.arange(n) % 2
    x = np.column_stack([np.zeros(n), y])
    return with_rows({"train": (x, y), "val": (x, y)}, ("zero", "leak"))


def shifted_classes(val_positives: int, n: int = 200) -> Evaluation:
    """Identical train and val features; train is half positive, val has VAL_POSITIVES of N."""
    x, _ = normal_rows(n, seed=4)
    return with_rows(
        {"train": (x, np.arange(n) % 2), "val": (x, (np.arange(n) < val_positives).astype(int))},
        "abc",
    )


def judge(rules: RuleSet, rule_id: str, ev: Evaluation) -> Outcome:
    rule = rules.get(rule_id)
    assert rule is not None, rule_id
    return KINDS[rule.kind].fn(ev, rule.params)


def params_for(kind: str, **overrides: Any) -> dict[str, Any]:
    return {**{key: p.default for key, p in KINDS[kind].params.items()}, **overrides}


def assert_valid(outcome: Outcome) -> None:
    assert outcome.status in ("passed", "failed", "not_applicable")
    assert outcome.message.endswith(".")
    assert (outcome.status == "not_applicable") == outcome.message.startswith("Not applicable: ")
    assert not re.search(r"\b(nan|None|inf)\b", outcome.message), outcome.message
    json.dumps(
        {
            "observed": outcome.observed,
            "threshold": outcome.threshold,
            "evidence": outcome.evidence,
        },
        allow_nan=False,
    )


@pytest.fixture(scope="module")
def default_rules() -> RuleSet:
    return load_rule_set()


# ---- hashes and row facts ------------------------------------------------------------------------


def test_hash_rows_equal_rows_hash_equal_and_negative_zero_is_zero() -> None:
    x = np.array([[1.5, 0.0, -2.0], [1.5, -0.0, -2.0], [1.5, 0.0, -2.0]], dtype=np.float32)
    h = hash_rows(x)
    assert h.dtype == np.uint64 and h.shape == (3,)
    assert h[0] == h[1] == h[2]
    # float64 input is compared at the reader's float32 precision
    assert hash_rows(x.astype(np.float64)).tolist() == h.tolist()
    # a row's hash does not depend on the other rows of the batch; whole numbers hash alike
    whole = hash_rows(np.array([[3, -1], [7, 0], [3, -1]]))
    assert whole[0] == whole[2] == hash_rows(np.array([[3, -1]]))[0] != whole[1]
    assert hash_rows(np.array([[True, False]])).tolist() == hash_rows(np.array([[1, 0]])).tolist()


def test_hash_rows_different_rows_differ() -> None:
    x = np.random.default_rng(0).normal(size=(20_000, 4)).astype(np.float32)
    assert len(np.unique(hash_rows(x))) == len(x)
    base = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    variants = np.concatenate(
        [
            base,
            base[:, ::-1],  # same values, other columns
            np.nextafter(base, np.float32(9)),  # one float32 step apart
            base * 0,
            -base,
        ]
    )
    assert len(np.unique(hash_rows(variants))) == len(variants)
    assert len(np.unique(hash_rows(np.array([[0, 1], [1, 0], [0, 0], [1, 1]])))) == 4


@pytest.mark.parametrize("features", [1, 4, 7, 50])
def test_hashes_do_not_depend_on_the_chunk_a_row_is_hashed_in(features: int) -> None:
    from auditor.facts.rows import CHUNK_ROWS, hash_pair, near_cells

    rng = np.random.default_rng(features)
    x = rng.normal(size=(2 * CHUNK_ROWS + 3, features)).astype(np.float32)
    x[-1] = x[0]  # the same row in the first and the last, partial, chunk
    scale = near_grid(x)
    exact, near = hash_pair(x, scale)
    assert exact[-1] == exact[0] and near is not None and near[-1] == near[0]
    one_by_one = np.array([hash_rows(row[None, :])[0] for row in x[:: CHUNK_ROWS // 2]])
    assert exact[:: CHUNK_ROWS // 2].tolist() == one_by_one.tolist()
    assert near.tolist() == hash_rows(near_cells(x, scale)).tolist()
    assert hash_pair(x, None)[1] is None


def _shard(
    x: np.ndarray, y: np.ndarray, start: int, stop: int, batch_rows: int, limit: int = 20_000
) -> RowFacts:
    """Row facts of rows START..STOP fed in batches, on the grid of the first rows of X."""
    facts = RowFacts(scale=near_grid(x), sample_rows_limit=limit)
    for a in range(start, stop, batch_rows):
        b = min(a + batch_rows, stop)
        facts.update(x[a:b], y[a:b], np.arange(a, b))
    return facts


def _feed(x: np.ndarray, y: np.ndarray, batch_rows: int, limit: int = 20_000) -> Any:
    """The frozen row facts of X, Y fed in batches, and the keys of its rows (one bucket)."""
    facts = _shard(x, y, 0, len(x), batch_rows, limit)
    frozen = facts.freeze(("a", "b", "c"))
    (keys,) = facts.take_keys(y, 0)
    return frozen, keys


KEY_FIELDS = ("near", "hashes", "labels")


def test_row_facts_do_not_depend_on_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = normal_rows(300, seed=1)
    x = x.astype(np.float32)
    (one, one_keys), (sevens, seven_keys) = _feed(x, y, 300, limit=40), _feed(x, y, 7, limit=40)
    for field in ("sample_x", "sample_y", "sample_rows"):
        assert np.array_equal(getattr(one, field), getattr(sevens, field)), field
    for field in KEY_FIELDS:
        assert np.array_equal(getattr(one_keys, field), getattr(seven_keys, field)), field
    assert np.array_equal(one_keys.row_numbers(), seven_keys.row_numbers())
    assert np.array_equal(one_keys.labels, y)
    # The near-duplicate grid comes from the first GRID_ROWS rows.
    monkeypatch.setattr(rowfacts, "GRID_ROWS", 50)
    (one, one_keys), (sevens, seven_keys) = _feed(x, y, 300), _feed(x, y, 7)
    assert np.array_equal(one.near_scale, sevens.near_scale)
    np.testing.assert_allclose(
        one.near_scale, x[:50].astype(np.float64).std(axis=0) * rowfacts.NEAR_DUPLICATE_TOLERANCE
    )
    assert np.array_equal(one_keys.near, seven_keys.near)
    assert one.n_rows == sevens.n_rows == len(one_keys) == 300
    assert one.stats.n == sevens.stats.n == 300
    np.testing.assert_allclose(one.stats.mean, sevens.stats.mean, atol=1e-12)
    np.testing.assert_allclose(one.stats.std, sevens.stats.std, atol=1e-12)
    assert np.array_equal(one_keys.hashes, hash_rows(x))


@pytest.mark.parametrize("cuts", [(40,), (1, 2, 60), (10, 20, 30, 40, 50, 119)])
def test_merged_shards_equal_one_pass(cuts: tuple[int, ...]) -> None:
    x, y = normal_rows(120, seed=3)
    x = x.astype(np.float32)
    one, one_keys = _feed(x, y, 7, limit=25)
    bounds = (0, *cuts, 120)
    shards = [_shard(x, y, a, b, 7, limit=25) for a, b in zip(bounds, bounds[1:], strict=False)]
    both = functools.reduce(RowFacts.merge, shards)
    merged = both.freeze(("a", "b", "c"))
    (keys,) = both.take_keys(y, 0)
    for field in ("sample_x", "sample_y", "sample_rows"):
        assert np.array_equal(getattr(merged, field), getattr(one, field)), field
    for field in KEY_FIELDS:
        assert np.array_equal(getattr(keys, field), getattr(one_keys, field)), field
    assert keys.rows is None and keys.first_row == 0  # rows 0..n-1 in order: nothing stored
    assert merged.stats.n == 120 and merged.stats.increasing is not None
    assert np.array_equal(merged.stats.increasing, one.stats.increasing)
    np.testing.assert_allclose(merged.stats.mean, one.stats.mean, atol=1e-12)


def test_shards_on_different_grids_do_not_merge() -> None:
    x, y = normal_rows(120, seed=3)
    x = x.astype(np.float32)
    other = RowFacts(scale=near_grid(x) * 2)
    other.update(x[60:], y[60:], np.arange(60, 120))
    with pytest.raises(ValueError, match="different near-duplicate grids"):
        _shard(x, y, 0, 60, 7).merge(other)


def test_sample_is_bounded_deterministic_and_holds_real_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = normal_rows(500, seed=2)
    x = x.astype(np.float32)
    (first, _), (again, _) = _feed(x, y, 7, limit=25), _feed(x, y, 7, limit=25)
    assert len(first.sample_rows) == len(first.sample_y) == len(first.sample_x) == 25
    assert np.array_equal(first.sample_rows, again.sample_rows)
    assert np.array_equal(first.sample_rows, np.sort(first.sample_rows))
    assert len(np.unique(first.sample_rows)) == 25
    assert np.array_equal(first.sample_x, x[first.sample_rows])
    assert np.array_equal(first.sample_y, y[first.sample_rows])
    # the sample is spread over the file, not its first rows
    assert first.sample_rows.max() > 250
    # hashes cover every row whatever the sample size
    assert first.n_rows == 500


def test_small_split_is_sampled_whole() -> None:
    x, y = normal_rows(30, seed=3)
    rows, _ = _feed(x.astype(np.float32), y, 7)
    assert rows.sample_rows.tolist() == list(range(30))
    assert not rows.sample_x.flags.writeable


# ---- leakage_duplicates --------------------------------------------------------------------------


def planted_copies(k: int = 2) -> tuple[Evaluation, np.ndarray, np.ndarray]:
    """Train 400 rows; val 200 rows, of which rows 0, 10, ..., 190 are copies of train rows.

    The first 5 copies carry another label than their train row. Returns the evaluation, the val
    rows copied and their train rows.
    """
    x_train, y_train = normal_rows(400, seed=10, k=k)
    x_val, y_val = normal_rows(200, seed=11, k=k)
    copied = np.arange(0, 200, 10)
    source = np.random.default_rng(12).choice(400, size=len(copied), replace=False)
    x_val[copied], y_val[copied] = x_train[source], y_train[source]
    y_val[copied[:5]] = (y_train[source[:5]] + 1) % k
    classes = BINARY if k == 2 else ANIMALS
    return (
        with_rows({"train": (x_train, y_train), "val": (x_val, y_val)}, "abc", classes),
        copied,
        source,
    )


@pytest.mark.parametrize("step", [1 << 20, 3])
@pytest.mark.parametrize("k", [2, 3], ids=["binary", "multiclass"])
def test_duplicates_copied_from_train_into_val(
    k: int, step: int, default_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facts_buckets, "CHUNK_ROWS", step)
    ev, copied, source = planted_copies(k)
    outcome = judge(default_rules, "LK01", ev)
    assert default_rules.get("LK01").category == "leakage_duplicates"  # type: ignore[union-attr]
    assert outcome.status == "failed"
    assert outcome.message.startswith(
        "20 of 200 val rows (10%) also appear in the training split: the model is scored on rows "
        "it was trained on"
    )
    assert outcome.observed["shared_rows"] == 20
    assert outcome.observed["shared_fraction"] == pytest.approx(0.1)
    # Three continuous features: independent rows almost never match, so chance explains nothing
    # (and the message does not mention it).
    assert outcome.observed["shared_fraction_by_chance"] < 1e-5
    assert outcome.observed["near_duplicate_fraction_by_chance"] < 1e-4
    assert "chance" not in outcome.message
    assert outcome.observed["shared_rows_same_label"] == 15
    assert outcome.observed["shared_rows_other_label"] == 5
    assert outcome.observed["near_duplicate_rows"] == 0
    assert outcome.observed["rows_checked"] == 200
    examples = outcome.evidence["shared_rows"]
    assert len(examples) == 10  # the first ten, in val order
    assert [e["val_row"] for e in examples] == copied[:10].tolist()
    assert [e["train_row"] for e in examples] == source[:10].tolist()
    assert {e["match"] for e in examples} == {"exact"}
    y_val, y_train = ev.splits["val"].y, ev.splits["train"].y
    assert [e["val_label"] for e in examples] == [ev.classes[c] for c in y_val[copied[:10]]]
    assert [e["train_label"] for e in examples] == [ev.classes[c] for c in y_train[source[:10]]]
    assert sum(e["val_label"] != e["train_label"] for e in examples) == 5


def test_near_duplicates_perturbed_by_a_hair_are_caught_as_near(default_rules: RuleSet) -> None:
    x_train, y_train = normal_rows(400, seed=20)
    x_val, y_val = normal_rows(200, seed=21)
    planted = np.arange(0, 200, 5)  # 40 rows
    source = np.random.default_rng(22).choice(400, size=len(planted), replace=False)
    signs = np.random.default_rng(23).choice([-1.0, 1.0], size=(len(planted), 3))
    x_val[planted] = x_train[source] + signs * 1e-4 * x_train.std(axis=0)
    ev = with_rows({"train": (x_train, y_train), "val": (x_val, y_val)}, "abc")
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.status == "failed"
    assert outcome.observed["shared_rows"] == 0  # nothing is an exact copy...
    # ...but nearly all are near copies: a row is missed only when a grid line (every 0.01 std)
    # falls between it and its original, about 1% of the time per feature.
    near = outcome.observed["near_duplicate_rows"]
    assert 36 <= near <= 40
    assert outcome.observed["near_duplicate_fraction"] == pytest.approx(near / 200)
    assert re.match(
        rf"0 of 200 val rows \(0%\) also appear in the training split, {near} more nearly",
        outcome.message,
    )
    assert outcome.observed["near_duplicate_fraction_by_chance"] < 1e-3
    examples = outcome.evidence["shared_rows"]
    assert {e["match"] for e in examples} == {"near"}
    # each near copy names the train row it was made from, and both labels
    original = dict(zip(planted.tolist(), source.tolist(), strict=True))
    assert [e["train_row"] for e in examples] == [original[e["val_row"]] for e in examples]
    assert [e["val_label"] for e in examples] == [str(y_val[e["val_row"]]) for e in examples]
    assert [e["train_label"] for e in examples] == [str(y_train[e["train_row"]]) for e in examples]


def test_independent_splits_share_no_rows(default_rules: RuleSet) -> None:
    ev = with_rows({"train": normal_rows(400, seed=30), "val": normal_rows(200, seed=31)}, "abc")
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.status == "passed"
    assert outcome.message == (
        "0 of 200 val rows appear in the training split and 0 nearly; limits 1% and 5% above "
        "chance."
    )
    assert outcome.evidence == {}


def test_duplicates_below_the_limit_pass_with_evidence(default_rules: RuleSet) -> None:
    x_train, y_train = normal_rows(400, seed=32)
    x_val, y_val = normal_rows(200, seed=33)
    x_val[7], y_val[7] = x_train[3], y_train[3]  # 0.5% < 1%
    ev = with_rows({"train": (x_train, y_train), "val": (x_val, y_val)}, "abc")
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.status == "passed"
    assert outcome.message.startswith("1 of 200 val rows appear in the training split and 0 nearly")
    assert outcome.evidence["shared_rows"] == [
        {
            "val_row": 7,
            "train_row": 3,
            "match": "exact",
            "val_label": str(y_val[7]),
            "train_label": str(y_train[3]),
        }
    ]


def allowance(chance: float, n: int) -> float:
    """LK01's allowance for sampling noise, from its definition rather than the library's code.

    2.58 binomial standard errors of the chance share on N rows, the variance taken as at least
    1 / N: where chance is nil, that is 2.58 rows.
    """
    return 2.58 * math.sqrt(max(chance * (1 - chance), 1 / n) / n)


@pytest.mark.parametrize(("rows", "fewest"), [(50, 4), (200, 5), (1_000, 13)])
def test_continuous_copies_fail_one_row_beyond_the_limit_and_the_noise(
    rows: int, fewest: int
) -> None:
    # Three continuous features: chance is nil, so k copies among ROWS val rows fail when
    # k / ROWS > 1% + 2.58 / ROWS, that is k > 2.58 + ROWS / 100: 4 of 50, 5 of 200, 13 of 1,000.
    # One copy fewer passes.
    assert fewest == math.floor(2.58 + rows / 100) + 1
    params = params_for("leakage_duplicates")
    below = KINDS["leakage_duplicates"].fn(copied_rows(fewest - 1, rows=rows), params)
    at = KINDS["leakage_duplicates"].fn(copied_rows(fewest, rows=rows), params)
    assert below.status == "passed", below.message
    assert below.message == (
        f"{fewest - 1} of {rows:,} val rows appear in the training split and 0 nearly; limits 1% "
        "and 5% above chance."
    )
    assert at.status == "failed", at.message
    assert at.observed["shared_rows"] == fewest
    assert at.observed["shared_fraction_by_chance"] < 1e-5
    assert fewest / rows - allowance(0.0, rows) > 0.01 >= (fewest - 1) / rows - allowance(0.0, rows)


def test_two_percent_of_continuous_rows_copied_fail(default_rules: RuleSet) -> None:
    # 20 of 1,000 val rows: 2% - 0.258% noise = 1.74% above chance, over the 1% limit.
    outcome = judge(default_rules, "LK01", copied_rows(20, rows=1_000))
    assert outcome.status == "failed", outcome.message
    assert outcome.message.startswith(
        "20 of 1,000 val rows (2%) also appear in the training split: the model is scored on rows "
        "it was trained on"
    )
    assert allowance(0.0, 1_000) == pytest.approx(0.00258)


def discrete_rows(
    n: int, seed: int, levels: int, features: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """N rows of independent whole numbers 0 .. LEVELS - 1 (booleans for 2) and random labels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, levels, (n, features)), rng.integers(0, 2, n)


def copy_into(
    val: tuple[np.ndarray, np.ndarray], train: tuple[np.ndarray, np.ndarray], share: float
) -> tuple[np.ndarray, np.ndarray]:
    """VAL with every (1 / SHARE)-th row replaced by a random train row, label included."""
    x, y = val[0].copy(), val[1].copy()
    copied = np.arange(0, len(y), round(1 / share))
    source = np.random.default_rng(39).choice(len(train[1]), size=len(copied), replace=False)
    x[copied], y[copied] = train[0][source], train[1][source]
    return x, y


def repeated_share(x: np.ndarray) -> float:
    """Share of the rows of X equal to another row of X (compared whole, without hashes)."""
    _, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse.ravel()] > 1))


def shared_count(train_x: np.ndarray, val_x: np.ndarray) -> int:
    """Rows of VAL_X equal to some row of TRAIN_X, at the reader's float32 precision, as tuples."""
    seen = {tuple(row) for row in np.asarray(train_x, np.float32).tolist()}
    return sum(tuple(row) in seen for row in np.asarray(val_x, np.float32).tolist())


def normal_grid_chance(step: np.ndarray, n_train: int) -> float:
    """Chance that a row of independent standard normal features falls in a grid cell (widths
    STEP) holding at least one of N_TRAIN such rows: the sum over cells of p (1 - (1 - p)^n)."""
    p = np.ones(1)
    for s in step:
        edges = np.arange(np.floor(-8 / s), np.ceil(8 / s) + 1) * s
        p = np.outer(p, np.diff(scipy.stats.norm.cdf(edges))).ravel()
    return float(np.sum(p * -np.expm1(n_train * np.log1p(-p))))


def test_near_duplicates_by_chance_do_not_fail_low_dimensional_data(default_rules: RuleSet) -> None:
    # Two continuous features and 10,000 training rows: 7.5% of independently drawn val rows share
    # a 0.01-std grid cell with some training row. By hand, with n s^2 = 1,
    # E[phi(x)] = 1/(2 sqrt pi) and E[phi(x)^2] = 1/(2 pi sqrt 3):
    # E[1 - exp(-phi(x1) phi(x2))] ~ 1/(4 pi) - 1/(24 pi^2) = 7.54%.
    ev = with_rows(
        {
            "train": normal_rows(10_000, seed=34, features=2),
            "val": normal_rows(2_000, seed=35, features=2),
        },
        "ab",
        batch_rows=65_536,
    )
    exact = normal_grid_chance(ev.rows["train"].near_scale, 10_000)
    assert exact == pytest.approx(1 / (4 * np.pi) - 1 / (24 * np.pi**2), abs=0.001)
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.status == "passed", outcome.message
    near, chance = (
        outcome.observed["near_duplicate_fraction"],
        outcome.observed["near_duplicate_fraction_by_chance"],
    )
    assert near > 0.05  # over the 5% limit on its own...
    assert chance == pytest.approx(exact, abs=0.003)  # ...but chance explains it
    assert abs(near - chance) < allowance(chance, 2_000)
    assert outcome.observed["shared_rows"] == 0
    assert outcome.observed["shared_fraction_by_chance"] == 0.0
    assert outcome.message == (
        f"0 of 2,000 val rows appear in the training split and {round(near * 2000)} nearly; chance "
        f"alone explains {100 * chance:.1f}%; limits 1% and 5% above chance."
    )


def test_exact_matches_by_chance_do_not_fail_boolean_data(default_rules: RuleSet) -> None:
    # Five random booleans have 32 possible rows, and 10,000 training rows hold them all: every val
    # row matches a training row, as chance predicts (and every training row repeats another).
    train = discrete_rows(10_000, seed=36, levels=2)
    assert repeated_share(train[0]) == 1.0
    ev = with_rows({"train": train, "val": discrete_rows(2_000, seed=37, levels=2)}, "abcde")
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.status == "passed", outcome.message
    assert outcome.observed["shared_fraction"] == 1.0
    assert outcome.observed["shared_fraction_by_chance"] == 1.0
    assert outcome.observed["near_duplicate_rows"] == 0
    assert outcome.message == (
        "2,000 of 2,000 val rows appear in the training split and 0 nearly; chance alone explains "
        "100%; limits 1% and 5% above chance."
    )
    # The price: copies are indistinguishable from chance when chance already matches every row,
    # so 5% of val copied from train passes too. No check on the features alone can tell them
    # apart; test_copies_in_discrete_data_fail_beyond_chance has room to see them.
    copied = with_rows(
        {"train": train, "val": copy_into(discrete_rows(2_000, 37, 2), train, 0.05)}, "abcde"
    )
    assert judge(default_rules, "LK01", copied).status == "passed"


def test_copies_in_discrete_data_fail_beyond_chance(default_rules: RuleSet) -> None:
    # Five whole numbers 0..9: 100,000 possible rows, so 1 - (1 - 10^-5)^10,000 = 9.52% of
    # independent val rows match one of 10,000 training rows by chance, give or take
    # 2.58 x sqrt(9.52% x 90.48% / 2,000) = 1.69 points on 2,000 val rows; copies stand out above.
    chance = 1 - (1 - 1e-5) ** 10_000
    assert chance == pytest.approx(0.0952, abs=5e-5)
    assert allowance(chance, 2_000) == pytest.approx(0.0169, abs=5e-5)
    train = discrete_rows(10_000, seed=36, levels=10)
    val = discrete_rows(2_000, seed=37, levels=10)
    clean = judge(default_rules, "LK01", with_rows({"train": train, "val": val}, "abcde"))
    assert clean.status == "passed", clean.message
    assert clean.observed["shared_rows"] == shared_count(train[0], val[0]) == 195
    assert clean.observed["shared_fraction_by_chance"] == pytest.approx(chance, abs=0.002)
    assert clean.message == (
        "195 of 2,000 val rows appear in the training split and 0 nearly; chance alone explains "
        "9.5%; limits 1% and 5% above chance."
    )
    copied = copy_into(val, train, 0.05)
    ev = with_rows({"train": train, "val": copied}, "abcde")
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.status == "failed"
    # the 100 copies, plus about 9.5% of the 1,900 other rows by chance (181 expected, 178 here)
    assert outcome.observed["shared_rows"] == shared_count(train[0], copied[0]) == 278
    found = outcome.observed["shared_fraction_by_chance"]
    assert found == pytest.approx(chance, abs=0.002)
    assert 278 / 2_000 - found - allowance(found, 2_000) > 0.02  # 13.9% - 9.5% - 1.7%: clear
    assert outcome.message.startswith(
        "278 of 2,000 val rows (13.9%) also appear in the training split; chance alone explains "
        "9.5%: the model is scored on rows it was trained on"
    )


def one_hot(
    n: int, seed: int, categories: int = 3, levels: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """CATEGORIES independent categorical features of LEVELS values each, one-hot encoded."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, (n, categories))
    return np.concatenate([np.eye(levels)[codes[:, j]] for j in range(categories)], axis=1), (
        rng.integers(0, 2, n)
    )


def test_one_continuous_feature_of_clean_data_passes() -> None:
    # One feature on a grid of 0.0098 (the 1,000 training rows' std, 0.977, x 0.01): a cell near
    # the mean holds 1,000 x 0.0098 x 0.4 = 3.9 training rows, and 87.4% of independent val rows
    # land in an occupied cell (summed over the cells). The independence estimate (1 - (1 - c/n)^n
    # for a cell holding c sampled rows: 0.63 for c = 1) says less; the share of training rows
    # that share a cell with another training row is about right, and is taken.
    rng = np.random.default_rng(0)
    ev = with_rows(
        {
            "train": (rng.normal(size=(1_000, 1)), rng.integers(0, 2, 1_000)),
            "val": (rng.normal(size=(1_000, 1)), rng.integers(0, 2, 1_000)),
        },
        "a",
    )
    exact = normal_grid_chance(ev.rows["train"].near_scale, 1_000)
    assert exact == pytest.approx(0.874, abs=0.001)
    outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
    assert outcome.status == "passed", outcome.message
    assert outcome.observed["shared_rows"] == 0
    near = outcome.observed["near_duplicate_fraction"]
    chance = outcome.observed["near_duplicate_fraction_by_chance"]
    assert near == pytest.approx(exact, abs=3 * math.sqrt(exact * (1 - exact) / 1_000))
    assert chance == pytest.approx(exact, abs=0.015)
    assert outcome.message == (
        f"0 of 1,000 val rows appear in the training split and {round(near * 1_000)} nearly; "
        f"chance alone explains {100 * chance:.1f}%; limits 1% and 5% above chance."
    )


def ages_and_flags(seed: int) -> Evaluation:
    """Train 1,000 and val 2,000 rows of an age 18..80 and two booleans: 252 equally likely rows."""
    rng = np.random.default_rng(seed)

    def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.column_stack([rng.integers(18, 81, n), rng.integers(0, 2, (n, 2))])
        return x, rng.integers(0, 2, n)

    return with_rows({"train": rows(1_000), "val": rows(2_000)}, ("age", "b", "c"))


def test_small_whole_numbers_and_booleans_of_clean_data_pass() -> None:
    # 252 equally likely rows: 1 - (1 - 1/252)^1,000 = 98.1% of val rows match one of 1,000
    # training rows by chance. Independence estimates 97.3% here (biased low, by Jensen: it failed
    # LK01 for 25 of 40 seeds), and 99.2% matched; the share of training rows that repeat another
    # training row says 98.0%, and the noise allowance on 2,000 rows is 0.81 points.
    assert 1 - (1 - 1 / 252) ** 1_000 == pytest.approx(0.9812, abs=5e-5)
    assert allowance(0.98, 2_000) == pytest.approx(0.0081, abs=5e-5)
    ev = ages_and_flags(2)
    train = ev.rows["train"].sample_x  # the whole split: 1,000 rows
    outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
    assert outcome.status == "passed", outcome.message
    assert repeated_share(train) == outcome.observed["shared_fraction_by_chance"] == 0.98
    assert outcome.observed["shared_rows"] == shared_count(train, ev.rows["val"].sample_x)
    assert outcome.message == (
        "1,984 of 2,000 val rows appear in the training split and 0 nearly; chance alone explains "
        "98%; limits 1% and 5% above chance."
    )
    assert 1_984 / 2_000 - 0.98 > 0.01  # over the limit, but not over limit and noise
    assert 1_984 / 2_000 - 0.98 - allowance(0.98, 2_000) < 0.01


@pytest.mark.xfail(
    strict=True,
    reason="leakage_duplicates' allowance covers the val split's sampling noise but not the error "
    "of the chance estimate itself, which is as large as the 1% limit when a training split of "
    "1,000 rows covers 252 possible rows: it cannot tell this training split's coverage (251 of "
    "252 rows, 99.6%) from the average (98.1%), and clean data fails LK01 for 6 of 200 seeds",
)
def test_small_whole_numbers_and_booleans_of_clean_data_pass_whatever_the_seed() -> None:
    # Seed 17: the training rows cover 251 of the 252 possible rows, and 1,995 of 2,000 val rows
    # (99.75%) match; chance is estimated at 97.6% (the true 98.1%, or rather this split's 99.6%).
    ev = ages_and_flags(17)
    train, val = ev.rows["train"].sample_x, ev.rows["val"].sample_x
    assert len({tuple(row) for row in train.tolist()}) == 251
    outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
    assert outcome.observed["shared_rows"] == shared_count(train, val) == 1_995
    assert outcome.observed["shared_fraction_by_chance"] == pytest.approx(0.976)
    assert outcome.status == "passed", outcome.message


def test_one_hot_categories_of_clean_data_pass() -> None:
    # Three 5-level categories: 125 possible rows, so 1 - (1 - 1/125)^1,000 = 99.97% of val rows
    # match one of 1,000 training rows by chance. Independent columns would say 42% (a row's 15
    # columns are 0.2^3 x 0.8^12 likely); every training row repeats another, so chance is 100%.
    assert 1 - (1 - 1 / 125) ** 1_000 == pytest.approx(0.99968, abs=5e-6)
    train, val = one_hot(1_000, 1), one_hot(1_000, 2)
    ev = with_rows({"train": train, "val": val}, [f"f{i}" for i in range(15)])
    outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
    assert outcome.status == "passed", outcome.message
    assert repeated_share(train[0]) == 1.0
    assert outcome.observed["shared_fraction_by_chance"] == 1.0
    assert outcome.observed["shared_rows"] == shared_count(train[0], val[0]) == 1_000
    assert outcome.message == (
        "1,000 of 1,000 val rows appear in the training split and 0 nearly; chance alone explains "
        "100%; limits 1% and 5% above chance."
    )


def test_discrete_data_within_sampling_noise_of_chance_passes() -> None:
    # 9.5% of rows match by chance (see test_copies_in_discrete_data_fail_beyond_chance); on 500
    # val rows the share wanders by 2.58 x sqrt(9.5% x 90.5% / 500) = 3.4 points. Val seed 7 holds
    # 61 matches (12.2%), 1.8 points above the estimated chance: over the 1% limit on its own, well
    # within the noise. Other seeds pass too (without the allowance, 1 in 5 failed).
    train = discrete_rows(10_000, 0, levels=10)
    assert allowance(0.095, 500) == pytest.approx(0.0338, abs=5e-5)
    for seed in range(7, 27):
        val = discrete_rows(500, seed, levels=10)
        ev = with_rows({"train": train, "val": val}, "abcde", batch_rows=65_536)
        outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
        assert outcome.status == "passed", (seed, outcome.message)
        shared, chance = (
            outcome.observed["shared_rows"],
            outcome.observed["shared_fraction_by_chance"],
        )
        assert shared == shared_count(train[0], val[0])
        assert chance == pytest.approx(0.0952, abs=0.01)
        if seed == 7:
            assert shared == 61
            assert 0.01 < shared / 500 - chance < allowance(chance, 500)


@pytest.mark.xfail(
    strict=True,
    reason="leakage_duplicates counts a copied row's own source as a chance match: with one "
    "continuous feature each copy is 'explained' 63% (1 - (1 - 1/n)^n), so 2% of val copied "
    "from train (twice LK01's limit, caught with three features: "
    "test_two_percent_of_continuous_rows_copied_fail) passes at a 'chance' of 1.26%",
)
def test_copies_of_a_single_continuous_feature_fail() -> None:
    rng = np.random.default_rng(6)
    x_train, x_val = rng.normal(size=(5_000, 1)), rng.normal(size=(1_000, 1))
    x_val[:20] = x_train[:20]
    ev = with_rows(
        {"train": (x_train, rng.integers(0, 2, 5_000)), "val": (x_val, rng.integers(0, 2, 1_000))},
        "a",
        batch_rows=65_536,
    )
    outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
    assert outcome.observed["shared_rows"] == 20
    assert outcome.status == "failed", outcome.message


@pytest.mark.xfail(
    strict=True,
    reason="leakage_duplicates takes the share of training rows that repeat another training row "
    "as the chance level of discrete data, so a training split with repeated records (random "
    "oversampling, or every row twice) excuses any number of copies: 20% of val copied passes "
    "at a 'chance' of 100%",
)
def test_copies_are_not_excused_by_rows_repeated_within_train() -> None:
    # The 5-integer data of test_copies_in_discrete_data_fail_beyond_chance, 5,000 training rows
    # each given twice: a val row still matches by chance 1 - (1 - 10^-5)^5,000 = 4.9% of the time.
    assert 1 - (1 - 1e-5) ** 5_000 == pytest.approx(0.0488, abs=5e-5)
    x, y = discrete_rows(5_000, 36, levels=10)
    train = (np.concatenate([x, x]), np.concatenate([y, y]))
    val = copy_into(discrete_rows(2_000, 37, levels=10), train, 0.2)
    ev = with_rows({"train": train, "val": val}, "abcde")
    outcome = KINDS["leakage_duplicates"].fn(ev, params_for("leakage_duplicates"))
    assert outcome.observed["shared_rows"] == shared_count(train[0], val[0]) == 474
    assert outcome.status == "failed", outcome.message


def test_a_copy_counts_and_shows_the_train_row_with_its_label(default_rules: RuleSet) -> None:
    # Train holds row 5 twice, labelled 0 then 1; a val copy labelled 1 matches the second.
    x_train, y_train = normal_rows(200, seed=60)
    x_train[6], y_train[5], y_train[6] = x_train[5], 0, 1
    x_val, y_val = normal_rows(100, seed=61)
    x_val[3], y_val[3] = x_train[5], 1
    ev = with_rows({"train": (x_train, y_train), "val": (x_val, y_val)}, "abc")
    outcome = judge(default_rules, "LK01", ev)
    assert outcome.observed["shared_rows"] == 1
    assert outcome.observed["shared_rows_same_label"] == 1
    assert outcome.evidence["shared_rows"] == [
        {"val_row": 3, "train_row": 6, "match": "exact", "val_label": "1", "train_label": "1"}
    ]


# ---- duplicate_rows ------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [1 << 20, 2, 7], ids=["one pass", "step 2", "step 7"])
def test_duplicate_rows_within_a_split_and_conflicting_labels(
    default_rules: RuleSet, step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sorted keys are walked in steps that overlap by one: small steps put groups of
    # identical rows across step boundaries.
    monkeypatch.setattr(facts_buckets, "CHUNK_ROWS", step)
    x, y = normal_rows(100, seed=40)
    y[:] = np.arange(100) % 2
    x[90:100] = x[0:10]  # ten duplicates with the same label (0 and 90 are both even, ...)
    y[90:100] = y[0:10]
    x[50], x[51] = x[20], x[20]  # a group of three...
    y[50], y[51] = 1, y[20]  # ...with labels 0, 1, 0: conflicting
    x[60], y[60] = x[21], 0  # row 21 has label 1: conflicting
    ev = with_rows({"train": (x, y)}, "abc")
    outcome = judge(default_rules, "LK02", ev)
    assert default_rules.get("LK02").category == "leakage_duplicates"  # type: ignore[union-attr]
    assert outcome.status == "failed"
    assert outcome.observed == {
        "duplicate_rows": 13,
        "duplicate_fraction": 0.13,
        "conflicting_label_rows": 5,
        "conflicting_label_groups": 2,
    }
    assert outcome.message.startswith(
        "13 of 100 train rows (13%) duplicate another row; 5 rows in 2 group(s) of identical "
        "features carry different labels (label noise the model cannot learn): "
    )
    evidence = sorted(outcome.evidence["conflicting_labels"], key=lambda e: e["row"])
    assert evidence == [
        {"row": 20, "copies": 3, "labels": "0, 1"},
        {"row": 21, "copies": 2, "labels": "0, 1"},
    ]


def test_duplicate_rows_a_single_conflict_fails_below_the_limit(default_rules: RuleSet) -> None:
    x, y = normal_rows(100, seed=41, k=3)
    x[99], y[99] = x[0], (y[0] + 1) % 3
    ev = with_rows({"train": (x, y)}, "abc", ANIMALS)
    outcome = judge(default_rules, "LK02", ev)
    assert outcome.status == "failed"
    assert outcome.observed["duplicate_fraction"] == pytest.approx(0.01)  # under the 5% limit
    labels = sorted([ANIMALS[y[0]], ANIMALS[y[99]]], key=ANIMALS.index)
    assert outcome.evidence["conflicting_labels"] == [
        {"row": 0, "copies": 2, "labels": ", ".join(labels)}
    ]


def test_duplicate_rows_few_consistent_duplicates_pass(default_rules: RuleSet) -> None:
    x, y = normal_rows(100, seed=42)
    x[98:100], y[98:100] = x[0:2], y[0:2]
    outcome = judge(default_rules, "LK02", with_rows({"train": (x, y)}, "abc"))
    assert outcome.status == "passed"
    assert outcome.message == (
        "2 of 100 train rows duplicate another row (limit 5%); no identical rows carry different "
        "labels."
    )


# ---- leakage_target_proxy ------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3], ids=["binary", "multiclass"])
def test_target_proxy_is_named(k: int, default_rules: RuleSet) -> None:
    classes = BINARY if k == 2 else ANIMALS
    ev = with_rows(
        {"train": proxy_rows(600, 50, k), "val": proxy_rows(600, 51, k)},
        ("a", "b", "leak"),
        classes,
    )
    outcome = judge(default_rules, "LK03", ev)
    assert default_rules.get("LK03").category == "leakage_target_proxy"  # type: ignore[union-attr]
    assert outcome.status == "failed"
    assert outcome.message.startswith("Feature 'leak' alone predicts class ")
    assert [s["feature"] for s in outcome.observed["suspects"]] == ["leak"]
    suspect = outcome.observed["suspects"][0]
    assert suspect["class"] in classes
    assert suspect["score"] >= 0.95 and suspect["rest_score"] < 0.6
    assert outcome.evidence["single_feature_scores"][0]["feature"] == "leak"
    assert {f["feature"] for f in outcome.evidence["single_feature_scores"]} == {"a", "b", "leak"}


def test_boolean_copy_of_the_label_is_a_proxy(default_rules: RuleSet) -> None:
    x, y = normal_rows(300, seed=52, features=2)
    x = np.column_stack([x, y == 1])  # a boolean column
    ev = with_rows({"train": (x, y), "val": (x, y)}, ("a", "b", "approved"))
    outcome = judge(default_rules, "LK03", ev)
    assert outcome.status == "failed"
    assert outcome.message.startswith(
        "Feature 'approved' alone predicts class '1' on val with ROC AUC 1.00;"
    )


def test_strong_feature_that_is_not_alone_passes(default_rules: RuleSet) -> None:
    ev = with_rows({"train": two_views(600, 53), "val": two_views(600, 54)}, "abc")
    outcome = judge(default_rules, "LK03", ev)
    assert outcome.status == "passed"
    top = outcome.observed["top_features"]
    # It passes on the margin, not because the feature is weak.
    assert top[0]["feature"] in ("a", "b") and top[0]["score"] >= 0.95
    assert outcome.message.startswith(
        "No single feature predicts the label on val with ROC AUC of 0.95 or more while beating "
        f"the other features by 0.05 (strongest: '{top[0]['feature']}' at "
    )


def test_strong_feature_that_is_not_alone_is_not_judged_on_a_rare_class(
    default_rules: RuleSet,
) -> None:
    # Two positives cannot score the other features (nor a single one) reliably: rather than
    # call 'a' and 'b' proxies "alone", the check steps aside. A binary model is scored on class
    # '1' against the rest, so both need 10 rows; here no class qualifies.
    ev = with_rows({"train": two_views(600, 53), "val": two_views(300, 56, positives=2)}, "abc")
    outcome = judge(default_rules, "LK03", ev)
    assert (outcome.status, outcome.message) == (
        "not_applicable",
        "Not applicable: no class has 10 or more rows (and as many others) in the val sample.",
    )


def test_binary_target_proxy_needs_ten_rows_of_each_class(default_rules: RuleSet) -> None:
    # 10 positives (and 290 negatives) are enough to judge; 9 are not.
    for positives, judged in ((10, True), (9, False)):
        ev = with_rows({"val": two_views(300, 56, positives=positives)}, "abc")
        status = judge(default_rules, "LK03", ev).status
        assert (status != "not_applicable") == judged, (positives, status)


def rare_class_proxy(counts: Sequence[int], seed: int = 90) -> Evaluation:
    """A val split of COUNTS rows of 'cat', 'dog', 'fox' (shuffled): a and b are noise, `leak` is
    the class number plus normal noise of 0.1 (classes 1 apart: 5 standard deviations to a bin
    boundary halfway)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    n = len(y)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=n), y + rng.normal(scale=0.1, size=n)])
    return with_rows({"val": (x, y)}, ("a", "b", "leak"), ANIMALS)


@pytest.mark.parametrize("counts", [(298, 297, 5), (295, 296, 9), (290, 300, 10)])
def test_multiclass_proxy_is_caught_beside_a_rare_class(
    counts: tuple[int, int, int], default_rules: RuleSet
) -> None:
    # A 'fox' class of 5 or 9 rows is left out of the scoring (one of 10 rows is scored); 'cat'
    # and 'dog' still give the leak away. (Before, one class under 10 rows made the whole check
    # not applicable.)
    ev = rare_class_proxy(counts)
    assert np.bincount(ev.rows["val"].sample_y).tolist() == list(counts)
    outcome = judge(default_rules, "LK03", ev)
    assert outcome.status == "failed", outcome.message
    assert [s["feature"] for s in outcome.observed["suspects"]] == ["leak"]
    suspect = outcome.observed["suspects"][0]
    assert suspect["class"] in ("cat", "dog")
    assert suspect["score"] >= 0.99 and suspect["rest_score"] < 0.6
    assert outcome.message.startswith(
        f"Feature 'leak' alone predicts class '{suspect['class']}' on val with ROC AUC "
    )
    # By hand: the leak orders the rows of every class perfectly (no noise reaches 0.5 here).
    x, y = ev.rows["val"].sample_x, ev.rows["val"].sample_y
    assert np.all(np.abs(x[:, 2] - y) < 0.5)


def test_clean_multiclass_data_beside_a_rare_class_passes(default_rules: RuleSet) -> None:
    rng = np.random.default_rng(91)
    y = rng.permutation(np.repeat([0, 1, 2], [298, 297, 5]))
    ev = with_rows({"val": (rng.normal(size=(600, 3)), y)}, "abc", ANIMALS)
    outcome = judge(default_rules, "LK03", ev)
    assert outcome.status == "passed", outcome.message
    assert outcome.observed["suspects"] == []
    assert all(f["score"] < 0.7 for f in outcome.observed["top_features"])


def test_multiclass_target_proxy_without_a_class_of_ten_rows_and_ten_others_is_not_applicable(
    default_rules: RuleSet,
) -> None:
    # 48 'cat' rows but only 2 others; 'dog' and 'fox' have 1 row each: no class can be scored.
    outcome = judge(default_rules, "LK03", rare_class_proxy((48, 1, 1)))
    assert (outcome.status, outcome.message) == (
        "not_applicable",
        "Not applicable: no class has 10 or more rows (and as many others) in the val sample.",
    )


def test_a_candidate_whose_rest_cannot_be_scored_is_not_a_suspect(
    default_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a score for the other features there is no margin to judge: no suspect.
    monkeypatch.setattr(facts_data, "rest_score", lambda *args, **kwargs: None)
    outcome = judge(default_rules, "LK03", label_copy())
    assert outcome.status == "passed", outcome.message
    assert outcome.observed["suspects"] == []
    assert outcome.observed["top_features"][0] == {"feature": "leak", "score": 1.0}


# ---- leakage_identifier --------------------------------------------------------------------------


def identifier_rows(name: str, n: int = 500) -> Evaluation:
    """A train split with a column NAME, the first feature, as described by `name`'s case."""
    rng = np.random.default_rng(60)
    y = rng.integers(0, 2, n)
    if name == "id":  # the file is sorted by label and numbered
        y = np.sort(y)
        column = np.arange(n)
    elif name == "customer_id":
        column = rng.choice(1_000_000, size=n, replace=False)
    else:  # age
        column = rng.integers(18, 80, n)
    x = np.column_stack([column, rng.normal(size=n), rng.normal(size=n)])
    return with_rows({"train": (x, y)}, (name, "b", "c"))


def test_identifier_sorted_by_label_fails_both_rules(default_rules: RuleSet) -> None:
    ev = identifier_rows("id")
    for rule_id in ("LK04", "LK05"):
        assert default_rules.get(rule_id).category == "leakage_identifier"  # type: ignore[union-attr]
        outcome = judge(default_rules, rule_id, ev)
        assert outcome.status == "failed", rule_id
        assert outcome.message.startswith(
            "Feature 'id' looks like a row identifier (named like an identifier; 100% unique, "
            "nearly consecutive whole numbers; never decreases in file order) and predicts the "
            "label (ROC AUC "
        )
        (found,) = outcome.evidence["identifier_columns"]
        assert found["feature"] == "id" and found["predictive"] and found["score"] > 0.95


def test_random_customer_id_is_an_identifier_but_not_predictive(default_rules: RuleSet) -> None:
    # 500 distinct numbers drawn from a million are unique but far from consecutive: the name
    # alone marks the column.
    ev = identifier_rows("customer_id")
    lk04 = judge(default_rules, "LK04", ev)
    assert lk04.status == "failed"
    assert lk04.message.startswith(
        "Feature 'customer_id' looks like a row identifier (named like an identifier): "
    )
    (found,) = lk04.observed["identifier_columns"]
    assert not found["predictive"] and found["score"] < 0.7
    lk05 = judge(default_rules, "LK05", ev)
    assert (lk05.status, lk05.message) == ("passed", "No model input is a predictive identifier.")


def test_age_with_few_whole_values_is_not_an_identifier(default_rules: RuleSet) -> None:
    ev = identifier_rows("age")
    for rule_id in ("LK04", "LK05"):
        outcome = judge(default_rules, rule_id, ev)
        assert outcome.status == "passed", (rule_id, outcome.message)
        assert outcome.observed["identifier_columns"] == []


@pytest.mark.parametrize("name", ["region_id", "store_key", "segmentIndex"])
def test_a_low_cardinality_code_named_like_an_identifier_is_not_one(
    default_rules: RuleSet, name: str
) -> None:
    # Five region codes over 500 rows, and predictive: a category the model may use, not an id.
    rng = np.random.default_rng(62)
    code = rng.integers(1, 6, 500)
    y = (code + rng.normal(scale=0.8, size=500) > 3).astype(np.int64)
    ev = with_rows({"train": (np.column_stack([code, rng.normal(size=500)]), y)}, (name, "b"))
    for rule_id in ("LK04", "LK05"):
        outcome = judge(default_rules, rule_id, ev)
        assert outcome.status == "passed", (rule_id, outcome.message)
        assert outcome.observed["identifier_columns"] == []


def test_an_identifier_with_repeats_is_still_one(default_rules: RuleSet) -> None:
    # 100 customers with five rows each: repeated, but far more values than a code has.
    rng = np.random.default_rng(63)
    customer = np.repeat(rng.choice(1_000_000, size=100, replace=False), 5)
    y = rng.integers(0, 2, 500)
    ev = with_rows(
        {"train": (np.column_stack([customer, rng.normal(size=500)]), y)}, ("customer_id", "b")
    )
    assert judge(default_rules, "LK04", ev).status == "failed"


def test_predictive_whole_number_measurement_is_not_an_identifier(default_rules: RuleSet) -> None:
    # An income in whole dollars: 500 distinct values, but spread over 180,000 of them.
    rng = np.random.default_rng(61)
    income = rng.integers(20_000, 200_000, 500)
    y = (income + rng.normal(scale=30_000, size=500) > 110_000).astype(np.int64)
    ev = with_rows({"train": (np.column_stack([income, rng.normal(size=500)]), y)}, ("income", "b"))
    for rule_id in ("LK04", "LK05"):
        outcome = judge(default_rules, rule_id, ev)
        assert outcome.status == "passed", (rule_id, outcome.message)
        assert outcome.observed["identifier_columns"] == []


@pytest.mark.parametrize(
    ("step", "flagged"),
    [(1, True), (2, True), (3, False)],
    ids=["consecutive", "every-2nd", "every-3rd"],
)
def test_unique_whole_numbers_are_an_identifier_when_nearly_consecutive(
    step: int, flagged: bool, default_rules: RuleSet
) -> None:
    # Shuffled row numbers under a plain name: 500 of every STEP-th number fill 1 / STEP of their
    # range; half or more counts as nearly consecutive.
    rng = np.random.default_rng(62)
    column = rng.permutation(np.arange(1_000, 1_000 + 500 * step, step))
    x = np.column_stack([column, rng.normal(size=500)])
    ev = with_rows({"train": (x, rng.integers(0, 2, 500))}, ("n", "b"))
    outcome = judge(default_rules, "LK04", ev)
    if flagged:
        assert outcome.status == "failed"
        assert outcome.message.startswith(
            "Feature 'n' looks like a row identifier (100% unique, nearly consecutive whole "
            "numbers): "
        )
    else:
        assert outcome.status == "passed", outcome.message


# ---- split_drift ---------------------------------------------------------------------------------


def drift_rows(
    n: int, seed: int, shift: float = 0.0, positive_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=n) + shift, rng.integers(0, 5, n)])
    return x, (rng.random(n) < positive_share).astype(np.int64)


def test_shifted_feature_drifts(default_rules: RuleSet) -> None:
    ev = with_rows(
        {"train": drift_rows(1000, 70), "val": drift_rows(1000, 71, shift=2.0)},
        ("a", "income", "c"),
    )
    outcome = judge(default_rules, "DR01", ev)
    assert default_rules.get("DR01").category == "split_drift"  # type: ignore[union-attr]
    assert outcome.status == "failed"
    assert outcome.observed["drifted_features"] == ["income"]
    assert re.match(
        r"Train and val differ: 1 feature\(s\) are distributed differently: "
        r"'income' \(PSI [\d.]+\)\. ",
        outcome.message,
    )
    most = outcome.evidence["most_drifted_features"][0]
    assert most["feature"] == "income" and most["psi"] > 1 and most["ks_pvalue"] < 1e-6


def test_same_population_does_not_drift(default_rules: RuleSet) -> None:
    ev = with_rows(
        {"train": drift_rows(1000, 70), "val": drift_rows(1000, 71)}, ("a", "income", "c")
    )
    outcome = judge(default_rules, "DR01", ev)
    assert outcome.status == "passed", outcome.message
    assert outcome.observed["drifted_features"] == []
    assert outcome.observed["max_psi"] < 0.05
    assert outcome.message.startswith(
        "Train and val have similar feature distributions (largest PSI "
    )


def test_class_prior_shift_drifts(default_rules: RuleSet) -> None:
    ev = with_rows(
        {"train": drift_rows(1000, 70), "val": drift_rows(1000, 71, positive_share=0.8)},
        ("a", "income", "c"),
    )
    outcome = judge(default_rules, "DR01", ev)
    assert outcome.status == "failed"
    assert outcome.observed["drifted_features"] == []
    shift = outcome.observed["class_prior_shift"]
    assert shift == pytest.approx(0.3, abs=0.05)
    assert outcome.observed["class_prior_pvalue"] < 1e-20
    assert re.match(
        r"Train and val differ: class shares differ by [\d.]+% \(chi-square p [\d.]+e-\d+\)\. ",
        outcome.message,
    )


def test_class_shares_within_sampling_noise_do_not_drift(default_rules: RuleSet) -> None:
    # A 100-row val split drawn at random next to a 900-row train split from a 50/50 population
    # differs by more than 10 points about 6% of the time: 39 of 100 here, 11 points, but
    # chi-square p = 0.047 is no evidence at alpha 0.01.
    x_train, _ = drift_rows(900, 72)
    x_val, _ = drift_rows(100, 73)
    y_train = np.arange(900) % 2
    y_val = (np.arange(100) < 39).astype(np.int64)
    ev = with_rows({"train": (x_train, y_train), "val": (x_val, y_val)}, "abc")
    outcome = judge(default_rules, "DR01", ev)
    assert outcome.status == "passed", outcome.message
    assert outcome.observed["class_prior_shift"] == pytest.approx(0.11)
    assert outcome.observed["class_prior_pvalue"] == pytest.approx(0.0475, abs=0.0005)
    assert outcome.message.endswith("and class shares (shift 11%).")
    # the same 11-point shift on ten times the rows is evidence
    big = with_rows(
        {
            "train": (np.tile(x_train, (10, 1)), np.tile(y_train, 10)),
            "val": (np.tile(x_val, (10, 1)), np.tile(y_val, 10)),
        },
        "abc",
    )
    outcome = judge(default_rules, "DR01", big)
    assert outcome.status == "failed"
    assert "class shares differ by 11% (chi-square p " in outcome.message


def test_split_drift_on_boolean_features_is_quiet(default_rules: RuleSet) -> None:
    x_train = np.column_stack([np.arange(200) % 2, np.linspace(0, 1, 200)])
    x_val = np.column_stack([np.arange(200) < 99, np.linspace(0, 1, 200)])
    y = np.arange(200) % 2
    ev = with_rows({"train": (x_train, y), "val": (x_val, y)}, ("flag", "b"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert judge(default_rules, "DR01", ev).status == "passed"


# ---- suspicious_validation -----------------------------------------------------------------------


def validation(val: SplitEvaluation) -> Evaluation:
    y = np.arange(1000) % 2
    train = scored("train", y, predictions(y, 0.8, wrong=200))  # loss 0.5, accuracy 80%
    return Evaluation(
        model=model_info(),
        classes=BINARY,
        features=("a", "b", "c"),
        splits={"train": train, "val": val},
        architecture=architecture(),
    )


def test_validation_loss_far_below_training_loss_fails(default_rules: RuleSet) -> None:
    y = np.arange(1000) % 2
    ev = validation(scored("val", y, predictions(y, 0.8, wrong=50)))  # loss 0.29, accuracy 95%
    outcome = judge(default_rules, "SV01", ev)
    assert default_rules.get("SV01").category == "suspicious_validation"  # type: ignore[union-attr]
    assert outcome.status == "failed"
    assert outcome.message.startswith(
        "Validation loss 0.292 is 41.6% below training loss 0.500 (31.3% after allowing 0.0515 for "
        "sampling noise): "
    )
    assert outcome.observed["noise_margin"] < 0.1
    assert outcome.observed["relative_margin"] == pytest.approx(0.416, abs=0.001)


def test_validation_loss_below_training_loss_within_noise_passes(default_rules: RuleSet) -> None:
    # 40 rows, 4 wrong: 25% below training loss, but its standard error is large.
    y = np.arange(40) % 2
    ev = validation(scored("val", y, predictions(y, 0.8, wrong=4)))
    outcome = judge(default_rules, "SV01", ev)
    assert outcome.observed["relative_margin"] > 0.2  # over the relative limit...
    assert outcome.observed["noise_margin"] > 0.5 - outcome.observed["val_loss"]  # ...but noise
    assert outcome.status == "passed"
    assert outcome.message == (
        "Validation loss 0.362 is not suspiciously below training loss 0.500 (beyond sampling "
        "noise of 0.177)."
    )


def test_perfect_validation_accuracy_fails(default_rules: RuleSet) -> None:
    y = np.arange(200) % 2
    ev = validation(scored("val", y, predictions(y, 0.62, wrong=0)))  # loss 0.478: not far below
    outcome = judge(default_rules, "SV01", ev)
    assert outcome.status == "failed"
    assert outcome.message.startswith(
        "Validation accuracy is 100% on 200 rows, while a model as accurate as on training (80%) "
        "would score that with chance 3.6e-20: perfect validation is rare without leakage."
    )


def test_perfect_validation_accuracy_of_a_nearly_perfect_model_passes(
    default_rules: RuleSet,
) -> None:
    # 998 of 1,000 training rows right: 114 validation rows all right happens one time in 1.3.
    y = np.arange(1000) % 2
    train = scored("train", y, predictions(y, 0.9, wrong=2))
    val_y = np.arange(114) % 2
    ev = dataclasses.replace(
        validation(scored("val", val_y, predictions(val_y, 0.9, wrong=0))),
        splits={"train": train, "val": scored("val", val_y, predictions(val_y, 0.9, wrong=0))},
    )
    outcome = judge(default_rules, "SV01", ev)
    assert outcome.status == "passed"
    assert outcome.observed["chance_of_perfect_accuracy"] == pytest.approx((999 / 1002) ** 114)
    assert "100% accuracy on 114 rows has chance 0.71 at the training accuracy 99.8%" in (
        outcome.message
    )


@pytest.mark.parametrize("missing", ["train", "val"])
def test_suspicious_validation_without_a_loss_is_not_applicable(missing: str) -> None:
    y = np.arange(100) % 2
    val = scored("val", y, predictions(y, 0.8, wrong=10))
    ev = validation(val)
    split = ev.splits[missing]
    splits = {
        **ev.splits,
        missing: dataclasses.replace(split, metrics={**split.metrics, "loss": None}),
    }
    ev = dataclasses.replace(ev, splits=splits)
    outcome = KINDS["suspicious_validation"].fn(ev, params_for("suspicious_validation"))
    assert (outcome.status, outcome.message) == (
        "not_applicable",
        "Not applicable: needs the loss on the train and val splits.",
    )


def test_suspicious_validation_names_the_test_split() -> None:
    y = np.arange(1000) % 2
    ev = validation(scored("val", y, predictions(y, 0.8, wrong=50)))
    ev = dataclasses.replace(ev, splits={"train": ev.splits["train"], "test": ev.splits["val"]})
    outcome = KINDS["suspicious_validation"].fn(
        ev, params_for("suspicious_validation", split="test")
    )
    assert outcome.status == "failed"
    assert outcome.message.startswith("Test loss 0.292 is 41.6% below training loss 0.500 (31.3% ")
    assert outcome.observed["test_loss"] == pytest.approx(0.2925, abs=1e-4)


# ---- all the rules at once -----------------------------------------------------------------------


def test_default_rules_flag_every_planted_defect(default_rules: RuleSet) -> None:
    """One dataset with every defect: each rule fails with its category and its evidence."""
    rng = np.random.default_rng(80)
    n = 600
    y_train = np.sort(rng.integers(0, 2, n))  # sorted by label, then numbered
    x_train = np.column_stack(
        [np.arange(n), rng.normal(size=n), y_train + rng.normal(scale=0.1, size=n)]
    )
    x_train[500:510], y_train[500:510] = x_train[0:10], 1  # duplicates with other labels
    y_val = rng.integers(0, 2, 300)
    x_val = np.column_stack(
        [
            rng.integers(0, 10**6, 300),
            rng.normal(size=300) + 2,
            y_val + rng.normal(scale=0.1, size=300),
        ]
    )
    x_val[:30], y_val[:30] = x_train[100:130], y_train[100:130]
    ev = with_rows(
        {"train": (x_train, y_train), "val": (x_val, y_val)}, ("row_id", "amount", "refund")
    )
    leakage = RuleSet(
        "leakage", "1", "<test>", tuple(r for r in default_rules.rules if r.id[:2] in ("LK", "DR"))
    )
    results = {r.rule.id: r.to_dict() for r in run_rules(ev, leakage)}
    expected = {
        "LK01": ("leakage_duplicates", "shared_rows"),
        "LK02": ("leakage_duplicates", "conflicting_labels"),
        "LK03": ("leakage_target_proxy", "single_feature_scores"),
        "LK04": ("leakage_identifier", "identifier_columns"),
        "LK05": ("leakage_identifier", "identifier_columns"),
        "DR01": ("split_drift", "most_drifted_features"),
    }
    for rule_id, (category, evidence) in expected.items():
        result = results[rule_id]
        assert (result["status"], result["category"]) == ("failed", category), (
            rule_id,
            result["message"],
        )
        assert result["evidence"][evidence], rule_id
    assert "'refund' alone predicts" in results["LK03"]["message"]
    assert "'row_id'" in results["LK05"]["message"]
    assert set(results["DR01"]["observed"]["drifted_features"]) == {"row_id", "amount"}
    json.dumps(list(results.values()), allow_nan=False)


# ---- numeric corner cases ------------------------------------------------------------------------


def mixed_columns(
    n: int, seed: int, k: int = 2, label: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A constant, a boolean, a small whole number and a normal column."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [np.full(n, 3.0), rng.integers(0, 2, n) == 1, rng.integers(0, 5, n), rng.normal(size=n)]
    )
    y = rng.integers(0, k, n) if label is None else np.full(n, label)
    return x, y


MIXED = ("constant", "flag", "count", "z")
CORNERS: dict[str, Any] = {
    "mixed-columns": lambda: with_rows(
        {"train": mixed_columns(300, 1), "val": mixed_columns(200, 2)}, MIXED
    ),
    "all-constant": lambda: with_rows(
        {
            "train": (np.ones((300, 4)), np.arange(300) % 2),
            "val": (np.ones((200, 4)), np.arange(200) % 2),
        },
        MIXED,
    ),
    "one-class-val": lambda: with_rows(
        {"train": mixed_columns(300, 3), "val": mixed_columns(200, 4, label=1)}, MIXED
    ),
    "one-class-train": lambda: with_rows(
        {"train": mixed_columns(300, 5, label=0), "val": mixed_columns(200, 6)}, MIXED
    ),
    "multiclass-class-missing-from-val": lambda: with_rows(
        {"train": mixed_columns(300, 7, k=3), "val": mixed_columns(200, 8, k=2)}, MIXED, ANIMALS
    ),
    "tiny-val": lambda: with_rows(
        {"train": mixed_columns(300, 9), "val": mixed_columns(5, 10)}, MIXED
    ),
    "one-row-val": lambda: with_rows(
        {"train": mixed_columns(300, 11), "val": mixed_columns(1, 12)}, MIXED
    ),
    "one-row-train": lambda: with_rows(
        {"train": mixed_columns(1, 13), "val": mixed_columns(200, 14)}, MIXED
    ),
    "one-row-each": lambda: with_rows(
        {"train": mixed_columns(1, 15), "val": mixed_columns(1, 16)}, MIXED
    ),
    "val-only": lambda: with_rows({"val": mixed_columns(200, 17)}, MIXED),
    "train-val-test": lambda: with_rows(
        {
            "train": mixed_columns(300, 18),
            "val": mixed_columns(200, 19),
            "test": mixed_columns(150, 20),
        },
        MIXED,
    ),
}


@functools.cache
def corner(name: str) -> Evaluation:
    return CORNERS[name]()


@pytest.mark.parametrize("name", CORNERS)
@pytest.mark.parametrize("kind", LEAKAGE_KINDS)
def test_kind_gives_a_verdict_on_corner_cases(kind: str, name: str) -> None:
    ev = corner(name)
    splits = KINDS[kind].params["split"].choices if "split" in KINDS[kind].params else [None]
    for split in splits:  # type: ignore[union-attr]
        params = params_for(kind) if split is None else params_for(kind, split=split)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the CLI would print any warning
            assert_valid(KINDS[kind].fn(ev, params))


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("leakage_duplicates", "val-only", "needs the train and val splits"),
        ("duplicate_rows", "one-row-each", "the train split has fewer than 2 rows"),
        ("leakage_target_proxy", "tiny-val", "needs at least 50 val rows with several classes"),
        (
            "leakage_target_proxy",
            "one-class-val",
            "needs at least 50 val rows with several classes",
        ),
        ("leakage_identifier", "val-only", "no train split was given"),
        ("split_drift", "tiny-val", "needs at least 100 rows in train and val"),
        ("split_drift", "one-row-train", "needs at least 100 rows in train and val"),
        ("split_drift", "val-only", "needs the train and val splits"),
        ("suspicious_validation", "tiny-val", "the val split has 5 row(s), fewer than 30"),
    ],
)
def test_missing_or_tiny_splits_are_not_applicable(kind: str, name: str, message: str) -> None:
    outcome = KINDS[kind].fn(corner(name), params_for(kind))
    assert (outcome.status, outcome.message) == ("not_applicable", f"Not applicable: {message}.")


def test_leakage_duplicates_min_rows() -> None:
    outcome = KINDS["leakage_duplicates"].fn(
        corner("tiny-val"), params_for("leakage_duplicates", min_rows=10)
    )
    assert (outcome.status, outcome.message) == (
        "not_applicable",
        "Not applicable: the val split has 5 row(s), fewer than 10.",
    )


def test_identifier_on_a_one_row_train_split_says_why() -> None:
    outcome = KINDS["leakage_identifier"].fn(
        corner("one-row-train"), params_for("leakage_identifier")
    )
    assert (outcome.status, outcome.message) == (
        "not_applicable",
        "Not applicable: the train split has 1 row(s); the check needs 2 or more.",
    )


def test_constant_boolean_and_whole_number_columns(default_rules: RuleSet) -> None:
    ev = corner("mixed-columns")
    drift = judge(default_rules, "DR01", ev)
    assert drift.status == "passed"
    assert "constant" not in [d["feature"] for d in drift.evidence["most_drifted_features"]]
    proxy = judge(default_rules, "LK03", ev)
    assert proxy.status == "passed"
    assert "constant" not in [f["feature"] for f in proxy.observed["top_features"]]
    for rule_id in ("LK04", "LK05"):
        assert judge(default_rules, rule_id, ev).observed["identifier_columns"] == []
    assert judge(default_rules, "LK02", ev).status == "passed"


def test_all_constant_columns(default_rules: RuleSet) -> None:
    ev = corner("all-constant")
    assert judge(default_rules, "DR01", ev).status == "passed"  # equal constants do not drift
    assert judge(default_rules, "LK03", ev).status == "passed"
    shared = judge(default_rules, "LK01", ev)  # every row is the same row: chance, not a copy
    assert shared.status == "passed"
    assert shared.observed["shared_fraction"] == shared.observed["shared_fraction_by_chance"] == 1.0
    duplicates = judge(default_rules, "LK02", ev)
    assert duplicates.observed == {
        "duplicate_rows": 299,
        "duplicate_fraction": pytest.approx(299 / 300),
        "conflicting_label_rows": 300,
        "conflicting_label_groups": 1,
    }
    assert duplicates.evidence["conflicting_labels"] == [
        {"row": 0, "copies": 300, "labels": "0, 1"}
    ]


def test_a_failed_fact_computation_is_an_error_finding_and_the_others_still_judge(
    default_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise FloatingPointError("drift went wrong")

    monkeypatch.setattr(facts_data, "drift", broken)
    x, y = normal_rows(300, seed=4)
    ev = with_rows({"train": (x[:200], y[:200]), "val": (x[200:], y[200:])}, ["a", "b", "c"])
    assert ev.data.errors == {("drift", "val"): "FloatingPointError: drift went wrong"}
    results = {r.rule.id: r for r in run_rules(ev, default_rules)}
    assert results["DR01"].status == "error"
    assert "computing its drift facts raised FloatingPointError" in results["DR01"].message
    assert results["LK01"].status == "passed" and results["LK03"].status == "passed"


def test_a_rule_below_the_evaluation_floor_widens_the_proxy_facts() -> None:
    from auditor.api import _with_proxy_bounds
    from auditor.facts.data import DataFacts
    from auditor.options import AuditOptions

    rng = np.random.default_rng(8)
    x, y = normal_rows(2000, seed=8)
    x[:, 0] = y + rng.normal(scale=0.95, size=len(y))  # alone about 0.77 ROC AUC; the rest 0.5
    ev = with_rows({"train": (x[:1000], y[:1000]), "val": (x[1000:], y[1000:])}, ["s", "b", "c"])
    rules = load_rule_set()
    lenient = dataclasses.replace(
        rules.get("LK03"),
        params={**rules.get("LK03").params, "min_score": 0.7, "min_accuracy": 0.6},
    )
    custom = dataclasses.replace(rules, rules=(lenient,))
    options = _with_proxy_bounds(AuditOptions(), custom)
    assert (options.proxy_candidates, options.proxy_min_score) == (5, 0.7)
    assert _with_proxy_bounds(AuditOptions(), rules) == AuditOptions()  # the defaults suffice
    fresh = add_facts(dataclasses.replace(ev, data=DataFacts()), [("proxies", "val")], options)
    outcome = KINDS["leakage_target_proxy"].fn(fresh, lenient.params)
    assert outcome.status == "failed" and outcome.features == ("s",), outcome.message
    # With the evaluation's own floor the feature would not have been compared at all.
    assert KINDS["leakage_target_proxy"].fn(ev, lenient.params).status == "passed"


def test_rows_without_their_facts_are_an_error_not_a_silent_pass(default_rules: RuleSet) -> None:
    from auditor.facts.data import DataFacts

    x, y = normal_rows(300, seed=5)
    ev = with_rows({"train": (x[:200], y[:200]), "val": (x[200:], y[200:])}, ["a", "b", "c"])
    forgotten = dataclasses.replace(ev, data=DataFacts())  # a driver that skipped add_facts
    results = {r.rule.id: r for r in run_rules(forgotten, default_rules)}
    for rule_id in ("LK01", "LK02", "LK03", "LK04", "DR01"):
        assert results[rule_id].status == "error", rule_id
        assert "holds no" in results[rule_id].message and "add_facts" in results[rule_id].message
    assert results["OF01"].status != "error"  # the metric rules judge as ever
