"""Renders summary.md: a short GitHub-flavoured summary for a pull request or job summary."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from auditor.numbers import number
from auditor.rules.engine import by_cause, distrust, sort_key
from auditor.vocabulary import Status

if TYPE_CHECKING:
    from auditor.result import AuditResult

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: object) -> str:
    """Escape TEXT so that Markdown shows it literally and no HTML in it is interpreted."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    return " ".join(value.split())


def render_markdown(result: AuditResult, report_path: str = "report.html") -> str:
    """Return the Markdown summary of RESULT."""
    ev = result.evaluation
    icon = "✅" if result.passed else "❌"
    lines = [
        f"## {icon} auditor: {result.verdict.upper()} — {md_escape(ev.model.name)}",
        "",
        f"Model {md_escape(ev.model.path)} ({ev.model.format}, {ev.model.task}, "
        f"{len(ev.classes)} classes, {ev.model.input_kind} input) · rule set "
        f"{md_escape(result.rule_set.name)} "
        f"{md_escape(result.rule_set.version)} · gate fails on: {result.fail_on}",
        "",
    ]
    rows = "images" if ev.model.input_kind == "image" else "rows"
    sizes = ", ".join(f"{name} {s.n_rows:,} {rows}" for name, s in ev.splits.items())
    engine = ev.engine or {}
    ran = (
        f" Engine: {md_escape(engine['name'])}, {engine['workers']} worker"
        f"{'s' if engine['workers'] != 1 else ''}, {engine['shards']} shard"
        f"{'s' if engine['shards'] != 1 else ''}."
        if {"name", "workers", "shards"} <= set(engine)
        else ""
    )
    lines += [f"Data: {sizes}.{ran}", ""]
    warning = distrust(result.results)
    if warning:
        lines += [f"> **⚠️ {md_escape(warning)}**", ""]
    failed = [
        r for r in sorted(result.results, key=sort_key) if r.status in (Status.FAILED, Status.ERROR)
    ]
    if failed:
        blocking = {r.rule.id for r in result.blocking}
        lines += ["| | Rule | Severity | Category | Finding |", "|---|---|---|---|---|"]
        for r, same in by_cause(failed):  # one row per cause, the rules behind it named
            mark = "⛔" if r.rule.id in blocking else "⚠️"
            also = "; ".join(f"{md_escape(o.rule.id)}, {o.rule.severity}" for o in same)
            lines.append(
                f"| {mark} | {md_escape(r.rule.id)} | {r.rule.severity} | {r.rule.category} | "
                f"{md_escape(r.message)}{f' (same cause: {also})' if also else ''} |"
            )
        lines.append("")
    else:
        lines += ["No rule failed.", ""]
    waived = [r for r in result.results if r.status == Status.WAIVED]
    if waived:
        lines.append(
            "Waived: "
            + "; ".join(
                f"{md_escape(r.rule.id)} ({md_escape(r.waiver['reason'] if r.waiver else '')})"
                for r in waived
            )
        )
        lines.append("")
    counts = {s: sum(r.status == s for r in result.results) for s in Status}
    lines.append(
        f"{counts[Status.PASSED]} rule(s) passed, {len(failed)} failed, "
        f"{counts[Status.NOT_APPLICABLE]} not applicable."
    )
    headline = _metrics_line(result)
    if headline:
        lines += ["", headline]
    if result.recommendations:
        top = result.recommendations[0]
        lines += ["", f"**Top recommendation** ({md_escape(top.action)}): {md_escape(top.reason)}"]
        if top.snippet:
            lines += ["", "```python", top.snippet, "```"]
    if result.study is not None:
        lines += ["", *_study_lines(result)]
    lines += ["", f"Full report: {md_escape(report_path)} (and report.pdf, report.json)."]
    return "\n".join(lines) + "\n"


def _study_lines(result: AuditResult) -> list[str]:
    """Return the study in two lines: the chosen setting and its trade-off, then the verdict."""
    study = result.study
    assert study is not None
    stays = study.chosen == study.control.setting.label
    if stays:
        head = "the current setting stays" + (
            f"; closest: {md_escape(study.trade_off)}" if study.trade_off else ""
        )
    else:
        head = f"chosen {md_escape(study.trade_off)}"
    return [
        f"- **L1/L2 study** (prefer {study.prefer}, {len(study.settings)} settings × "
        f"{study.seeds} seed{'s' if study.seeds != 1 else ''}): {head}.",
        f"- {md_escape(study.conclusion)}",
    ]


def _metrics_line(result: AuditResult) -> str:
    ev = result.evaluation
    parts = []
    for name in ("train", "val", "test"):
        s = ev.splits.get(name)
        if s is None:
            continue
        m = s.metrics
        auc = f", ROC AUC {number(m['roc_auc'])}" if m.get("roc_auc") is not None else ""
        parts.append(
            f"{name}: loss {number(m['loss'])}, accuracy {number(m['accuracy'])}, "
            f"balanced accuracy {number(m['balanced_accuracy'])}{auc}"
        )
    return "Metrics — " + "; ".join(parts) + "." if parts else ""
