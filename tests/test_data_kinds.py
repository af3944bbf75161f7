"""The data kinds judged on hand-built facts: a table of cases, each with its exact verdict.

No rows, no hashing, no model: each case writes down the facts an evaluation would have computed
(`auditor.facts.data`) and the verdict and message the kind must give. The facts computation is
tested on real rows in test_leakage.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import pytest
from helpers import evaluation, split_with_metrics, text_evaluation, text_facts

from auditor.evaluation import Evaluation
from auditor.facts.context import GroupOverlap, Groups, Temporal, Times
from auditor.facts.data import (
    DataFacts,
    Drift,
    Duplicates,
    IdentifierColumn,
    Identifiers,
    Proxies,
    ProxyCandidate,
    ProxySet,
    SharedRows,
)
from auditor.rules.kinds import KINDS


def facts(**families: Any) -> Evaluation:
    """A train/val evaluation whose data facts are FAMILIES (family -> {split: value})."""
    splits = {"train": split_with_metrics("train"), "val": split_with_metrics("val")}
    return dataclasses.replace(evaluation(splits), data=DataFacts(**families))


def shared(exact: int, near: int = 0, n: int = 1000, chance: float = 0.0, **kw: Any) -> SharedRows:
    values: dict[str, Any] = {
        "rows_checked": n,
        "shared_rows": exact,
        "shared_rows_same_label": exact,
        "near_duplicate_rows": near,
        "shared_fraction_by_chance": chance,
        "near_duplicate_fraction_by_chance": 0.0,
        "method": "grid",
        **kw,
    }
    return SharedRows(**values)


def proxies(*candidates: tuple[str, float, float | None], **kw: Any) -> Proxies:
    values: dict[str, Any] = {
        "sample_rows": 500,
        "sample_classes": 2,
        "usable_classes": ("1",),
        "top_features": tuple({"feature": f, "score": s} for f, s, _ in candidates),
        "candidates": tuple(ProxyCandidate(f, "1", s, r) for f, s, r in candidates),
        **kw,
    }
    return Proxies(**values)


def drift(features: list[tuple[str, float, float]], shift: float = 0.0, p: float = 1.0) -> Drift:
    rows = tuple(
        {"feature": f, "psi": psi, "ks_statistic": 0.3, "ks_pvalue": pv} for f, psi, pv in features
    )
    return Drift(5000, 2000, rows, shift, p, method="PSI")


def reliance(features: tuple[str, ...], alone: float, permuted: float) -> ProxySet:
    return ProxySet(features, 0.99, alone, 0.99 if alone > 0.95 else 0.9, permuted)


# Each copy alone: the model loses little (the other stands in); both: it falls to chance.
PAIR = (
    reliance(("c1",), 0.98, 0.97),
    reliance(("c2",), 0.98, 0.97),
    reliance(("c1", "c2"), 0.98, 0.52),
)


def overlap(**kw: Any) -> GroupOverlap:
    values: dict[str, Any] = {
        "column": "patient",
        "train_groups": 400,
        "groups": 100,
        "shared_groups": 0,
        "rows": 1000,
        "shared_rows": 0,
        "missing_rows": 0,
        "examples": ({"group": "p1", "rows": 12, "train_rows": 30},)
        if kw.get("shared_rows")
        else (),
        **kw,
    }
    return GroupOverlap(**values)


def _day(text: str) -> float:
    import numpy as np

    return float(np.datetime64(text, "s").astype("int64"))


def timeline(**kw: Any) -> Temporal:
    values: dict[str, Any] = {
        "column": "day",
        "dates": True,
        "train_start": _day("2025-01-01"),
        "train_end": _day("2025-12-31"),
        "start": _day("2025-12-01"),
        "end": _day("2026-03-31"),
        "rows": 1000,
        "earlier_rows": 0,
        "missing_rows": 0,
        "rate_class": "1",
        **kw,
    }
    return Temporal(**values)


class Case(NamedTuple):
    kind: str
    params: dict[str, Any]
    ev: Evaluation
    status: str
    message: str


CASES = {
    # ---- leakage_duplicates: shares beyond chance and the 99% noise around it
    "copies beyond the limit": Case(
        "leakage_duplicates",
        {},
        facts(shared_rows={"val": shared(30)}),
        "failed",
        "30 of 1,000 val rows (3%) also appear in the training split: the model is scored on rows "
        "it was trained on, so its validation numbers overstate how it will do on new data.",
    ),
    "copies within the limit and the noise": Case(
        # limit 1% plus 2.58 x sqrt(1 / 1000) / sqrt(1000) = 0.26% of noise: 12 rows pass, 13 fail
        "leakage_duplicates",
        {},
        facts(shared_rows={"val": shared(12)}),
        "passed",
        "12 of 1,000 val rows appear in the training split and 0 nearly; limits 1% and 5% above "
        "chance.",
    ),
    "one copy beyond the limit and the noise": Case(
        "leakage_duplicates",
        {},
        facts(shared_rows={"val": shared(13)}),
        "failed",
        "13 of 1,000 val rows (1.3%) also appear in the training split: the model is scored on "
        "rows it was trained on, so its validation numbers overstate how it will do on new data.",
    ),
    "copies explained by chance": Case(
        "leakage_duplicates",
        {},
        facts(shared_rows={"val": shared(300, chance=0.3)}),
        "passed",
        "300 of 1,000 val rows appear in the training split and 0 nearly; chance alone explains "
        "30%; limits 1% and 5% above chance.",
    ),
    "near copies": Case(
        "leakage_duplicates",
        {},
        facts(shared_rows={"val": shared(0, near=100)}),
        "failed",
        "0 of 1,000 val rows (0%) also appear in the training split, 100 more nearly (10%): the "
        "model is scored on rows it was trained on, so its validation numbers overstate how it "
        "will do on new data.",
    ),
    "no shared-row facts": Case(
        "leakage_duplicates",
        {"split": "test"},
        facts(),
        "not_applicable",
        "Not applicable: needs the train and test splits.",
    ),
    "too few rows": Case(
        "leakage_duplicates",
        {"min_rows": 50},
        facts(shared_rows={"val": shared(3, n=20)}),
        "not_applicable",
        "Not applicable: the val split has 20 row(s), fewer than 50.",
    ),
    # ---- duplicate_rows
    "label conflicts fail below the limit": Case(
        "duplicate_rows",
        {},
        facts(duplicates={"train": Duplicates(1000, 4, 2, 1)}),
        "failed",
        "4 of 1,000 train rows (0.4%) duplicate another row; 2 rows in 1 group(s) of identical "
        "features carry different labels (label noise the model cannot learn): duplicates weigh "
        "some examples more and inflate metrics when they straddle a split.",
    ),
    "few consistent duplicates": Case(
        "duplicate_rows",
        {},
        facts(duplicates={"train": Duplicates(1000, 40, 0, 0)}),
        "passed",
        "40 of 1,000 train rows duplicate another row (limit 5%); no identical rows carry "
        "different labels.",
    ),
    "one-row split": Case(
        "duplicate_rows",
        {},
        facts(duplicates={"train": Duplicates(1, 0, 0, 0)}),
        "not_applicable",
        "Not applicable: the train split has fewer than 2 rows.",
    ),
    # ---- leakage_target_proxy
    "a feature alone gives the answer": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(("refund", 0.99, 0.7))}),
        "failed",
        "Feature 'refund' alone predicts class '1' on val with ROC AUC 0.990; all other features "
        "together reach 0.700: a column that gives the answer away is usually derived from the "
        "label or recorded after the outcome, and will not be there (or not be the same) in "
        "production.",
    ),
    "a strong feature that is not alone": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(("x", 0.97, 0.95))}),
        "passed",
        "No single feature predicts the label on val with ROC AUC of 0.95 or more while beating "
        "the other features by 0.05 (strongest: 'x' at 0.970).",
    ),
    "a rest that cannot be scored": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(("x", 0.99, None))}),
        "passed",
        "No single feature predicts the label on val with ROC AUC of 0.95 or more while beating "
        "the other features by 0.05 (strongest: 'x' at 0.990).",
    ),
    "below the rule's min_score": Case(
        "leakage_target_proxy",
        {"min_score": 0.995},
        facts(proxies={"val": proxies(("x", 0.99, 0.5))}),
        "passed",
        "No single feature predicts the label on val with ROC AUC of 0.995 or more while beating "
        "the other features by 0.05 (strongest: 'x' at 0.990).",
    ),
    "max_candidates judged": Case(
        "leakage_target_proxy",
        {"max_candidates": 1},
        facts(proxies={"val": proxies(("a", 0.99, 0.98), ("b", 0.99, 0.5))}),
        "passed",
        "No single feature predicts the label on val with ROC AUC of 0.95 or more while beating "
        "the other features by 0.05 (strongest: 'a' at 0.990).",
    ),
    "no usable class": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(usable_classes=())}),
        "not_applicable",
        "Not applicable: no class has 10 or more rows (and as many others) in the val sample.",
    ),
    "small sample": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(sample_rows=30)}),
        "not_applicable",
        "Not applicable: needs at least 50 val rows with several classes.",
    ),
    # ---- leakage_identifier
    "an identifier": Case(
        "leakage_identifier",
        {},
        facts(
            identifiers={
                "train": Identifiers(500, (IdentifierColumn("row_id", True, 1.0, True, 0.51),))
            }
        ),
        "failed",
        "Feature 'row_id' looks like a row identifier (named like an identifier; 100% unique, "
        "nearly consecutive whole numbers; never decreases in file order): an identifier carries "
        "no meaning the model can generalize from; when it predicts the label, the rows were "
        "ordered or numbered by outcome.",
    ),
    "an identifier that does not predict": Case(
        "leakage_identifier",
        {"require_predictive": True},
        facts(
            identifiers={
                "train": Identifiers(
                    500, (IdentifierColumn("customer_id", True, None, False, 0.52),)
                )
            }
        ),
        "passed",
        "No model input is a predictive identifier.",
    ),
    "a predictive identifier": Case(
        "leakage_identifier",
        {"require_predictive": True},
        facts(
            identifiers={
                "train": Identifiers(500, (IdentifierColumn("seq", False, None, True, 0.9),))
            }
        ),
        "failed",
        "Feature 'seq' looks like a row identifier (never decreases in file order) and predicts "
        "the label (ROC AUC 0.900): an identifier carries no meaning the model can generalize "
        "from; when it predicts the label, the rows were ordered or numbered by outcome.",
    ),
    "a one-row train split": Case(
        "leakage_identifier",
        {},
        facts(identifiers={"train": Identifiers(1, ())}),
        "not_applicable",
        "Not applicable: the train split has 1 row(s); the check needs 2 or more.",
    ),
    # ---- split_drift
    "a drifted feature": Case(
        "split_drift",
        {},
        facts(drift={"val": drift([("age", 0.6, 1e-9), ("b", 0.01, 0.5)])}),
        "failed",
        "Train and val differ: 1 feature(s) are distributed differently: 'age' (PSI 0.600). The "
        "val numbers do not describe the population the model was trained on; split at random "
        "(stratified), or by time on purpose.",
    ),
    "a large PSI within noise": Case(
        # alpha 0.01 is shared by the two features: 0.004 > 0.005 is false, 0.006 is not
        "split_drift",
        {},
        facts(drift={"val": drift([("age", 0.6, 0.006), ("b", 0.0, 0.9)])}),
        "passed",
        "Train and val have similar feature distributions (largest PSI 0.600, limit 0.25) and "
        "class shares (shift 0%).",
    ),
    "shifted class shares": Case(
        "split_drift",
        {},
        facts(drift={"val": drift([], shift=0.2, p=1e-6)}),
        "failed",
        "Train and val differ: class shares differ by 20% (chi-square p 1e-06). The val numbers "
        "do not describe the population the model was trained on; split at random (stratified), "
        "or by time on purpose.",
    ),
    # ---- leakage_target_proxy with the model's reliance: two copies of the label
    "two copies the model relies on together": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(("c1", 0.99, 1.0), ("c2", 0.99, 1.0), sets=PAIR)}),
        "failed",
        "Features 'c1', 'c2' together give the label away on val: alone one of them is right on "
        "98% of rows (ROC AUC 0.990), and the model relies on them (each stands in for the "
        "other): shuffling them drops the model's accuracy from 99% to 52%: a column that gives "
        "the answer away is usually derived from the label or recorded after the outcome, and "
        "will not be there (or not be the same) in production.",
    ),
    "a strong feature the model relies on, not near-certain": Case(
        "leakage_target_proxy",
        {},
        facts(proxies={"val": proxies(("s", 0.96, 0.9), sets=(reliance(("s",), 0.9, 0.6),))}),
        "passed",
        "No feature gives the label away on val: the model relies most on 's' (accuracy 90%, 60% "
        "with it shuffled), but no candidate alone is right on 95% of rows while beating the "
        "model without it by 0.05.",
    ),
    # ---- leakage_group: shares of rows whose group is in train
    "a shared patient beyond the limit": Case(
        "leakage_group",
        {},
        facts(groups={"val": Groups((overlap(shared_rows=20, shared_groups=2),))}),
        "failed",
        "20 of 1,000 val rows (2%) belong to 2 of the 100 'patient' groups (2%) that also occur in "
        "the training split (such as 'p1'; limit 1% of rows): the model is scored on entities it "
        "was trained on, so the val numbers overstate how it does on new ones; split by group, so "
        "that no group lands on both sides (scikit-learn's GroupShuffleSplit or GroupKFold, with "
        "groups= this column).",
    ),
    "shared rows at the limit": Case(
        "leakage_group",
        {},
        facts(groups={"val": Groups((overlap(shared_rows=10, shared_groups=1),))}),
        "passed",
        "No more than 1% of val rows belong to groups of the training split ('patient': 10 of "
        "1,000 rows, 1 of 100 groups shared).",
    ),
    "a group column the facts lack": Case(
        "leakage_group",
        {"columns": ["device"]},
        facts(groups={"val": Groups((overlap(),))}),
        "not_applicable",
        "Not applicable: the group column(s) device were not read.",
    ),
    # ---- leakage_temporal: shares of rows earlier than the latest training row
    "validation rows before the end of training": Case(
        "leakage_temporal",
        {},
        facts(temporal={"val": Times((timeline(earlier_rows=60),))}),
        "failed",
        "60 of 1,000 val rows (6%) are earlier than the latest training row (2025-12-31; limit "
        "5%): training spans 2025-01-01 to 2025-12-31, val 2025-12-01 to 2026-03-31. The model is "
        "validated on times it was trained around, not on the later data it will meet; split by "
        "time (train on the earlier rows, validate on the later ones).",
    ),
    "a few rows on the cut-off's eve": Case(
        "leakage_temporal",
        {},
        facts(temporal={"val": Times((timeline(earlier_rows=50),))}),
        "passed",
        "50 of 1,000 val rows (5%) are earlier than the latest training row (limit 5%): training "
        "spans 2025-01-01 to 2025-12-31, val 2025-12-01 to 2026-03-31.",
    ),
    "no val row with a time": Case(
        "leakage_temporal",
        {},
        facts(temporal={"val": Times((timeline(rows=0, earlier_rows=0, missing_rows=1000),))}),
        "not_applicable",
        "Not applicable: 'day' holds no time in the train or the val split.",
    ),
    "small samples": Case(
        "split_drift",
        {"min_rows": 10_000},
        facts(drift={"val": drift([])}),
        "not_applicable",
        "Not applicable: needs at least 10000 rows in train and val.",
    ),
    # ---- text kinds: a text model's facts; tables get not_applicable
    "near copies beyond the limit": Case(
        "text_near_duplicates",
        {},
        text_evaluation(val=text_facts(near_copies=15)),
        "failed",
        "15 of 500 sampled val texts (3%) nearly copy a training text (most of their word "
        "triples shared, more than exact copies after normalization): the model is scored on "
        "texts it has practically seen.",
    ),
    "near copies within the limit": Case(
        "text_near_duplicates",
        {},
        text_evaluation(val=text_facts(near_copies=10)),
        "passed",
        "10 of 500 sampled val texts nearly copy a training text (limit 2%).",
    ),
    "near copies without datasketch": Case(
        "text_near_duplicates",
        {},
        text_evaluation(
            val=text_facts(near_checked=None, near_copies=None, near_unavailable="needs X")
        ),
        "not_applicable",
        "Not applicable: needs X.",
    ),
    "a token gives the label away": Case(
        "token_proxy",
        {},
        text_evaluation(
            val=text_facts(
                tokens=({"token": "phone", "class": "1", "score": 1.0, "text_share": 0.5},)
            )
        ),
        "failed",
        "Token 'phone' alone predicts class '1' on val with ROC AUC 1.00 (in 50% of the texts): "
        "a word that gives the label away is usually an artefact of how the texts were collected "
        "(a template, a signature, a source tag) and will not be there in production.",
    ),
    "no token alone": Case(
        "token_proxy",
        {},
        text_evaluation(val=text_facts()),
        "passed",
        "No token alone predicts the label on val with ROC AUC of 0.95 or more (strongest: "
        "'great' at 0.700).",
    ),
    "tokens of a table": Case(
        "token_proxy",
        {},
        facts(),
        "not_applicable",
        "Not applicable: the model reads table input, not text.",
    ),
    "texts with unseen words": Case(
        "text_drift",
        {},
        text_evaluation(val=text_facts(oov_share=0.4)),
        "failed",
        "Train and val texts differ: 40% of their words never occur in the training texts, "
        "against 2% between two halves of training. The val numbers do not describe the texts "
        "the model was trained on.",
    ),
    "texts alike": Case(
        "text_drift",
        {},
        text_evaluation(val=text_facts()),
        "passed",
        "Train and val texts have similar lengths (PSI 0.0200, limit 0.25) and vocabulary (1% "
        "of words unseen in training).",
    ),
    "text drift of train": Case(
        "text_drift",
        {"split": "train"},
        text_evaluation(train=text_facts()),
        "not_applicable",
        "Not applicable: it compares a split's texts with training's; judge val or test.",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_data_kind_on_hand_built_facts(name: str) -> None:
    case = CASES[name]
    kind = KINDS[case.kind]
    params = {key: p.default for key, p in kind.params.items()} | case.params
    outcome = kind.fn(case.ev, params)
    assert (outcome.status, outcome.message) == (case.status, case.message)


def test_every_data_kind_has_a_case_of_each_verdict() -> None:
    kinds = {kind for kind, spec in KINDS.items() if spec.facts}
    for kind in kinds:
        seen = {case.status for case in CASES.values() if case.kind == kind}
        assert seen == {"passed", "failed", "not_applicable"}, kind


def test_every_data_kind_without_rows_or_facts_is_not_applicable() -> None:
    empty = facts()
    for kind, spec in KINDS.items():
        if spec.facts:
            params = {key: p.default for key, p in spec.params.items()}
            assert spec.fn(empty, params).status == "not_applicable", kind


def test_every_declared_family_of_facts_is_one_the_evaluation_computes() -> None:
    from auditor.facts.data import FAMILIES

    declared = {spec.facts for spec in KINDS.values() if spec.facts}
    assert declared and declared <= set(FAMILIES)
