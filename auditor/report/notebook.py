"""Renders the HTML a notebook shows for an audit: the verdict, the findings, the top advice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.report.html import template
from auditor.rules.engine import distrust, sort_key
from auditor.vocabulary import Status

if TYPE_CHECKING:
    from auditor.result import AuditResult


def render_notebook_html(result: AuditResult) -> str:
    """Return an HTML fragment for RESULT (Jupyter's `_repr_html_`); every user string escaped."""
    ordered = sorted(result.results, key=sort_key)
    shown = (Status.FAILED, Status.ERROR, Status.WAIVED)
    return template("notebook.html.j2").render(
        result=result,
        ev=result.evaluation,
        findings=[r for r in ordered if r.status in shown],
        counts={s.value: sum(r.status == s for r in result.results) for s in Status},
        blocking_ids={r.rule.id for r in result.blocking},
        top=result.recommendations[0] if result.recommendations else None,
        distrust=distrust(result.results),
    )
