"""The local engine: shards one after the other in this process, hashing on a second thread."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.errors import DataError
from auditor.facts.rows import RowFacts
from auditor.facts.shard import ShardFacts

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.engines import Progress
    from auditor.loading.data import SplitReader
    from auditor.loading.model import LoadedModel


def accumulate(
    model: LoadedModel,
    reader: SplitReader,
    scale: np.ndarray,
    sample_rows: int,
    progress: Progress | None,
    timings: dict[str, float],
) -> list[ShardFacts]:
    """Read, predict and accumulate every shard of READER in turn."""
    found = []
    # Hashing and statistics run on a second thread while the next batch is read and predicted
    # (NumPy and TensorFlow both release the GIL); one worker keeps them in order.
    with ThreadPoolExecutor(max_workers=1) as worker:
        for shard in reader.shards():
            facts = ShardFacts(RowFacts(scale=scale, sample_rows_limit=sample_rows))
            pending: list[Future[None]] = []
            try:
                _shard(model, reader, shard.batches(), worker, pending, facts, progress, timings)
            finally:
                for future in pending:
                    future.result()  # re-raises a failure of the facts thread
            facts.report = shard.report
            found.append(facts)
    return found


def _timed(fn: Callable[..., None], timings: dict[str, float], *args: Any) -> None:
    started = time.perf_counter()
    fn(*args)
    timings["row_facts"] += time.perf_counter() - started


def _shard(
    model: LoadedModel,
    reader: SplitReader,
    batches: Any,
    worker: ThreadPoolExecutor,
    pending: list[Future[None]],
    facts: ShardFacts,
    progress: Progress | None,
    timings: dict[str, float],
) -> None:
    clock = time.perf_counter
    while True:
        started = clock()
        batch = next(batches, None)
        timings["read"] += clock() - started
        if batch is None:
            break
        started = clock()
        raw = model.predict_raw(batch.x)
        proba = model.to_proba(raw)
        losses = model.loss(batch.y, raw)
        timings["predict"] += clock() - started
        check_predictions(model, reader, batch, proba)
        # At most one batch waits for the facts thread, so memory holds two batches, not the split.
        if pending:
            pending.pop().result()
        pending.append(
            worker.submit(_timed, facts.rows.update, timings, batch.x, batch.y, batch.rows)
        )
        facts.add(batch.y, proba, losses)
        if progress is not None:
            progress(reader.name, len(batch.y))


def check_predictions(model: LoadedModel, reader: SplitReader, batch: Any, proba: Any) -> None:
    """Refuse predictions that are not finite probabilities, naming the first bad row."""
    bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        raise DataError(
            f"{reader.path}: the model predicted NaN or infinity for {int(bad.sum())} row(s) "
            f"(first: row {int(batch.rows[int(np.argmax(bad))])}); check the inputs' scale"
        )
    if model.info.output == "probability" and (proba.min() < -1e-6 or proba.max() > 1 + 1e-6):
        raise DataError(
            f"{model.info.path}: the model's outputs are not probabilities (range "
            f"{proba.min():.3g}..{proba.max():.3g}); auditor needs a sigmoid or softmax output"
        )
