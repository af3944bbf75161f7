"""Renders `auditor compare`: two audits side by side, as Markdown (stdout) and as an HTML page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.report.html import num, template
from auditor.report.markdown import md_escape

if TYPE_CHECKING:
    from auditor.comparison import Comparison, MetricDelta

_ARROWS = {"better": "▲ better", "worse": "▼ worse", "same": "=", "": ""}


def _side(doc: dict[str, Any]) -> dict[str, Any]:
    model = doc.get("model") or {}
    return {
        "source": doc.get("source", ""),
        "model": model.get("path", ""),
        "name": model.get("name", ""),
        "created": doc.get("created", ""),
        "verdict": str(doc.get("verdict", "")),
        "blocking": (doc.get("summary") or {}).get("blocking") or [],
        "recommendations": doc.get("recommendations") or [],
    }


def _delta(row: MetricDelta) -> str:
    return "—" if row.delta is None else f"{row.delta:+.3f}"


def render_comparison_markdown(comparison: Comparison) -> str:
    """Return the comparison as GitHub-flavoured Markdown; every user string escaped."""
    old, new = _side(comparison.old), _side(comparison.new)
    icon = "❌" if comparison.worse else "✅"
    outcome = "NEW is worse" if comparison.worse else "NEW is not worse"
    lines = [
        f"## {icon} auditor compare: {outcome} "
        f"({md_escape(old['verdict'].upper())} → {md_escape(new['verdict'].upper())})",
        "",
        "| | OLD | NEW |",
        "|---|---|---|",
        f"| Report | {md_escape(old['source'])} | {md_escape(new['source'])} |",
        f"| Model | {md_escape(old['model'])} | {md_escape(new['model'])} |",
        f"| Audited | {md_escape(old['created'])} | {md_escape(new['created'])} |",
        f"| Verdict | {md_escape(old['verdict'])} | {md_escape(new['verdict'])} |",
        f"| Blocking | {md_escape(', '.join(old['blocking']) or 'none')} | "
        f"{md_escape(', '.join(new['blocking']) or 'none')} |",
        "",
        "### Metrics",
        "",
        "| Split | Metric | OLD | NEW | Δ | |",
        "|---|---|---|---|---|---|",
    ]
    for row in comparison.metrics:
        lines.append(
            f"| {md_escape(row.split)} | {row.label} | {num(row.old)} | {num(row.new)} | "
            f"{_delta(row)} | {_ARROWS[row.change]} |"
        )
    lines += [
        "",
        f"### Regression rules ({md_escape(comparison.rule_set.name)}, "
        f"fails on {comparison.fail_on})",
        "",
    ]
    if comparison.results:
        blocking = {r.rule.id for r in comparison.blocking}
        lines += ["| | Rule | Severity | Status | Result |", "|---|---|---|---|---|"]
        for r in comparison.results:
            mark = "⛔" if r.rule.id in blocking else ("⚠️" if r.status == "failed" else "")
            lines.append(
                f"| {mark} | {md_escape(r.rule.id)} | {r.rule.severity} | {r.status} | "
                f"{md_escape(r.message)} |"
            )
    else:
        lines.append("The rule set has no regression rules.")
    lines += ["", "### Findings", ""]
    for title, found in (
        ("Added in NEW", comparison.added),
        ("Resolved in NEW", comparison.resolved),
        ("In both", comparison.kept),
    ):
        lines.append(f"**{title}** ({len(found)})" + (":" if found else ""))
        lines += [
            f"- {md_escape(r['rule_id'])} ({md_escape(r.get('severity', ''))}): "
            f"{md_escape(r['message'])}"
            for r in found
        ]
        lines.append("")
    lines += ["### Recommendations", ""]
    for label, side in (("OLD", old), ("NEW", new)):
        recs = side["recommendations"]
        lines.append(f"**{label}** ({len(recs)})" + (":" if recs else ""))
        lines += [f"- {md_escape(r['action'])}: {md_escape(r['reason'])}" for r in recs]
        lines.append("")
    return "\n".join(lines)


def render_comparison_html(comparison: Comparison) -> str:
    """Return the comparison as one self-contained HTML page; the template escapes every string."""
    return template("compare.html.j2").render(
        comparison=comparison,
        old=_side(comparison.old),
        new=_side(comparison.new),
        blocking_ids={r.rule.id for r in comparison.blocking},
        arrows=_ARROWS,
        version=__version__,
    )
