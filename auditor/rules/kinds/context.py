"""Rule kinds about who and when: entities on both sides of a split, validation before training.

They judge the facts of the group and time columns (`auditor.facts.context`): counts, shares and
ranges, compared with the rule's limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.rules.kinds.common import not_applicable, pct
from auditor.rules.kinds.leakage import facts_of
from auditor.rules.types import Outcome
from auditor.vocabulary import Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation

GROUP_FIX = (
    "split by group, so that no group lands on both sides (scikit-learn's GroupShuffleSplit or "
    "GroupKFold, with groups= this column)"
)


def _uncounted(missing: int, split: str, column: str) -> str:
    """Say how many rows of SPLIT hold no COLUMN value, and so are not counted ("" for none)."""
    if not missing:
        return ""
    rows = "row" if missing == 1 else "rows"
    return f" ({missing:,} more {split} {rows} without a '{column}' value, not counted)"


def leakage_group(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when more of the split's rows than allowed belong to groups that occur in train."""
    split = params["split"]
    facts = facts_of(ev, "groups", split)
    if facts is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    wanted = list(params["columns"]) or [g.column for g in facts.columns]
    found = {g.column: g for g in facts.columns}
    if not wanted:
        return not_applicable("no group column was given (--group-column, or params.columns)")
    missing = [c for c in wanted if c not in found]
    if missing:
        return not_applicable(f"the group column(s) {', '.join(missing)} were not read")
    limit = params["max_shared_fraction"]
    observed: dict[str, Any] = {}
    shown: list[dict[str, Any]] = []  # one table of the shared groups, of every column
    failed = []
    for column in wanted:
        g = found[column]
        share = g.shared_rows / g.rows if g.rows else 0.0
        observed[column] = {
            "groups": g.groups,
            "shared_groups": g.shared_groups,
            "shared_group_fraction": g.shared_groups / g.groups if g.groups else 0.0,
            "rows": g.rows,
            "shared_rows": g.shared_rows,
            "shared_fraction": share,
            "missing_rows": g.missing_rows,
            "train_groups": g.train_groups,
        }
        shown += [
            {
                "column": column,
                "group": e["group"],
                f"{split}_rows": e["rows"],
                "train_rows": e["train_rows"],
            }
            for e in g.examples
        ]
        if g.rows and share > limit:
            failed.append(g)
    threshold = {"max_shared_fraction": limit}
    if failed:
        g = failed[0]
        more = f" ({len(failed) - 1} more column(s))" if len(failed) > 1 else ""
        such = ", ".join(f"'{e['group']}'" for e in g.examples[:3])
        return Outcome(
            Status.FAILED,
            f"{g.shared_rows:,} of {g.rows:,} {split} rows ({pct(g.shared_rows / g.rows)})"
            f"{_uncounted(g.missing_rows, split, g.column)} belong to {g.shared_groups:,} of the "
            f"{g.groups:,} '{g.column}' groups "
            f"({pct(g.shared_groups / g.groups)}) that also occur in the training split (such as "
            f"{such}; limit {pct(limit)} of rows){more}: the model is scored on entities it was "
            f"trained on, so the {split} numbers overstate how it does on new ones; {GROUP_FIX}.",
            observed,
            threshold,
            {"shared_groups": shown},
            features=tuple(f.column for f in failed),
        )
    parts = [
        f"'{c}': {found[c].shared_rows:,} of {found[c].rows:,} rows"
        f"{_uncounted(found[c].missing_rows, split, c)}, "
        f"{found[c].shared_groups:,} of {found[c].groups:,} groups"
        for c in wanted
    ]
    return Outcome(
        Status.PASSED,
        f"No more than {pct(limit)} of {split} rows belong to groups of the training split "
        f"({'; '.join(parts)} shared).",
        observed,
        threshold,
        {"shared_groups": shown} if shown else {},
    )


def leakage_temporal(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when more of the split's rows than allowed are earlier than the latest training row."""
    split = params["split"]
    facts = facts_of(ev, "temporal", split)
    if facts is None or split == "train":
        return not_applicable(f"needs the train and {split} splits")
    if not facts.columns:
        return not_applicable("no time column was given (--time-column)")
    (t,) = facts.columns
    if t.rows == 0:
        return not_applicable(f"'{t.column}' holds no time in the train or the {split} split")
    share = t.earlier_rows / t.rows
    limit = params["max_earlier_fraction"]
    rates = [dict(b, start=t.shown(b["start"]), end=t.shown(b["end"])) for b in t.label_rate]
    observed = {
        "column": t.column,
        "rows": t.rows,
        "earlier_rows": t.earlier_rows,
        "earlier_fraction": share,
        "missing_rows": t.missing_rows,
        "train_range": [t.shown(t.train_start), t.shown(t.train_end)],
        f"{split}_range": [t.shown(t.start), t.shown(t.end)],
        "rate_class": t.rate_class,
        "first_rate": rates[0]["rate"] if rates else None,
        "last_rate": rates[-1]["rate"] if rates else None,
    }
    threshold = {"max_earlier_fraction": limit}
    evidence = {"label_rate_over_time": rates}
    ranges = (
        f"training spans {t.shown(t.train_start)} to {t.shown(t.train_end)}, {split} "
        f"{t.shown(t.start)} to {t.shown(t.end)}"
    )
    drift = ""
    if len(rates) >= 2:
        drift = (
            f"; the share of class '{t.rate_class}' moves from {pct(rates[0]['rate'])} in the "
            f"earliest tenth of the rows to {pct(rates[-1]['rate'])} in the latest"
        )
    if share > limit:
        return Outcome(
            Status.FAILED,
            f"{t.earlier_rows:,} of {t.rows:,} {split} rows ({pct(share)})"
            f"{_uncounted(t.missing_rows, split, t.column)} are earlier than the latest training "
            f"row ({t.shown(t.train_end)}; limit {pct(limit)}): {ranges}{drift}. "
            f"The model is validated on times it was trained around, not on the later data it "
            "will meet; split by time (train on the earlier rows, validate on the later ones).",
            observed,
            threshold,
            evidence,
            features=(t.column,),
        )
    return Outcome(
        Status.PASSED,
        f"{t.earlier_rows:,} of {t.rows:,} {split} rows ({pct(share)})"
        f"{_uncounted(t.missing_rows, split, t.column)} are earlier than the latest "
        f"training row (limit {pct(limit)}): {ranges}{drift}.",
        observed,
        threshold,
        evidence,
    )
