"""Renders the self-contained HTML report from the Jinja2 templates, and the PDF from that HTML."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from auditor import __version__
from auditor.numbers import SIGNIFICANT, number, setting
from auditor.report.json_report import environment, summary
from auditor.report.matrices import baseline_verdict, side_by_side
from auditor.resources import templates_dir
from auditor.rules.engine import by_cause, distrust, sort_key
from auditor.vocabulary import METRICS, Status

if TYPE_CHECKING:
    from collections.abc import Mapping

    from auditor.report.plots import Figure
    from auditor.result import AuditResult


def num(value: Any, digits: int = SIGNIFICANT) -> str:
    """Format a number for a table cell: DIGITS significant digits (`auditor.numbers`)."""
    return number(value, digits)


@functools.cache
def _environment() -> Environment:
    """Return the templates' environment: one per process, so each template compiles once."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = num
    env.filters["setting"] = setting
    env.filters["seconds"] = lambda v: "—" if v is None else f"{v:,.1f}"
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    return env


def template(name: str) -> Template:
    """Return the template NAME from the templates folder, with autoescaping and the filters."""
    return _environment().get_template(name)


def _metric_table(result: AuditResult) -> list[dict[str, Any]]:
    ev = result.evaluation
    rows = []
    for metric in METRICS:
        key = metric.key
        values = {name: s.metrics.get(key) for name, s in ev.splits.items()}
        # The positive class's scores exist for binary models only; a multiclass model has no row.
        if all(v is None for v in values.values()) and key in ("precision", "recall", "f1"):
            continue
        train, val = values.get("train"), values.get("val")
        gap = None
        if train is not None and val is not None:
            gap = train - val if metric.higher_is_better else val - train
        worse = gap is not None and gap > (0.05 if metric.higher_is_better else 0.1)
        reference = None
        if ev.reference is not None:
            reference = (ev.reference.get("splits", {}).get("val", {}).get("metrics") or {}).get(
                key
            )
        rows.append(
            {
                "key": key,
                "label": metric.label,
                "values": values,
                "gap": gap,
                "worse": worse,
                "reference": reference,
            }
        )
    return rows


def _png_uri(image: Any) -> str:
    """Encode a uint8 thumbnail (h, w, 1 or 3) as a PNG data URI."""
    import base64
    import io

    from matplotlib.image import imsave

    buffer = io.BytesIO()
    pixels = image[:, :, 0] if image.shape[2] == 1 else image
    no_stamp: dict[str, Any] = {"Software": None}  # identical images, identical bytes
    imsave(buffer, pixels, cmap="gray", vmin=0, vmax=255, format="png", metadata=no_stamp)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnails(result: AuditResult) -> dict[str, list[dict[str, str]]]:
    """Return, per duplicate rule, the image pairs its facts kept (at most 4), as data URIs."""
    ev = result.evaluation
    families = {"leakage_duplicates": ev.data.shared_rows, "duplicate_rows": ev.data.duplicates}
    found: dict[str, list[dict[str, str]]] = {}
    for r in result.results:
        facts = families.get(r.rule.kind, {}).get(r.rule.params.get("split", ""))
        pairs = getattr(facts, "thumbnails", ())
        if pairs:
            found[r.rule.id] = [
                {"first": _png_uri(a), "second": _png_uri(b), "first_label": la, "second_label": lb}
                for a, b, la, lb in pairs
            ]
    return found


def context(result: AuditResult, figures: Mapping[str, Figure] | None = None) -> dict[str, Any]:
    """Return everything the templates show; values stay raw and the template escapes them.

    FIGURES are the evaluation's figures if they were drawn already (see `auditor.report.drawing`).
    """
    from auditor.loading.history import summarize
    from auditor.report.plots import build_plots

    ev = result.evaluation
    ordered = sorted(result.results, key=sort_key)
    failed = [r for r in ordered if r.status in (Status.FAILED, Status.ERROR)]
    return {
        "result": result,
        "ev": ev,
        "version": __version__,
        "summary": summary(result),
        "distrust": distrust(result.results),
        "failed": failed,
        "waived": [r for r in ordered if r.status == Status.WAIVED],
        "top_findings": by_cause(result.results)[:3],
        "ordered": ordered,
        "blocking_ids": {r.rule.id for r in result.blocking},
        "metric_rows": _metric_table(result),
        "split_names": list(ev.splits),
        "environment": environment(),
        "plots": build_plots(result, figures),
        "weights": ev.weight_analysis,
        "thumbnails": thumbnails(result),
        "history_summary": summarize(result.history) if result.history else None,
        "study_matrices": _study_matrices(result),
        "baseline_matrices": _baseline_matrices(result),
    }


def _study_matrices(result: AuditResult) -> dict[str, Any] | None:
    """Return the control's and the chosen setting's validation matrices at the first seed.

    When the control stays, the setting closest to beating it stands beside it instead.
    """
    study = result.study
    if study is None:
        return None
    other = study.choice
    if other.setting.control:
        key = {"loss": "val_loss"}.get(study.prefer, study.prefer)
        sign = -1 if key == "val_loss" else 1
        rest = [s for s in study.settings if not s.setting.control and s.delta[key] == s.delta[key]]
        if not rest:
            return None
        other = max(rest, key=lambda s: sign * s.delta[key])
    seed = study.options.get("seed", 0)
    before = study.run(study.control.setting.label, seed)
    after = study.run(other.setting.label, seed)
    if before is None or after is None:
        return None
    view = side_by_side(
        study.classes,
        before.confusion_matrix,
        after.confusion_matrix,
        (f"the control ({study.control.setting.label})", other.setting.label),
    )
    view.update({"seed": seed, "chosen": not study.choice.setting.control})
    return view


def _baseline_matrices(result: AuditResult) -> dict[str, Any] | None:
    """Return the baseline's and the candidate's validation matrices, with the verdict."""
    ev = result.evaluation
    reference = ev.reference or {}
    old = (reference.get("splits") or {}).get("val") or {}
    new = ev.splits.get("val")
    matrix = old.get("confusion_matrix")
    if new is None or not matrix or len(matrix) != len(ev.classes):
        return None
    view = side_by_side(ev.classes, matrix, new.confusion_matrix, ("the baseline", "the candidate"))
    view["verdict"] = baseline_verdict(
        new.metrics, old.get("metrics") or {}, positive=len(ev.classes) == 2
    )
    return view


def render_html(result: AuditResult, ctx: dict[str, Any] | None = None) -> str:
    """Return report.html: one self-contained page, every user string escaped."""
    ctx = ctx if ctx is not None else context(result)
    return _environment().get_template("report.html.j2").render(**ctx, print_mode=False)


def render_pdf(result: AuditResult, ctx: dict[str, Any] | None = None) -> bytes:
    """Return report.pdf, rendered by WeasyPrint from the print variant of the HTML."""
    import logging

    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    ctx = ctx if ctx is not None else context(result)
    html = _environment().get_template("report.html.j2").render(**ctx, print_mode=True)
    # The report embeds everything it shows as data: URIs; any other URL can only come from user
    # text, so the fetcher refuses every other protocol (no network, no local files).
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    # Fonts are subset (WeasyPrint's default): with WeasyPrint 70 that writes in half the time of
    # embedding them whole, and a fifth of the bytes (about 0.3 MB instead of 1.5 MB).
    return HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
