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
    from collections.abc import Collection

    from auditor.evaluation import Evaluation
    from auditor.report.plots import Figure

TIMEOUT_SECONDS = 120.0
_FORKING = threading.Lock()  # a child forked by another thread must not inherit our pipe's end


class FigureSource(Protocol):
    """Where the report writer gets the evaluation's figures: a `Drawing`, or anything alike."""

    def result(self) -> dict[str, Figure]:
        """Return the figures by name."""
        ...


Job = tuple["Evaluation", "dict[str, list[float]] | None", "Collection[str] | None"]


def _draw(job: Job) -> dict[str, Figure]:
    from auditor.report.plots import evaluation_figures

    return evaluation_figures(*job)


def _child(read: int, write: int, job: Job) -> None:
    """Draw, send, and leave without running any of the parent's cleanup."""
    status = 1
    try:
        os.close(read)
        payload = pickle.dumps(_draw(job))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _reap(pid: int, *fds: int) -> None:
    """Close our ends of child PID's pipes (FDS), stop the child and collect it.

    For a child whose answer is not wanted, or no longer awaited.
    """
    for step in [*(lambda fd=fd: os.close(fd) for fd in fds), lambda: os.kill(pid, signal.SIGKILL)]:
        try:
            step()
        except OSError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # already collected, or SIGCHLD is ignored by the host
        pass


class Drawing:
    """The figures of EVALUATION (those in NAMES, or all), drawn by a forked child.

    `result()` waits for them.
    """

    def __init__(
        self,
        evaluation: Evaluation,
        history: dict[str, list[float]] | None,
        names: Collection[str] | None = None,
    ):
        self._job: Job = (evaluation, history, names)
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
                    _child(read, write, self._job)
                os.close(write)
        except OSError:  # no process to spare (EAGAIN, ENOMEM): draw here when asked
            return
        self._pid, self._read = pid, read
        self._finalizer = weakref.finalize(self, _reap, pid, read)

    def result(self) -> dict[str, Figure]:
        """Return the figures by name: the child's, or drawn here if the child gave none."""
        if self._figures is None:
            self._figures = self._receive() or _draw(self._job)
        return self._figures

    def cancel(self) -> None:
        """Stop the child, if any: its figures will not be used."""
        if self._finalizer is not None:
            self._finalizer()

    def _receive(self) -> dict[str, Figure] | None:
        if self._finalizer is None or not self._finalizer.alive:
            return None
        self._finalizer.detach()  # from here on, read_answer reads, kills if need be and reaps
        payload = read_answer(self._pid, self._read, TIMEOUT_SECONDS)
        try:
            figures = pickle.loads(payload) if payload else None
        except (ValueError, pickle.UnpicklingError, EOFError):
            figures = None
        return figures if isinstance(figures, dict) else None


def read_answer(pid: int, read: int, timeout: float) -> bytes | None:
    """Read child PID's answer from READ until it closes it, then reap the child.

    Return the bytes if the child exited with status 0, else None. A child silent for TIMEOUT
    seconds is killed. READ is closed in every case.
    """
    chunks = []
    status = -1
    try:
        with selectors.DefaultSelector() as waiting:
            waiting.register(read, selectors.EVENT_READ)
            while waiting.select(timeout):
                chunk = os.read(read, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            else:  # no answer in time
                os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
    except (OSError, ValueError):
        pass
    finally:
        if status == -1:
            _reap(pid, read)
        else:
            try:
                os.close(read)
            except OSError:
                pass
    return b"".join(chunks) if status == 0 and chunks else None


class Drawings:
    """The figures of EVALUATION drawn by two children at once, a group each (`FIGURE_GROUPS`).

    Matplotlib draws on one core; the parent has work of its own for a while (the rules, the
    text reports), so the two children share the rest of the machine.
    """

    def __init__(self, evaluation: Evaluation, history: dict[str, list[float]] | None):
        from auditor.report.plots import FIGURE_GROUPS

        self._parts = [Drawing(evaluation, history, names) for names in FIGURE_GROUPS]

    def result(self) -> dict[str, Figure]:
        """Return the figures by name, each group from its child (or drawn here)."""
        return {name: f for part in self._parts for name, f in part.result().items()}

    def cancel(self) -> None:
        """Stop the children, if any: their figures will not be used."""
        for part in self._parts:
            part.cancel()
