"""Draws the report's figures in a forked process while the parent judges the rules.

Drawing is mostly Python (matplotlib) and so are the rules' many small NumPy calls: on two threads
they would take turns holding the GIL, in two processes they run side by side. The child inherits
the evaluation by `fork` (nothing is copied up front) and sends back only the encoded figures. If
the process cannot be started, fails, is killed or does not answer in time, the parent draws the
figures itself; a drawing nobody collects is killed and reaped when it is garbage-collected.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import threading
import weakref
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from auditor.evaluation import Evaluation
    from auditor.report.plots import Figure

TIMEOUT_SECONDS = 120.0
_FORKING = threading.Lock()  # a child forked by another thread must not inherit our pipe's end


class FigureSource(Protocol):
    """Where the report writer gets the evaluation's figures: a `Drawing`, or anything alike."""

    def result(self) -> dict[str, Figure]:
        """Return the figures by name."""
        ...


def _draw(evaluation: Evaluation, history: dict[str, list[float]] | None) -> dict[str, Figure]:
    from auditor.report.plots import evaluation_figures

    return evaluation_figures(evaluation, history)


def _child(read: int, write: int, evaluation: Evaluation, history: dict | None) -> None:
    """Draw, send, and leave without running any of the parent's cleanup."""
    status = 1
    try:
        os.close(read)
        payload = pickle.dumps(_draw(evaluation, history))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _reap(pid: int, read: int) -> None:
    """Stop and collect a child whose figures are not wanted (or no longer awaited)."""
    for step in (lambda: os.close(read), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            step()
        except OSError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # already collected, or SIGCHLD is ignored by the host
        pass


class Drawing:
    """The figures of EVALUATION, drawn by a forked child; `result()` waits for them."""

    def __init__(self, evaluation: Evaluation, history: dict[str, list[float]] | None):
        self._args = (evaluation, history)
        self._figures: dict[str, Figure] | None = None
        self._finalizer: weakref.finalize | None = None
        try:
            with _FORKING:
                read, write = os.pipe()
                try:
                    pid = os.fork()
                except OSError:
                    os.close(read)
                    os.close(write)
                    raise
                if pid == 0:
                    _child(read, write, evaluation, history)
                os.close(write)
        except OSError:  # no process to spare (EAGAIN, ENOMEM): draw here when asked
            return
        self._pid, self._read = pid, read
        self._finalizer = weakref.finalize(self, _reap, pid, read)

    def result(self) -> dict[str, Figure]:
        """Return the figures by name: the child's, or drawn here if the child gave none."""
        if self._figures is None:
            self._figures = self._receive() or _draw(*self._args)
        return self._figures

    def cancel(self) -> None:
        """Stop the child, if any: its figures will not be used."""
        if self._finalizer is not None:
            self._finalizer()

    def _receive(self) -> dict[str, Figure] | None:
        if self._finalizer is None or not self._finalizer.alive:
            return None
        self._finalizer.detach()  # from here on, this call reads, kills if need be and reaps
        chunks = []
        status = -1
        try:
            with selectors.DefaultSelector() as waiting:
                waiting.register(self._read, selectors.EVENT_READ)
                while waiting.select(TIMEOUT_SECONDS):
                    chunk = os.read(self._read, 1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
                else:  # no answer in time
                    os.kill(self._pid, signal.SIGKILL)
            status = os.waitpid(self._pid, 0)[1]
            figures = pickle.loads(b"".join(chunks)) if status == 0 and chunks else None
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            figures = None
        finally:
            if status == -1:
                _reap(self._pid, self._read)
            else:
                try:
                    os.close(self._read)
                except OSError:
                    pass
        return figures if isinstance(figures, dict) else None
