"""The Ray engine: a pool of actors, each holding the model once, reads, predicts and accumulates.

The driver sends each worker the model's file once (through Ray's object store, so a remote
cluster needs no shared disk) and then shards: a shard is a description (a file, its row groups),
read by the worker itself. Back come the shards' `ShardFacts` only: prediction sums and row
facts (feature statistics, a bounded sample), which merge in shard order into what one pass
gives; no row's label or probability. The first split's near-duplicate grid and the splitters of
every class's scores are taken on the driver from the split's first GRID_ROWS rows (read and
predicted there), before any shard is sent, so that every worker hashes and buckets alike.

The rows' hashes and scores never reach the driver: each shard call returns its rows' keys as
2**bucket_bits further objects bucketed by near hash, then its scores as buckets by value range
(`num_returns`), which stay in Ray's object store, owned by the driver (so lineage can rebuild
them); buckets are few enough that a shard's part of one is not small enough for Ray to return
inline, into the driver's memory. Duplicates and rows shared
across splits are then matched by one call per bucket on the workers, given the references;
back come counts and examples. The scores are ranked the same way (`auditor.facts.scores`): back
come each bucket's totals, then its share of the AUCs and its curve points.

Faults: a worker that dies is restarted by Ray (`max_restarts`), which loads the model again, and
the shard it held is run again (`max_task_retries`); shards are pure functions of their rows, so
the report is the same. An error in a shard (an unreadable file) fails the audit with that error.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.engines import Accumulated, shard_done
from auditor.engines.local import shard_facts, table
from auditor.engines.model_files import model_file, unpack
from auditor.errors import AuditorError
from auditor.facts.rows import GRID_ROWS, near_grid
from auditor.facts.scores import sample_splitters
from auditor.memory import return_freed_memory

if TYPE_CHECKING:
    from collections.abc import Callable

    from auditor.engines import Progress
    from auditor.facts.buckets import RowKeys
    from auditor.facts.shard import Scoring, ShardFacts
    from auditor.loading.data import Batch, Shard, SplitReader
    from auditor.loading.model import LoadedModel, ModelInfo
    from auditor.options import AuditOptions

IN_FLIGHT = 2  # shards queued per worker: one running, one waiting, so no worker idles between
RESTARTS = 3  # times Ray restarts a dead worker (and retries the shard it held)
BUCKETS_PER_WORKER = 4  # buckets of row hashes per worker: matching them keeps every worker busy
# Ray returns a value up to this size inline, into its owner's (the driver's) own memory, instead
# of keeping it in the object store (`max_direct_call_object_size`, 100 KiB by default).
INLINE_BYTES = 100 * 1024
KEY_BYTES = 25  # a row's keys in a bucket: near hash, hash, label byte, row number
SCORE_KEY_BYTES = 5  # a row's score in a bucket, per class: its key and whether it is the class


def start(model: LoadedModel, options: AuditOptions) -> RaySession:
    """Connect to Ray (or start a local instance) and start the pool of workers for MODEL."""
    import ray

    owned = not ray.is_initialized()  # an embedding program's own ray.init() is used as it is
    if owned:
        try:
            with warnings.catch_warnings():  # Ray Client warns of a timeout it also raises
                warnings.simplefilter("ignore")
                # A local instance offers at least one CPU per asked-for worker: a worker Ray
                # cannot place would hold its shards forever.
                cpus = max(os.cpu_count() or 1, options.workers or 1)
                ray.init(
                    address=options.ray_address,
                    num_cpus=cpus if options.ray_address == "local" else None,
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,  # workers' TensorFlow banners stay in Ray's logs
                )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise AuditorError(
                f"--ray-address {options.ray_address}: cannot connect to Ray ({_one_line(exc)})"
            ) from None
    try:
        cpus = max(int(ray.cluster_resources().get("CPU", 1)), 1)
        workers = options.workers or cpus
        blob, suffix = model_file(model)
        held = ray.put(blob)
        worker = ray.remote(num_cpus=1, max_restarts=RESTARTS, max_task_retries=RESTARTS)(
            ShardWorker
        )
        actors: list[Any] = [
            worker.remote(suffix, model.info, options.unsafe) for _ in range(workers)
        ]
        # Each worker imports TensorFlow and loads the model now, while the driver lists the
        # first split's shards and reads its grid rows.
        warming = [actor.warm.remote([held]) for actor in actors]
    except BaseException:
        if owned:
            ray.shutdown()
        raise
    return RaySession(actors, options.ray_address, owned, model, held, warming)


def bucket_bits(workers: int, shard_rows: int, key_bytes: int = KEY_BYTES) -> int:
    """Return the bits of near hash that pick a row's bucket (or the log of score buckets).

    BUCKETS_PER_WORKER buckets per worker, or fewer, so that a shard of SHARD_ROWS rows of
    KEY_BYTES each puts more than INLINE_BYTES in each bucket: its parts then stay in the object
    store rather than travel back into the driver's memory.
    """
    wanted = (BUCKETS_PER_WORKER * workers - 1).bit_length()
    room = ((shard_rows * key_bytes - 1) // INLINE_BYTES).bit_length() - 1  # parts > INLINE_BYTES
    return max(1, min(wanted, room))


def typical_rows(shards: list[Shard], fallback: int) -> int:
    """Return the median shard's rows, from where the shards start (FALLBACK for one shard)."""
    sizes = np.diff([shard.first_row for shard in shards])
    return int(np.median(sizes)) if len(sizes) else fallback


@dataclass
class RaySession:
    """The workers of one audit; shards go to whichever worker has room, results come in order."""

    actors: list[Any]
    address: str
    owned: bool  # the session started Ray, and stops it
    model: LoadedModel | None = None  # the driver's copy: it predicts the head rows (splitters)
    model_ref: Any = None
    warming: list[Any] = field(default_factory=list)  # the workers' model loads, awaited once
    bits: int | None = None  # of near hash per bucket, fixed by the first split's shards
    # Per class, the score keys that cut its scores into buckets, from the first split's head.
    splitters: tuple[np.ndarray, ...] | None = None

    def accumulate(
        self,
        reader: SplitReader,
        scale: np.ndarray | None,
        scoring: Scoring,
        sample_rows: int,
        progress: Progress | None,
        timings: dict[str, float],
    ) -> Accumulated:
        """Accumulate every shard of READER on the workers, merged in shard order as they come.

        The probabilities stay on the workers: each shard's scores come back as buckets by
        value range (SCORING with this session's splitters), references only, like its keys.
        """
        import ray

        shards = reader.shards()
        if scale is None or self.splitters is None:
            head_scale, head_proba = self.head(reader, shards)
            scale = head_scale if scale is None else scale
            if self.splitters is None:
                buckets = 1 << bucket_bits(
                    len(self.actors),
                    typical_rows(shards, reader.options.shard_rows),
                    SCORE_KEY_BYTES * scoring.n_classes,
                )
                self.splitters = tuple(
                    sample_splitters(head_proba[:, c], buckets) for c in range(scoring.n_classes)
                )
        scoring = replace(scoring, splitters=self.splitters)
        where = str(reader.path)
        for ref in self.warming:  # a model that does not load fails here, in one line
            _result(ref, where, 0)
        self.warming = []
        results: dict[int, ShardFacts] = {}  # shards in, waiting for one before them
        merged: ShardFacts | None = None
        merged_shards = 0
        waiting = deque(enumerate(shards))
        free = [actor for _ in range(IN_FLIGHT) for actor in self.actors]  # each, then again
        running: dict[Any, tuple[int, Any, list[Any]]] = {}
        if self.bits is None:  # fixed by the first split: every split has the same buckets
            self.bits = bucket_bits(
                len(self.actors), typical_rows(shards, reader.options.shard_rows)
            )
        bits = self.bits
        returns = 1 + (1 << bits) + scoring.score_buckets
        while waiting or running:
            while waiting and free:
                actor = free.pop(0)
                index, shard = waiting.popleft()
                task, *keys = actor.run.options(num_returns=returns).remote(
                    shard, where, scale, scoring, sample_rows, bits, [self.model_ref]
                )
                running[task] = (index, actor, keys)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                index, actor, keys = running.pop(ref)
                started = time.perf_counter()
                facts, spent = _result(ref, where, index)
                # References only: the hashes and the scores stay put.
                facts.keys = [[key] for key in keys[: 1 << bits]]
                facts.scores = [[part] for part in keys[1 << bits :]]
                results[index] = facts
                while merged_shards in results:  # merge what is in order now: its sample goes
                    first = results.pop(merged_shards)
                    merged = first if merged is None else merged.merge(first)
                    merged_shards += 1
                # The driver's own time per shard: fetching, unpickling and merging its facts.
                timings["driver_collect"] = (
                    timings.get("driver_collect", 0.0) + time.perf_counter() - started
                )
                for key, seconds in spent.items():
                    timings[key] = timings.get(key, 0.0) + seconds
                if progress is not None:
                    progress(reader.name, facts.sums.rows)
                    shard_done(
                        progress,
                        reader.name,
                        len(shards) - len(waiting) - len(running),
                        len(shards),
                    )
                free.append(actor)
        return Accumulated(merged, len(shards))

    def head(self, reader: SplitReader, shards: list[Shard]) -> tuple[np.ndarray, np.ndarray]:
        """Return the near-duplicate grid of the split's head rows, and their probabilities.

        The driver predicts these few rows itself: their scores' quantiles are the splitters
        that cut every shard's scores into buckets of about equal size.
        """
        assert self.model is not None, "the session predicts with the driver's model"
        head = head_batches(reader, shards)
        if not head:
            return np.ones(len(reader.features)), np.empty((0, self.model.info.n_classes))
        grid = near_grid(np.concatenate([table(b) for b in head])[:GRID_ROWS], reader.categorical)
        proba = np.concatenate([self.model.to_proba(self.model.predict_raw(b.x)) for b in head])
        return grid, proba

    @property
    def bucket_bits(self) -> int:
        """The bits fixed by the first split's shards (`bucket_bits`); before it, for full ones."""
        if self.bits is not None:
            return self.bits
        return bucket_bits(len(self.actors), 1 << 30)

    def map_buckets(
        self, fn: Callable[..., Any], tasks: list[tuple[tuple[Any, ...], list[list[Any]]]]
    ) -> list[Any]:
        """Run FN on the workers, bucket after bucket in turn, given the buckets' references.

        The references go as arguments of their own, so Ray hands the worker the RowKeys (from
        its own node's object store when they are there); the driver only sees what FN returns.
        The workers hold the cluster's CPUs, so the buckets run on them rather than as tasks.
        """
        calls = []
        for i, (args, parts) in enumerate(tasks):
            actor = self.actors[i % len(self.actors)]
            sizes = [len(part) for part in parts]
            flat = [ref for part in parts for ref in part]
            calls.append(actor.match.remote(fn, args, sizes, *flat))
        return [_result(ref, "matching rows", i) for i, ref in enumerate(calls)]

    def describe(self) -> dict[str, Any]:
        """Name the engine, its workers and the cluster's address, for the report."""
        return {"name": "ray", "workers": len(self.actors), "address": self.address}

    def close(self) -> None:
        """Stop the workers, and the Ray instance when the session started it."""
        import ray

        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        if self.owned:
            ray.shutdown()


def _result(ref: Any, where: str, index: int) -> Any:
    """Fetch one shard's facts; a worker's auditor error is raised as it is, in one line."""
    import ray

    try:
        found = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, AuditorError):
            raise cause from None
        raise AuditorError(
            f"{where}: shard {index} failed on a Ray worker ({_one_line(cause or exc)})"
        ) from None
    except ray.exceptions.RayActorError as exc:
        raise AuditorError(
            f"{where}: the Ray worker of shard {index} died {RESTARTS + 1} times "
            f"({_one_line(exc)}); see Ray's logs"
        ) from None
    except ray.exceptions.RayError as exc:  # e.g. a lost object
        raise AuditorError(f"{where}: shard {index} failed on Ray ({_one_line(exc)})") from None
    return found


def head_batches(reader: SplitReader, shards: list[Shard]) -> list[Batch]:
    """Return the split's first batches, up to GRID_ROWS clean rows (the grid's, as `local`).

    As one pass does, rows after a shard with an invalid row (without --drop-invalid-rows) are
    not among them: the split fails later anyway, on any engine.
    """
    head: list[Batch] = []
    rows = 0
    for shard in shards:
        for batch in shard.batches():
            head.append(batch)
            rows += len(batch)
            if rows >= GRID_ROWS or batch.images is not None:  # images: the first batch, as local
                return head
        if shard.report.invalid and not reader.options.drop_invalid_rows:
            break
    return head


class ShardWorker:
    """A Ray actor: the model loaded once from its file's bytes, then one shard per call."""

    def __init__(self, suffix: str, info: ModelInfo, unsafe: bool) -> None:
        return_freed_memory()  # as the command does: per-batch arrays go back when freed
        self.suffix, self.info, self.unsafe = suffix, info, unsafe
        self.model: LoadedModel | None = None

    def run(
        self,
        shard: Shard,
        where: str,
        scale: np.ndarray,
        scoring: Scoring,
        sample_rows: int,
        bits: int,
        model: list[Any],
    ) -> tuple[Any, ...]:
        """Read, predict and accumulate SHARD; return (facts, seconds spent), then its buckets.

        The rows' keys come as 2**BITS further values, then its scores as SCORING's buckets, each
        its own object (`num_returns` is 1 + 2**BITS + score buckets), so that they stay in the
        object store where the worker put them. The labels go too, unless SCORING keeps them.

        MODEL holds the reference to the model's bytes (in a list, so that Ray hands it over
        unread): the first shard a worker process gets loads it, a restarted worker again.
        """
        started = time.perf_counter()
        timings = {"read": 0.0, "predict": 0.0, "row_facts": 0.0}
        loaded = self.load(model)
        facts = shard_facts(loaded, shard, where, scale, scoring, sample_rows, timings)
        keys = [*facts.take_keys(bits), *facts.take_scores()]
        if not scoring.keep_labels:
            facts.labels = []
        # The shard's wall time on its worker (read and predict overlap the row facts).
        timings["worker_shards"] = time.perf_counter() - started
        return ((facts, timings), *keys)

    def match(
        self, fn: Callable[..., Any], args: tuple[Any, ...], sizes: list[int], *keys: RowKeys
    ) -> Any:
        """Run FN(*ARGS, *parts) on one bucket: KEYS are its parts, split by split (SIZES)."""
        parts, start = [], 0
        for size in sizes:
            parts.append(list(keys[start : start + size]))
            start += size
        return fn(*args, *parts)

    def warm(self, model: list[Any]) -> None:
        """Load the model ahead of the first shard (see `load`)."""
        self.load(model)

    def load(self, model: list[Any]) -> LoadedModel:
        """Load the model from its bytes (MODEL[0], a reference), once per worker process."""
        import ray

        from auditor.loading.model import load_model

        if self.model is None:
            folder = Path(tempfile.mkdtemp(prefix="auditor-worker-"))
            path = unpack(ray.get(model[0]), self.suffix, folder)
            # The driver's facts about the model (its path, in messages), this copy's functions.
            self.model = replace(load_model(path, unsafe=self.unsafe), info=self.info)
        return self.model


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
