"""Engines: where each shard of a split is read, predicted and accumulated into `ShardFacts`.

An engine turns one split into one `ShardFacts` per shard, in shard order; the evaluation merges
them, checks the split as a whole and measures it. `ENGINES` names every engine there is: a new
one (a cluster) is one module with an `accumulate` function of the same shape, and one entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from auditor.errors import AuditorError

if TYPE_CHECKING:
    import numpy as np

    from auditor.facts.shard import ShardFacts
    from auditor.loading.data import SplitReader
    from auditor.loading.model import LoadedModel

Progress = Callable[[str, int], None]

# Engine name -> module holding its `accumulate`; imported only when chosen.
ENGINES = {"local": "auditor.engines.local"}


class Accumulate(Protocol):
    """Read, predict and accumulate every shard of READER; one ShardFacts per shard, in order."""

    def __call__(
        self,
        model: LoadedModel,
        reader: SplitReader,
        scale: np.ndarray | None,
        sample_rows: int,
        progress: Progress | None,
        timings: dict[str, float],
    ) -> list[ShardFacts]:
        """Accumulate READER's shards on the grid SCALE, sampling at most `sample_rows` rows.

        Without SCALE (the first split), the engine takes the grid from the split's first
        GRID_ROWS rows (`auditor.facts.rows.near_grid`); every ShardFacts carries it.
        """


def engine(name: str) -> Accumulate:
    """Return the `accumulate` function of engine NAME."""
    if name not in ENGINES:
        raise AuditorError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    module = importlib.import_module(ENGINES[name])
    accumulate: Accumulate = module.accumulate
    return accumulate
