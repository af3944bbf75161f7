"""Lays out the PDF report in a process forked before TensorFlow is imported.

The child imports WeasyPrint and compiles the report's template (half a second) on the second
core while the parent imports TensorFlow and loads the model on the first, then waits. When the
audit is done, the parent sends the result and its figures (pickled: about 20 MB and 10 ms at
1M rows) and renders the HTML while the child lays out the PDF. If the child cannot be started,
fails, is killed or does not answer in time, `result()` gives None and the parent renders the
PDF itself. Forked before TensorFlow starts its threads, the child holds no lock another thread
could have held.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import weakref
from typing import TYPE_CHECKING

from auditor.report.drawing import _FORKING, TIMEOUT_SECONDS, _reap, read_answer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from auditor.report.plots import Figure
    from auditor.result import AuditResult


def _read_job(fd: int) -> bytes:
    """Read one job: its length (8 bytes), then that many bytes; b"" if the pipe closes first.

    The length, not the end of the pipe, ends the job: children forked later by the parent (the
    figure drawings) hold copies of the pipe's writing end until they exit.
    """
    with os.fdopen(fd, "rb") as stream:
        head = stream.read(8)
        size = int.from_bytes(head, "big")
        job = stream.read(size) if len(head) == 8 else b""
    return job if len(job) == size else b""


def _serve(jobs: int, answers: int) -> None:
    """Warm up, wait for one job, answer it, and leave without the parent's cleanup."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        import weasyprint  # noqa: F401

        from auditor.report.html import context, render_pdf, template

        template("report.html.j2")  # compiled now, cached for the job
        job = _read_job(jobs)
        if job:  # nothing arrives when the parent has no use for us
            result, figures = pickle.loads(job)
            pdf = render_pdf(result, context(result, figures))
            with os.fdopen(answers, "wb") as pipe:
                pipe.write(pdf)
            status = 0
    finally:
        os._exit(status)


class PdfWorker:
    """A forked child, warm with WeasyPrint, that lays out one PDF report when asked."""

    def __init__(self) -> None:
        self._finalizer: weakref.finalize | None = None
        self._sender: threading.Thread | None = None
        try:
            with _FORKING:
                jobs_r, jobs_w = os.pipe()
                answers_r, answers_w = os.pipe()
                try:
                    pid = os.fork()
                except OSError:
                    for fd in (jobs_r, jobs_w, answers_r, answers_w):
                        os.close(fd)
                    raise
                if pid == 0:
                    os.close(jobs_w)
                    os.close(answers_r)
                    _serve(jobs_r, answers_w)
                os.close(jobs_r)
                os.close(answers_w)
        except OSError:  # no process to spare: the parent renders the PDF
            return
        self._pid, self._jobs, self._answers = pid, jobs_w, answers_r
        self._open = opened = [jobs_w, answers_r]  # what the finalizer closes (less the sender's)
        self._finalizer = weakref.finalize(self, lambda: _reap(pid, *opened))  # holds no self

    def render(self, result: AuditResult, figures: Mapping[str, Figure] | None) -> None:
        """Send RESULT and its FIGURES to the child, from a thread: the caller goes on."""
        if self._finalizer is None or not self._finalizer.alive:
            return
        try:
            drawn = dict(figures) if figures is not None else None  # None: the child draws them
            job = pickle.dumps((result, drawn), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001  (anything unpicklable: the parent renders the PDF)
            self.cancel()
            return

        def send() -> None:
            try:
                with os.fdopen(self._jobs, "wb") as pipe:
                    pipe.write(len(job).to_bytes(8, "big"))
                    pipe.write(job)
            except OSError:  # the child is gone; result() finds no answer
                pass

        self._open.remove(self._jobs)  # the sender closes it when the job is written
        self._sender = threading.Thread(target=send, name="auditor-pdf-job", daemon=True)
        self._sender.start()

    def result(self) -> bytes | None:
        """Return the PDF's bytes, or None if the child gave none (render it here then)."""
        if self._sender is None or self._finalizer is None or not self._finalizer.alive:
            return None
        self._finalizer.detach()
        try:
            pdf = read_answer(self._pid, self._answers, TIMEOUT_SECONDS)
        finally:
            self._sender.join(timeout=1.0)
        return pdf if pdf and pdf.startswith(b"%PDF") else None

    def cancel(self) -> None:
        """Stop the child: its PDF will not be wanted."""
        if self._finalizer is not None:
            self._finalizer()
