"""Draws the report's figures in a forked process while the parent judges the rules.

Drawing is mostly Python (matplotlib) and so are the rules' many small NumPy calls: on two threads
they would take turns holding the GIL, in two processes they run side by side. The child inherits
the evaluation by `fork` (nothing is copied up front) and sends back only the encoded figures. If
the child fails, is killed or does not answer in time, the parent draws the figures itself.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.evaluate import Evaluation

TIMEOUT_SECONDS = 120.0


def _draw(evaluation: Evaluation, history: dict[str, list[float]] | None) -> dict[str, str]:
    from auditor.report.plots import evaluation_figures

    return evaluation_figures(evaluation, history)


class Drawing:
    """The figures of EVALUATION, drawn by a forked child; `result()` waits for them."""

    def __init__(self, evaluation: Evaluation, history: dict[str, list[float]] | None):
        self._args = (evaluation, history)
        self._figures: dict[str, str] | None = None
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: draw, send, and leave without running the parent's cleanup
            status = 1
            try:
                os.close(read)
                payload = pickle.dumps(_draw(evaluation, history))
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> dict[str, str]:
        """Return the figures by name: the child's, or drawn here if the child gave none."""
        if self._figures is None:
            self._figures = self._receive()
            if self._figures is None:
                self._figures = _draw(*self._args)
        return self._figures

    def _receive(self) -> dict[str, str] | None:
        chunks = []
        try:
            with os.fdopen(self._read, "rb", buffering=0) as pipe:
                while select.select([pipe], [], [], TIMEOUT_SECONDS)[0]:
                    chunk = pipe.read(1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
                else:
                    os.kill(self._pid, signal.SIGKILL)
        finally:
            _, status = os.waitpid(self._pid, 0)
        if status != 0 or not chunks:
            return None
        figures = pickle.loads(b"".join(chunks))
        return figures if isinstance(figures, dict) else None
