"""The study's runs as Ray tasks (`--study` with `--engine ray`): the same runs, on the cluster.

The driver puts the saved model and the sampled rows in Ray's object store once; each task writes
them into a folder of its worker process (once per process) and runs `worker.run` there, so a
remote cluster needs no shared disk. A task whose worker dies is retried by Ray.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.study import worker
from auditor.study.values import StudyRun

RETRIES = 3  # times Ray runs a task again whose worker died
_FOLDERS: dict[str, str] = {}  # per worker process: digest of the model -> its folder


def run_task(model: bytes, rows: bytes, line: str) -> dict[str, Any]:
    """Run one study task (a `worker.Task` as JSON) with the model and rows given as bytes."""
    digest = hashlib.sha256(model).hexdigest()[:16] + hashlib.sha256(rows).hexdigest()[:16]
    if digest not in _FOLDERS:
        worker.initialize(1)  # Ray gives the task one CPU: TensorFlow keeps to one thread
        folder = tempfile.mkdtemp(prefix="auditor-study-")
        (Path(folder) / "model.keras").write_bytes(model)
        (Path(folder) / "rows.npz").write_bytes(rows)
        _FOLDERS[digest] = folder
    return worker.run(replace(worker.Task.from_json(line), folder=_FOLDERS[digest]))


def run_all(
    folder: str,
    tasks: Sequence[worker.Task],
    address: str,
    heard: Callable[[StudyRun, worker.Task], None],
) -> None:
    """Run TASKS as Ray tasks (one CPU each) on the cluster at ADDRESS; HEAR each as it ends."""
    import ray

    owned = not ray.is_initialized()
    if owned:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ray.init(
                    address=address,
                    num_cpus=os.cpu_count() if address == "local" else None,
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise AuditorError(f"--study on Ray ({address}): cannot connect ({exc})") from None
    try:
        model = ray.put((Path(folder) / "model.keras").read_bytes())
        rows = ray.put((Path(folder) / "rows.npz").read_bytes())
        remote = ray.remote(num_cpus=1, max_retries=RETRIES)(run_task)
        by_ref = {remote.remote(model, rows, task.to_json()): task for task in tasks}
        pending = list(by_ref)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                task = by_ref[ref]
                try:
                    answer = ray.get(ref)
                except Exception as exc:  # a task that raised: its error, on one line
                    cause = getattr(exc, "cause", None) or exc
                    why = str(cause).strip().splitlines()[-1] if str(cause).strip() else ""
                    for other in pending:
                        ray.cancel(other)
                    raise AuditorError(
                        f"--study: a retraining run failed ({task.label}, seed {task.seed}: "
                        f"{type(cause).__name__}: {why})"
                    ) from None
                heard(StudyRun(**answer), task)
    finally:
        if owned:
            ray.shutdown()
