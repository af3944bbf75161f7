"""Engines: where each shard of a split is read, predicted and accumulated into `ShardFacts`.

An engine turns one split into one `ShardFacts` per shard, in shard order; the evaluation merges
them, checks the split as a whole and measures it. `ENGINES` names every engine there is: a new
one is one module with a `start(model, options)` that returns a `Session` (the engine's workers
for one audit), and one entry here.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from auditor.errors import AuditorError

if TYPE_CHECKING:
    import numpy as np

    from auditor.facts.shard import Scoring, ShardFacts
    from auditor.loading.data import SplitReader
    from auditor.loading.model import LoadedModel
    from auditor.options import AuditOptions

Progress = Callable[[str, int], None]  # (split, rows just predicted)


def shard_done(progress: Progress | None, split: str, done: int, total: int) -> None:
    """Tell PROGRESS that DONE of the split's TOTAL shards are accumulated, if it listens.

    A progress callable may have a `shards(split, done, total)` method (the command's does); the
    rows keep coming through the call itself.
    """
    listener = getattr(progress, "shards", None)
    if callable(listener):
        listener(split, done, total)


# Engine name -> module holding its `start`; imported only when chosen.
ENGINES = {"local": "auditor.engines.local", "ray": "auditor.engines.cluster"}
# What an engine needs beyond auditor's own dependencies: a module, and how to install it.
REQUIRES = {"ray": ("ray", "pip install 'keras-auditor[ray]'")}


@dataclass
class Accumulated:
    """A split's shards accumulated: their facts merged in shard order, and how many there were.

    FACTS is None for a split without shards (a file with no row group).
    """

    facts: ShardFacts | None
    shards: int


class Session(Protocol):
    """An engine's workers for one audit, started once for all its splits."""

    def accumulate(
        self,
        reader: SplitReader,
        scale: np.ndarray | None,
        scoring: Scoring,
        sample_rows: int,
        progress: Progress | None,
        timings: dict[str, float],
    ) -> Accumulated:
        """Accumulate READER's shards on the grid SCALE, sampling at most `sample_rows` rows.

        The shards' ShardFacts merged in shard order (as soon as each is in, so that the driver
        holds a few shards' samples at a time, not every shard's), whose `keys` hold the bucketed
        row hashes per bucket, one per shard (or handles to them), and whose row facts no longer
        do. Without SCALE (the first split),
        the engine takes the grid from the split's first GRID_ROWS rows
        (`auditor.facts.rows.near_grid`); every ShardFacts carries it. SCORING says how the
        predictions are kept; an engine may give it splitters, and then its ShardFacts' `scores`
        hold the bucketed score keys (or handles to them) instead of the probabilities.
        """
        ...

    @property
    def bucket_bits(self) -> int:
        """Each shard's row hashes leave it as 2**bucket_bits buckets (`ShardFacts.keys`)."""
        ...

    def map_buckets(
        self, fn: Callable[..., Any], tasks: list[tuple[tuple[Any, ...], list[list[Any]]]]
    ) -> list[Any]:
        """Run FN once per bucket where the buckets are (see `auditor.facts.buckets.MapBuckets`)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Say which engine ran, with how many workers and where: `name`, `workers`, `address`."""
        ...

    def close(self) -> None:
        """Stop what the session started (workers, a local cluster)."""
        ...


def check(name: str) -> None:
    """Refuse an unknown engine, or one whose package is not installed, in one line."""
    if name not in ENGINES:
        raise AuditorError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    if name in REQUIRES:
        module, install = REQUIRES[name]
        if importlib.util.find_spec(module) is None:
            raise AuditorError(
                f"the {name} engine needs the '{module}' package, which is not installed: {install}"
            )


@contextmanager
def running(name: str, model: LoadedModel, options: AuditOptions) -> Iterator[Session]:
    """Start engine NAME's session for one audit of MODEL, and close it afterwards."""
    check(name)
    session: Session = importlib.import_module(ENGINES[name]).start(model, options)
    try:
        yield session
    finally:
        session.close()
