"""Builds the report.json document (a public contract: extend it, never rename its fields)."""

from __future__ import annotations

import json
import math
import platform
from enum import Enum
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.loading.history import summarize
from auditor.regularization import weight_report
from auditor.rules.engine import invalidating, sort_key
from auditor.vocabulary import Severity, Status

if TYPE_CHECKING:
    from auditor.result import AuditResult

SCHEMA_VERSION = "1.0"


def clean(value: Any) -> Any:
    """Make VALUE JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, Enum):  # a word of the vocabulary: its plain string
        return value.value
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def summary(result: AuditResult) -> dict[str, Any]:
    """Count results by status and failed rules by severity."""
    failed = {s: 0 for s in reversed(Severity.values())}
    counts = {s: 0 for s in Status.values()}
    for r in result.results:
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == Status.FAILED:
            failed[r.rule.severity] += 1
    return {
        "failed_by_severity": failed,
        "counts": counts,
        "blocking": [r.rule.id for r in result.blocking],
        # A failed leakage rule of error severity: the metrics were measured on leaked rows.
        "metrics_trustworthy": not invalidating(result.results),
        "untrustworthy_because": [r.rule.id for r in invalidating(result.results)],
    }


def report_dict(result: AuditResult) -> dict[str, Any]:
    """Return report.json's content for RESULT."""
    ev = result.evaluation
    train = ev.splits.get("train")
    baseline: dict[str, Any] = {
        "strategy": (
            "always predict the training split's majority class "
            "(probabilities: its class frequencies)"
        ),
        "majority_class": train.baseline["majority_class"] if train else None,
        "splits": {
            name: {k: v for k, v in s.baseline.items() if k != "majority_class"}
            for name, s in ev.splits.items()
        },
    }
    model = ev.model.to_dict()
    model["regularization_penalty"] = ev.regularization_penalty
    model["architecture"] = ev.architecture.to_dict()
    doc = {
        "schema_version": SCHEMA_VERSION,
        "auditor_version": __version__,
        "created": result.created,
        "verdict": result.verdict,
        "fail_on": result.fail_on,
        "summary": summary(result),
        "model": model,
        "classes": list(ev.classes),
        "features": list(ev.features),
        **({"text_features": list(ev.text_features)} if ev.text_features else {}),
        "threshold": ev.threshold,
        "rule_set": {
            "name": result.rule_set.name,
            "version": result.rule_set.version,
            "source": result.rule_set.source,
        },
        "splits": {name: s.to_dict() for name, s in ev.splits.items()},
        "baseline": baseline,
        "results": [r.to_dict() for r in sorted(result.results, key=sort_key)],
        "recommendations": [r.to_dict() for r in result.recommendations],
        "regularization": weight_report(ev),
        "sweep": result.sweep.to_dict() if result.sweep is not None else None,
        "study": result.study.to_dict() if result.study is not None else None,
        "history": summarize(result.history) if result.history else None,
        "reference": _reference(ev.reference),
        "environment": environment(),
        "engine": ev.engine or None,
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
    }
    return clean(doc)


def report_json(result: AuditResult) -> str:
    """Return report.json's text for RESULT (without the final newline)."""
    return json.dumps(report_dict(result), indent=2, sort_keys=False)


def _reference(reference: dict[str, Any] | None) -> dict[str, Any] | None:
    """Summarize the compared baseline audit: where it came from and its metrics per split."""
    if reference is None:
        return None
    return {
        "source": reference.get("source"),
        "model": (reference.get("model") or {}).get("path"),
        "created": reference.get("created"),
        "verdict": reference.get("verdict"),
        "splits": {
            name: {
                "n_rows": split.get("n_rows"),
                "metrics": split.get("metrics"),
                "confusion_matrix": split.get("confusion_matrix"),
            }
            for name, split in (reference.get("splits") or {}).items()
        },
    }


def environment() -> dict[str, str]:
    """Versions of the pieces that produced the numbers."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for package in ("keras", "tensorflow", "tensorflow-cpu", "scikit-learn", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
