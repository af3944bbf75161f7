"""The local engine: shards one after the other in this process, hashing on a second thread.

Its row hashes stay in this process as one bucket per shard, matched here (`local_map`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.engines import Accumulated, shard_done
from auditor.errors import DataError
from auditor.facts.buckets import local_map
from auditor.facts.rows import GRID_ROWS, RowFacts, near_grid
from auditor.facts.shard import Scoring, ShardFacts

if TYPE_CHECKING:
    from auditor.engines import Progress
    from auditor.loading.data import Batch, Shard, SplitReader
    from auditor.loading.model import LoadedModel
    from auditor.options import AuditOptions


@dataclass(frozen=True)
class LocalSession:
    """The local engine for one audit: every split's shards in this process, in turn."""

    model: LoadedModel

    def accumulate(
        self,
        reader: SplitReader,
        scale: np.ndarray | None,
        scoring: Scoring,
        sample_rows: int,
        progress: Progress | None,
        timings: dict[str, float],
    ) -> Accumulated:
        """Read, predict and accumulate every shard of READER in turn (see `accumulate`).

        The rows' labels and probabilities are kept whole, as SCORING (without splitters) says.
        """
        shards = accumulate(self.model, reader, scale, scoring, sample_rows, progress, timings)
        for facts in shards:
            facts.keys = [[part] for part in facts.take_keys(self.bucket_bits)]
        return Accumulated(
            functools.reduce(ShardFacts.merge, shards) if shards else None, len(shards)
        )

    @property
    def bucket_bits(self) -> int:
        """One bucket: the whole-array matching, in this process."""
        return 0

    def map_buckets(
        self, fn: Callable[..., Any], tasks: list[tuple[tuple[Any, ...], list[list[Any]]]]
    ) -> list[Any]:
        """Match the buckets here, one after the other."""
        return local_map(fn, tasks)

    def describe(self) -> dict[str, Any]:
        """Name the engine and its workers, for the report."""
        return {"name": "local", "workers": 1, "address": None}

    def close(self) -> None:
        """Nothing to stop: the local engine holds no resources between splits."""


def start(model: LoadedModel, options: AuditOptions) -> LocalSession:
    """Start the local engine for one audit of MODEL."""
    return LocalSession(model)


def shard_facts(
    model: LoadedModel,
    shard: Shard,
    where: Any,
    scale: np.ndarray,
    scoring: Scoring,
    sample_rows: int,
    timings: dict[str, float],
) -> ShardFacts:
    """Read, predict and accumulate one shard on the grid SCALE (an engine's unit of work).

    The same steps as `accumulate`, for an engine that hands shards to workers: WHERE names the
    split in messages. As there, each batch is hashed on a second thread while the next one is
    read and predicted.
    """
    clock = time.perf_counter
    facts = ShardFacts.start(RowFacts(scale, sample_rows), scoring)

    def hash_batch(batch: Batch) -> None:
        started = clock()
        facts.rows.update(table(batch), batch.y, batch.rows, batch.text, batch.images)
        timings["row_facts"] += clock() - started

    batches = shard.batches()
    with ThreadPoolExecutor(max_workers=1) as hasher:
        pending: Future[None] | None = None
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
            check_predictions(model, where, batch, proba)
            facts.add(batch.y, proba, losses)
            if pending is not None:
                pending.result()  # batches are hashed in order, one waiting at most
            pending = hasher.submit(hash_batch, batch)
        if pending is not None:
            pending.result()
    facts.report = shard.report
    return facts


def accumulate(
    model: LoadedModel,
    reader: SplitReader,
    scale: np.ndarray | None,
    scoring: Scoring,
    sample_rows: int,
    progress: Progress | None,
    timings: dict[str, float],
) -> list[ShardFacts]:
    """Read, predict and accumulate every shard of READER in turn.

    Without SCALE, the near-duplicate grid comes from the split's first GRID_ROWS rows, whose
    hashing waits until they are in (they are read once).
    """
    return _Pipeline(model, reader, scale, scoring, sample_rows, progress, timings).run()


@dataclass
class _Pipeline:
    """One split's batches: read and predicted here, hashed in order on a second thread.

    NumPy and TensorFlow both release the GIL, so hashing the last batch overlaps reading and
    predicting the next one, across shard borders too. At most one batch waits for the facts
    thread (once the grid is known), so memory holds two batches, not the split.
    """

    model: LoadedModel
    reader: SplitReader
    scale: np.ndarray | None
    scoring: Scoring
    sample_rows: int
    progress: Progress | None
    timings: dict[str, float]
    pending: list[Future[None]] = field(default_factory=list)
    shards: list[ShardFacts] = field(default_factory=list)
    waiting: list[tuple[RowFacts, Batch]] = field(default_factory=list)  # awaiting the grid
    waiting_rows: int = 0

    def run(self) -> list[ShardFacts]:
        with ThreadPoolExecutor(max_workers=1) as self.worker:
            try:
                refused = False  # an invalid row without --drop-invalid-rows: the split fails
                shards = self.reader.shards()
                for done, shard in enumerate(shards, 1):
                    facts = ShardFacts.start(RowFacts(self.scale, self.sample_rows), self.scoring)
                    self.shards.append(facts)
                    for batch in self._read(shard.batches()):
                        if not refused:  # later shards are only read, to count their rows
                            self._predict(facts, batch)
                    facts.report = shard.report
                    refused = refused or bool(
                        shard.report.invalid and not self.reader.options.drop_invalid_rows
                    )
                    shard_done(self.progress, self.reader.name, done, len(shards))
                self._fix_grid()  # a split shorter than GRID_ROWS
            finally:
                for future in self.pending:
                    future.result()  # re-raises a failure of the facts thread
        return self.shards

    def _read(self, batches: Any) -> Any:
        clock = time.perf_counter
        while True:
            started = clock()
            batch = next(batches, None)
            self.timings["read"] += clock() - started
            if batch is None:
                return
            yield batch

    def _predict(self, facts: ShardFacts, batch: Batch) -> None:
        started = time.perf_counter()
        raw = self.model.predict_raw(batch.x)
        proba = self.model.to_proba(raw)
        losses = self.model.loss(batch.y, raw)
        self.timings["predict"] += time.perf_counter() - started
        check_predictions(self.model, self.reader.path, batch, proba)
        facts.add(batch.y, proba, losses)
        if self.scale is None:
            self.waiting.append((facts.rows, batch))
            self.waiting_rows += len(batch.y)
            # Images are matched by their difference hashes, not on the grid (which only their
            # statistics get): the first batch fixes it, and no batch of pixels waits.
            if self.waiting_rows >= GRID_ROWS or batch.images is not None:
                self._fix_grid()
        else:
            self._hash(facts.rows, batch)
        if self.progress is not None:
            self.progress(self.reader.name, len(batch.y))

    def _hash(self, rows: RowFacts, batch: Batch) -> None:
        if self.pending:
            self.pending.pop().result()
        self.pending.append(self.worker.submit(self._timed, rows, batch))

    def _timed(self, rows: RowFacts, batch: Batch) -> None:
        started = time.perf_counter()
        rows.update(table(batch), batch.y, batch.rows, batch.text, batch.images)
        self.timings["row_facts"] += time.perf_counter() - started

    def _fix_grid(self) -> None:
        """Take the grid from the waiting rows, give it to every shard so far, hash them."""
        if self.scale is not None:
            return
        head = [table(batch) for _, batch in self.waiting]
        self.scale = (
            near_grid(np.concatenate(head)[:GRID_ROWS], self.reader.categorical)
            if head
            else np.ones(len(self.reader.features))
        )
        for facts in self.shards:
            facts.rows.scale = self.scale
        for rows, batch in self.waiting:
            self._hash(rows, batch)
        self.waiting, self.waiting_rows = [], 0


def table(batch: Batch) -> np.ndarray:
    """Return the batch's numeric table, which the row facts (hashes, statistics) read."""
    if batch.table is None:
        raise DataError("the data checks read numeric tables; this input kind has no row facts yet")
    return batch.table


def check_predictions(model: LoadedModel, where: Any, batch: Any, proba: Any) -> None:
    """Refuse predictions that are not finite probabilities, naming the split (WHERE) and row."""
    bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        raise DataError(
            f"{where}: the model predicted NaN or infinity for {int(bad.sum())} row(s) "
            f"(first: row {int(batch.rows[int(np.argmax(bad))])}); check the inputs' scale"
        )
    if model.info.output == "probability" and (proba.min() < -1e-6 or proba.max() > 1 + 1e-6):
        raise DataError(
            f"{model.info.path}: the model's outputs are not probabilities (range "
            f"{proba.min():.3g}..{proba.max():.3g}); auditor needs a sigmoid or softmax output"
        )
