"""Figures drawn in a forked process while the rules run: same figures, and a safe fallback."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pytest

from auditor import drawing
from auditor.api import AuditResult, audit
from auditor.report.plots import evaluation_figures

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


def test_audit_draws_in_the_background_only_for_html_or_pdf(tiny_binary: Any) -> None:
    paths = {"train": tiny_binary.split("train"), "val": tiny_binary.split("val")}
    assert audit(tiny_binary.path("keras"), **paths, prepare=("json", "md")).drawing is None
    started = audit(tiny_binary.path("keras"), **paths, prepare=("json", "pdf"))
    assert isinstance(started.drawing, drawing.Drawing)
    assert started.figures() == evaluation_figures(started.evaluation, None)


def _fails_in_the_child(parent: int) -> Any:
    def draw(evaluation: Any, history: Any) -> dict[str, str]:
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

    def draw(evaluation: Any, history: Any) -> dict[str, str]:
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


def test_an_audit_that_fails_after_the_fork_stops_the_child(
    tiny_binary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.api as api

    started: list[drawing.Drawing] = []

    def remember(*args: Any) -> drawing.Drawing:
        started.append(drawing.Drawing(*args[:2]))
        return started[-1]

    def broken_rules(*args: Any) -> None:
        raise RuntimeError("a rule kind failed")

    monkeypatch.setattr(api, "_draw_in_background", remember)
    monkeypatch.setattr(api, "run_rules", broken_rules)
    with pytest.raises(RuntimeError, match="a rule kind failed"):
        audit(
            tiny_binary.path("keras"),
            train=tiny_binary.split("train"),
            val=tiny_binary.split("val"),
            prepare=("html",),
        )
    assert len(started) == 1 and _gone(started[0]._pid)


def test_multiclass_curves_from_a_stride_of_rows(
    tiny_multiclass: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.report import plots

    ev = audit(
        tiny_multiclass.path("keras"),
        train=tiny_multiclass.split("train"),
        val=tiny_multiclass.split("val"),
    ).evaluation
    calls: list[int] = []
    ranking = plots.ranking

    def counted(truth: Any, score: Any) -> Any:
        calls.append(len(score))
        return ranking(truth, score)

    monkeypatch.setattr(plots, "ranking", counted)
    monkeypatch.setattr(plots, "MICRO_ROWS", 50)
    assert plots.roc_pr_curves(ev).startswith("data:image/png;base64,")
    # train 400 rows -> every 8th row, val 200 -> every 4th: 50 rows x 3 classes each
    assert calls == [150, 150]
