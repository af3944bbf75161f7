"""Rule kinds about a text model's texts: near copies of training texts, token proxies, drift.

They judge the text facts (`auditor.facts.text`) and apply only to models whose input is text;
a table or image model gets *not applicable*.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from auditor.numbers import setting
from auditor.rules.kinds.common import fmt, not_applicable, pct
from auditor.rules.kinds.leakage import facts_of
from auditor.rules.types import Outcome
from auditor.vocabulary import Status

if TYPE_CHECKING:  # only for annotations: judging needs no data loading
    from auditor.evaluation import Evaluation


TRAIN_ITSELF = "it compares a split's texts with training's; judge val or test"


def _text_facts(ev: Evaluation, split: str) -> tuple[Any, str | None]:
    """Return the split's text facts, or None and why the rule does not apply."""
    if split not in ev.splits:
        return None, f"no {split} split was given"
    kind = getattr(ev.model, "input_kind", "table")
    if kind != "text":
        return None, f"the model reads {kind} input, not text"
    found = facts_of(ev, "text", split)  # raises when they failed or were never computed
    if found is None:
        return None, f"no {split} split was given"
    return found, None


def text_near_duplicates(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when more sampled texts of the split nearly copy a training text than allowed."""
    split = params["split"]
    facts, why = _text_facts(ev, split)
    if facts is None:
        return not_applicable(why or "")
    if split == "train":
        return not_applicable(TRAIN_ITSELF)
    if facts.near_checked is None:
        return not_applicable(facts.near_unavailable or f"needs the train and {split} splits")
    n = facts.near_checked
    if n < params["min_rows"]:
        return not_applicable(
            f"the {split} sample has {n} text(s), fewer than {params['min_rows']}"
        )
    share = facts.near_copies / n
    observed = {
        "near_copies": facts.near_copies,
        "near_fraction": share,
        "texts_checked": n,
        "method": facts.method,
    }
    threshold = {"max_fraction": params["max_fraction"]}
    evidence = {"near_copies": [dict(e) for e in facts.near_examples]}
    if share > params["max_fraction"]:
        return Outcome(
            Status.FAILED,
            f"{facts.near_copies:,} of {n:,} sampled {split} texts ({pct(share)}) nearly copy a "
            "training text (most of their word triples shared, more than exact copies after "
            "normalization): the model is scored on texts it has practically seen.",
            observed,
            threshold,
            evidence,
        )
    return Outcome(
        Status.PASSED,
        f"{facts.near_copies:,} of {n:,} sampled {split} texts nearly copy a training text "
        f"(limit {pct(params['max_fraction'])}).",
        observed,
        threshold,
        evidence if facts.near_copies else {},
    )


def token_proxy(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when one token's presence alone predicts a class nearly perfectly."""
    split = params["split"]
    facts, why = _text_facts(ev, split)
    if facts is None:
        return not_applicable(why or "")
    if facts.sample_rows < params["min_rows"]:
        return not_applicable(
            f"the {split} sample has {facts.sample_rows} text(s), fewer than {params['min_rows']}"
        )
    tokens = [dict(t) for t in facts.tokens]
    suspects = [t for t in tokens if t["score"] >= params["min_score"]]
    observed = {"method": facts.method, "sample_rows": facts.sample_rows, "top_tokens": tokens}
    threshold = {"min_score": params["min_score"]}
    if suspects:
        first = suspects[0]
        more = f" ({len(suspects) - 1} more)" if len(suspects) > 1 else ""
        return Outcome(
            Status.FAILED,
            f"Token '{first['token']}' alone predicts class '{first['class']}' on {split} with ROC "
            f"AUC {fmt(first['score'])} (in {pct(first['text_share'])} of the texts){more}: a "
            "word that gives the label away is usually an artefact of how the texts were "
            "collected (a template, a signature, a source tag) and will not be there in "
            "production.",
            observed,
            threshold,
            {"tokens": suspects},
        )
    lead = f" (strongest: '{tokens[0]['token']}' at {fmt(tokens[0]['score'])})" if tokens else ""
    return Outcome(
        Status.PASSED,
        f"No token alone predicts the label on {split} with ROC AUC of "
        f"{setting(params['min_score'])} or more{lead}.",
        observed,
        threshold,
    )


def text_drift(ev: Evaluation, params: Mapping[str, Any]) -> Outcome:
    """Fail when the split's text lengths or out-of-vocabulary share differ from training's."""
    split = params["split"]
    facts, why = _text_facts(ev, split)
    if facts is None:
        return not_applicable(why or "")
    if split == "train":
        return not_applicable(TRAIN_ITSELF)
    if facts.length_psi is None:
        return not_applicable(f"needs the train and {split} splits")
    if facts.sample_rows < params["min_rows"]:
        return not_applicable(f"needs at least {params['min_rows']} {split} texts")
    length_drift = (
        facts.length_psi > params["max_psi"]
        and facts.length_ks_pvalue is not None
        and facts.length_ks_pvalue < params["alpha"]
    )
    oov, base = facts.oov_share, facts.train_oov_share
    oov_rise = (oov or 0.0) - (base or 0.0)
    oov_drift = oov is not None and oov_rise > params["max_oov_increase"]
    observed = {
        "length_psi": facts.length_psi,
        "length_ks_pvalue": facts.length_ks_pvalue,
        "length_median_words": facts.length_median,
        "train_length_median_words": facts.train_length_median,
        "oov_share": oov,
        "train_oov_share": base,
        "method": facts.method,
    }
    threshold = {
        "max_psi": params["max_psi"],
        "alpha": params["alpha"],
        "max_oov_increase": params["max_oov_increase"],
    }
    if length_drift or oov_drift:
        parts = []
        if length_drift:
            parts.append(
                f"texts are {fmt(facts.length_median)} words long (median) against "
                f"{fmt(facts.train_length_median)} in training (PSI {fmt(facts.length_psi)})"
            )
        if oov_drift:
            parts.append(
                f"{pct(oov or 0.0)} of their words never occur in the training texts, against "
                f"{pct(base or 0.0)} between two halves of training"
            )
        return Outcome(
            Status.FAILED,
            f"Train and {split} texts differ: {'; '.join(parts)}. The {split} numbers do not "
            "describe the texts the model was trained on.",
            observed,
            threshold,
        )
    return Outcome(
        Status.PASSED,
        f"Train and {split} texts have similar lengths (PSI {fmt(facts.length_psi)}, limit "
        f"{setting(params['max_psi'])}) and vocabulary ({pct(oov or 0.0)} of words unseen in "
        "training).",
        observed,
        threshold,
    )
