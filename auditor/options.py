"""The settings of one audit in one frozen value: every default written once, and checked once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.vocabulary import FAIL_ON, Severity

DEFAULT_BATCH_ROWS = 65_536  # rows read and predicted per batch
# Rows per shard, at least, where a format can be cut (Parquet row groups): a shard is the unit of
# work an engine hands out, and only its last batch is cut short.
DEFAULT_SHARD_ROWS = 1 << 20
DEFAULT_SAMPLE_ROWS = 20_000  # rows per split the sample-based facts read, at most
# What ray.init takes as an address: start a local instance, join this machine's, or a remote one.
# What the L1/L2 study may choose by (`--prefer`): validation loss, or the positive class's (macro,
# multiclass) recall, precision or F1.
STUDY_PREFER = ("loss", "recall", "precision", "f1")
RAY_ADDRESS = re.compile(r"local|auto|(ray://)?[\w.\-\[\]:]+:\d+")


@dataclass(frozen=True)
class AuditOptions:
    """How an audit reads the splits, which rules judge them, when the gate fails, and the extras.

    The command line's options and `auditor.audit()`'s keywords are these fields, with these
    defaults. Building one checks it: an unknown --fail-on level or a threshold outside (0, 1)
    raises `AuditorError`.
    """

    # Reading the splits
    label: str = "label"  # label column (CSV/Parquet); NPZ files hold the labels as array y
    ignore: Sequence[str] = ()  # columns that are not features
    # Columns that say which entity a row belongs to (a patient, a customer, a device) and when it
    # was recorded: read for the group and temporal leakage checks, and not features unless the
    # model takes them (a named input of that name, or a flat input only as wide with them).
    group_columns: Sequence[str] = ()
    time_column: str | None = None
    # The text column a text model (one string input) reads; default: the column named as its input
    text_column: str | None = None
    classes: Sequence[str] | None = None  # class names in the order of the model's outputs
    threshold: float = 0.5  # decision threshold on the positive class (binary models)
    unsafe: bool = False  # allow models that contain Python code (Lambda layers)
    drop_invalid_rows: bool = False  # drop rows with NaN/inf features instead of failing
    batch_rows: int = DEFAULT_BATCH_ROWS
    # Evaluating: where the shards run, and how much the data facts compute
    engine: str = "local"  # see auditor.engines.ENGINES
    # The Ray engine: "local" starts a Ray instance for the audit, "auto" joins the cluster this
    # process runs in, "ray://host:10001" a remote one; one worker per CPU unless `workers`.
    ray_address: str = "local"
    workers: int | None = None
    shard_rows: int = DEFAULT_SHARD_ROWS
    sample_rows: int = DEFAULT_SAMPLE_ROWS  # rows per split sampled (drift, proxies, identifiers)
    # The target-proxy facts compare at least the proxy_candidates strongest single features
    # scoring proxy_min_score or more with all the others; a rule's own max_candidates and
    # min_score widen this, never narrow it.
    proxy_candidates: int = 5
    proxy_min_score: float = 0.9
    # Judging
    rules: Any = None  # a YAML file, a bundled name, or a loaded RuleSet
    fail_on: str = Severity.ERROR.value  # lowest severity of a failed rule that fails the gate
    history: str | Path | dict[str, list[float]] | None = None  # Keras History (learning curves)
    baseline: str | Path | dict[str, Any] | None = None  # an earlier audit's report.json
    baseline_model: Any = None  # a model (path or Keras) to audit on the same splits and compare
    # Verifying the top L1/L2 recommendation by retraining clones
    sweep: bool = False
    sweep_epochs: int = 20
    sweep_budget: float = 120.0  # seconds for the whole sweep (and for the study's training)
    seed: int = 0
    # The L1/L2 study: the control, no penalty, L1, L2 and L1+L2 at a few strengths, over seeds,
    # in worker processes (one per CPU unless study_workers), within sweep_epochs and sweep_budget.
    study: bool = False
    study_seeds: int = 2
    prefer: str = "loss"  # the priority the study chooses by: one of STUDY_PREFER
    study_workers: int | None = None

    def __post_init__(self) -> None:
        if self.fail_on not in FAIL_ON:
            raise AuditorError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {self.fail_on!r}")
        if not 0.0 < self.threshold < 1.0:
            raise AuditorError(f"threshold must be between 0 and 1, got {self.threshold}")
        if not 0.0 <= self.proxy_min_score <= 1.0:
            raise AuditorError(f"proxy_min_score must be in [0, 1], got {self.proxy_min_score}")
        if not RAY_ADDRESS.fullmatch(self.ray_address):
            raise AuditorError(
                f"ray_address must be local, auto, ray://HOST:PORT or HOST:PORT, got "
                f"{self.ray_address!r}"
            )
        if self.prefer not in STUDY_PREFER:
            raise AuditorError(
                f"prefer must be one of {', '.join(STUDY_PREFER)}, got {self.prefer!r}"
            )
        if self.study_seeds < 1 or (self.study_workers is not None and self.study_workers < 1):
            raise AuditorError("study_seeds and study_workers must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise AuditorError(f"workers must be at least 1, got {self.workers}")
        if min(self.batch_rows, self.shard_rows, self.sample_rows) < 1 or self.proxy_candidates < 0:
            raise AuditorError(
                "batch_rows, shard_rows and sample_rows must be at least 1, proxy_candidates at "
                "least 0"
            )
        # Sequences become tuples, so that the value stays what it was when it was built.
        object.__setattr__(self, "ignore", tuple(self.ignore))
        if isinstance(self.group_columns, str):  # one name, not its letters
            object.__setattr__(self, "group_columns", (self.group_columns,))
        object.__setattr__(self, "group_columns", tuple(dict.fromkeys(self.group_columns)))
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))

    @property
    def context_columns(self) -> tuple[tuple[str, str], ...]:
        """The (option, column) pairs read beside the features: group columns, the time column."""
        pairs = [("--group-column", c) for c in self.group_columns]
        if self.time_column:
            pairs.append(("--time-column", self.time_column))
        return tuple(pairs)
