"""Work done in a forked process while the parent goes on: the figures, the PDF.

Drawing is mostly Python (matplotlib) and so are the rules' many small NumPy calls: on two threads
they would take turns holding the GIL, in two processes they run side by side. The same goes for
laying out the PDF (WeasyPrint) while the parent renders the other reports. The child inherits its
inputs by `fork` (nothing is copied up front) and sends back only the answer, pickled. If the
process cannot be started, fails, is killed or does not answer in time, the parent does the work
itself; a child nobody collects is killed and reaped when it is garbage-collected.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from auditor.evaluation import Evaluation
    from auditor.report.plots import Figure

T = TypeVar("T")
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


def _child(read: int, write: int, work: Callable[[], Any]) -> None:
    """Work, send, and leave without running any of the parent's cleanup."""
    status = 1
    try:
        os.close(read)
        payload = pickle.dumps(work())
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _reap(pid: int, read: int) -> None:
    """Stop and collect a child whose answer is not wanted (or no longer awaited)."""
    for step in (lambda: os.close(read), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            step()
        except OSError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # already collected, or SIGCHLD is ignored by the host
        pass


class Forked(Generic[T]):
    """WORK() run by a forked child; `result()` waits for its answer (of type KIND)."""

    def __init__(self, work: Callable[[], T], kind: type):
        self._work, self._kind = work, kind
        self._answer: Any = None
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
                    _child(read, write, work)
                os.close(write)
        except OSError:  # no process to spare (EAGAIN, ENOMEM): work here when asked
            return
        self._pid, self._read = pid, read
        self._finalizer = weakref.finalize(self, _reap, pid, read)

    def result(self) -> T:
        """Return the child's answer, or the work done here if the child gave none."""
        if self._answer is None:
            received = self._receive()
            self._answer = received if isinstance(received, self._kind) else self._work()
        answer: T = self._answer
        return answer

    def cancel(self) -> None:
        """Stop the child, if any: its answer will not be used."""
        if self._finalizer is not None:
            self._finalizer()

    def _receive(self) -> Any:
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
            answer = pickle.loads(b"".join(chunks)) if status == 0 and chunks else None
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            answer = None
        finally:
            if status == -1:
                _reap(self._pid, self._read)
            else:
                try:
                    os.close(self._read)
                except OSError:
                    pass
        return answer


class Drawing(Forked[dict[str, "Figure"]]):
    """The figures of EVALUATION, drawn by a forked child; `result()` waits for them."""

    def __init__(self, evaluation: Evaluation, history: dict[str, list[float]] | None):
        super().__init__(lambda: _draw(evaluation, history), dict)
