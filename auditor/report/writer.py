"""Writes the chosen report formats into a folder, all or nothing (render first, then rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import OutputError

if TYPE_CHECKING:
    from auditor.report.drawing import FigureSource
    from auditor.report.pdf_worker import PdfWorker
    from auditor.result import AuditResult

FORMATS = ("json", "html", "pdf", "junit", "md")
FILE_NAMES = {
    "json": "report.json",
    "html": "report.html",
    "pdf": "report.pdf",
    "junit": "junit.xml",
    "md": "summary.md",
}
FIGURE_FORMATS = frozenset({"html", "pdf"})  # the formats that show the evaluation's figures


def _render(
    result: AuditResult,
    formats: Sequence[str],
    names: Mapping[str, str],
    figures: FigureSource | None,
    pdf_worker: PdfWorker | None = None,
) -> dict[str, bytes]:
    from auditor.report.html import context, render_html, render_pdf
    from auditor.report.json_report import report_json
    from auditor.report.junit import render_junit
    from auditor.report.markdown import render_markdown

    if "pdf" not in formats:
        pdf_worker = None
    if "pdf" in formats and pdf_worker is None:
        # A third of a second of imports, taken while the figures may still be drawing.
        import weasyprint  # noqa: F401

    texts: dict[str, Callable[[], bytes]] = {
        "json": lambda: (report_json(result) + "\n").encode("utf-8"),
        "junit": lambda: render_junit(result),
        "md": lambda: render_markdown(result, names["html"]).encode("utf-8"),
    }
    # The reports without figures first, while the figures may still be drawing in a child.
    rendered = {fmt: texts[fmt]() for fmt in formats if fmt in texts}
    if FIGURE_FORMATS & set(formats):
        drawn = figures.result() if figures is not None else None
        if pdf_worker is not None:
            pdf_worker.render(result, drawn)  # laid out there while the HTML renders here
        # HTML and PDF share one context, so the plots are drawn once.
        ctx = context(result, drawn)
        if "html" in formats:
            rendered["html"] = render_html(result, ctx).encode("utf-8")
        if "pdf" in formats:
            laid_out = pdf_worker.result() if pdf_worker is not None else None
            rendered["pdf"] = laid_out if laid_out is not None else render_pdf(result, ctx)
    return {fmt: rendered[fmt] for fmt in formats}


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def check_output(out_dir: str | Path) -> None:
    """Refuse an output folder that cannot be created or written, before any work is done.

    The messages are those `write_reports` gives when it meets the same folder.
    """
    out = Path(out_dir)
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        reason = "File exists" if existing == out else "Not a directory"
        raise OutputError(f"{out}: cannot create the output folder ({reason})")
    if not os.access(existing, os.W_OK):
        if existing == out:
            raise OutputError(
                f"{out}: output folder is not writable; pass --out with a writable folder"
            )
        raise OutputError(f"{out}: cannot create the output folder (Permission denied)")


def write_reports(
    result: AuditResult,
    out_dir: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    names: Mapping[str, str] | None = None,
    figures: FigureSource | None = None,
    pdf_worker: PdfWorker | None = None,
) -> list[Path]:
    """Render every format in memory, then move each into OUT_DIR; return the written paths.

    NAMES replaces some formats' file names. FIGURES is where the HTML and PDF reports get the
    evaluation's figures (a `Drawing` started earlier, say); without it they are drawn here.
    PDF_WORKER, a `PdfWorker` started earlier, lays out the PDF; without it, it is laid out here.
    """
    out = Path(out_dir)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise OutputError(
            f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise OutputError(
            f"{out}: output folder is not writable; pass --out with a writable folder"
        )
    files = {**FILE_NAMES, **(names or {})}
    rendered = _render(result, formats, files, figures, pdf_worker)
    written: list[Path] = []
    temps: list[tuple[str, Path]] = []
    try:
        for fmt, content in rendered.items():
            handle, tmp = tempfile.mkstemp(dir=out, prefix=".auditor-", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are meant to be shared
            temps.append((tmp, out / files[fmt]))
        for tmp, target in temps:
            os.replace(tmp, target)
            written.append(target)
    except OSError as exc:
        # All or nothing: take back the files already moved into place, and every temporary file.
        for path in written:
            path.unlink(missing_ok=True)
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{out}: cannot write the report ({exc.strerror or exc})") from None
    return written
