"""Report work in forked processes: the figures, drawn while the rules run, and the PDF, laid out
by a child forked before TensorFlow loads. The same bytes as drawn here, and a safe fallback."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.api import audit, audit_and_write
from auditor.report import drawing, pdf_worker
from auditor.report.html import context, render_pdf
from auditor.report.plots import FIGURE_GROUPS, evaluation_figures
from auditor.report.writer import write_reports
from auditor.result import AuditResult

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is Linux-only")


@pytest.fixture(scope="module")
def result(tiny_binary: Any) -> AuditResult:
    return audit(
        tiny_binary.path("keras"),
        train=tiny_binary.split("train"),
        val=tiny_binary.split("val"),
        history={"loss": [0.7, 0.5, 0.4], "val_loss": [0.7, 0.55, 0.5]},
    )


def test_the_forked_figures_equal_the_figures_drawn_here(result: AuditResult) -> None:
    here = evaluation_figures(result.evaluation, result.history)
    forked = drawing.Drawing(result.evaluation, result.history).result()
    assert set(forked) == set(here) >= {"confusion", "calibration", "curves", "history"}
    assert forked == here  # PNGs without metadata: the same bytes
    both = drawing.Drawings(result.evaluation, result.history).result()
    assert both == here and all(set(part) & set(here) for part in FIGURE_GROUPS)


def test_audit_and_write_draws_in_the_background_only_for_html_or_pdf(
    tiny_binary: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = {"train": tiny_binary.split("train"), "val": tiny_binary.split("val")}
    given: list[Any] = []
    collected: list[dict[str, Any]] = []
    write_reports = api.write_reports

    def spy(result: AuditResult, out: Path, formats: Any, **kwargs: Any) -> list[Path]:
        figures = kwargs.get("figures")
        given.append(figures)
        if figures is not None:  # what the writer would get from the child
            collected.append(figures.result())
        return write_reports(result, out, formats, **kwargs)

    monkeypatch.setattr(api, "write_reports", spy)
    _, written = audit_and_write(
        tiny_binary.path("keras"), out=tmp_path / "text", formats=("json", "md"), **paths
    )
    assert given == [None] and [p.name for p in written] == ["report.json", "summary.md"]
    result, written = audit_and_write(
        tiny_binary.path("keras"), out=tmp_path / "html", formats=("json", "html"), **paths
    )
    assert isinstance(given[-1], drawing.Drawings)
    assert collected == [evaluation_figures(result.evaluation, None)]
    assert [p.name for p in written] == ["report.json", "report.html"]
    assert not hasattr(result, "drawing")  # the value holds no process


def _fails_in_the_child(parent: int) -> Any:
    def draw(job: Any) -> dict[str, str]:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return {"drawn": "here"}

    return draw


def test_a_failing_child_leaves_the_parent_to_draw(
    result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drawing, "_draw", _fails_in_the_child(os.getpid()))
    assert drawing.Drawing(result.evaluation, None).result() == {"drawn": "here"}


def test_a_child_that_does_not_answer_is_killed(
    result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()

    def draw(job: Any) -> dict[str, str]:
        if os.getpid() != parent:
            time.sleep(60)
        return {"drawn": "here"}

    monkeypatch.setattr(drawing, "_draw", draw)
    monkeypatch.setattr(drawing, "TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    assert drawing.Drawing(result.evaluation, None).result() == {"drawn": "here"}
    assert time.monotonic() - started < 30


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_no_process_to_spare_means_drawing_here(
    result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(drawing.os, "fork", no_fork)
    fds = _open_fds()
    started = drawing.Drawing(result.evaluation, None)
    assert _open_fds() == fds  # both ends of the pipe closed again
    assert started.result() == evaluation_figures(result.evaluation, None)


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_an_uncollected_drawing_is_killed_and_reaped(result: AuditResult) -> None:
    import gc

    fds = _open_fds()
    abandoned = drawing.Drawing(result.evaluation, None)
    pid = abandoned._pid
    del abandoned
    gc.collect()
    assert _gone(pid) and _open_fds() == fds
    cancelled = drawing.Drawing(result.evaluation, None)
    cancelled.cancel()
    assert _gone(cancelled._pid) and _open_fds() == fds
    assert cancelled.result() == evaluation_figures(result.evaluation, None)  # drawn here


@pytest.fixture()
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The process ids of every child the audit starts, to check on them afterwards."""
    found: list[int] = []

    def figures(*args: Any) -> drawing.Drawings:
        drawings = drawing.Drawings(*args)
        found.extend(part._pid for part in drawings._parts)
        return drawings

    def pdf() -> pdf_worker.PdfWorker:
        worker = pdf_worker.PdfWorker()
        found.append(worker._pid)
        return worker

    monkeypatch.setattr(api, "Drawings", figures)
    monkeypatch.setattr(api, "PdfWorker", pdf)
    return found


def _audit_html(tiny: Any, out: Path) -> None:
    audit_and_write(
        tiny.path("keras"),
        train=tiny.split("train"),
        val=tiny.split("val"),
        out=out,
        formats=("html", "pdf"),
    )


def test_an_audit_that_fails_after_the_fork_stops_the_child(
    tiny_binary: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    def broken_rules(*args: Any) -> None:
        raise RuntimeError("a rule kind failed")

    monkeypatch.setattr(api, "run_rules", broken_rules)
    with pytest.raises(RuntimeError, match="a rule kind failed"):
        _audit_html(tiny_binary, tmp_path)
    assert len(started) == 3 and all(_gone(pid) for pid in started)


def test_reports_that_cannot_be_written_stop_the_child(
    tiny_binary: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Any]
) -> None:
    from auditor.errors import OutputError

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OutputError(f"{tmp_path}: cannot write the report (No space left on device)")

    monkeypatch.setattr(api, "write_reports", full_disk)  # the folder was fine before the audit
    with pytest.raises(OutputError, match="cannot write the report"):
        _audit_html(tiny_binary, tmp_path / "reports")
    assert len(started) == 3 and all(_gone(pid) for pid in started)


def test_the_pdf_laid_out_by_the_child_is_the_pdf_laid_out_here(result: AuditResult) -> None:
    figures = evaluation_figures(result.evaluation, result.history)
    worker = pdf_worker.PdfWorker()
    worker.render(result, figures)
    assert worker.result() == render_pdf(result, context(result, figures))  # the same bytes
    assert _gone(worker._pid)


def test_the_audit_forks_the_pdf_child_before_loading_the_model_and_writes_its_pdf(
    tiny_binary: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    laid_out: list[bytes | None] = []
    load = api._model

    class Recorded(pdf_worker.PdfWorker):
        def __init__(self) -> None:
            order.append("pdf child")
            super().__init__()

        def result(self) -> bytes | None:
            laid_out.append(super().result())
            return laid_out[-1]

    def loading(*args: Any) -> Any:
        order.append("model")
        return load(*args)

    monkeypatch.setattr(api, "PdfWorker", Recorded)
    monkeypatch.setattr(api, "_model", loading)
    result, written = audit_and_write(
        tiny_binary.path("keras"),
        train=tiny_binary.split("train"),
        val=tiny_binary.split("val"),
        out=tmp_path,
        formats=("json", "pdf"),
    )
    assert order == ["pdf child", "model"]
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert laid_out == [pdf]  # the child's bytes, not a fallback's
    assert pdf == render_pdf(result, context(result, evaluation_figures(result.evaluation, None)))


def test_the_pdf_child_answers_while_another_child_holds_a_copy_of_its_job_pipe(
    result: AuditResult,
) -> None:
    import signal

    worker = pdf_worker.PdfWorker()
    holder = os.fork()  # as a figure drawing forked later does: it inherits the pipe's ends
    if holder == 0:
        time.sleep(60)
        os._exit(0)
    try:
        started = time.monotonic()
        worker.render(result, None)
        assert worker.result() == render_pdf(result, context(result))
        assert time.monotonic() - started < 30  # ended by the job's length, not by the pipe's end
    finally:
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)


def test_a_pdf_child_that_dies_or_gets_no_job_leaves_the_parent_to_lay_out(
    result: AuditResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    expected = render_pdf(result, context(result))
    dead = pdf_worker.PdfWorker()
    os.kill(dead._pid, signal.SIGKILL)
    write_reports(result, tmp_path, ("pdf",), pdf_worker=dead)
    assert (tmp_path / "report.pdf").read_bytes() == expected and _gone(dead._pid)

    def unpicklable(*args: Any, **kwargs: Any) -> bytes:
        raise TypeError("cannot pickle '_thread.lock' object")

    monkeypatch.setattr(pdf_worker.pickle, "dumps", unpicklable)
    fds = _open_fds()
    refused = pdf_worker.PdfWorker()
    refused.render(result, None)
    assert refused.result() is None and _gone(refused._pid) and _open_fds() == fds


def test_an_unused_pdf_child_is_stopped_and_reaped(result: AuditResult) -> None:
    import gc

    fds = _open_fds()
    abandoned = pdf_worker.PdfWorker()
    pid = abandoned._pid
    del abandoned
    gc.collect()
    assert _gone(pid) and _open_fds() == fds
    cancelled = pdf_worker.PdfWorker()
    cancelled.cancel()
    assert _gone(cancelled._pid) and _open_fds() == fds and cancelled.result() is None
