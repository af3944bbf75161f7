"""Evaluates a model on its splits: every shard predicted and accumulated, then merged and measured.

The flow is the same on every engine: for each split, each shard is read, predicted and
accumulated (`auditor.engines`); the shards' accumulators are merged in file order; the split is
checked as a whole and measured. Facts that compare splits (`add_facts`) come after, for the rules
that read them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from auditor.engines import Progress, running
from auditor.errors import DataError, ModelLoadError
from auditor.evaluation import DEFAULT_RECALL_FLOOR, SPLIT_ORDER, Evaluation, SplitEvaluation
from auditor.facts import data as data_facts
from auditor.facts.buckets import MapBuckets, compact
from auditor.facts.rows import SplitRows, matched
from auditor.facts.scores import rank_classes
from auditor.facts.shard import Scoring, ShardFacts, standard_error
from auditor.loading.data import ReadOptions, ShardReport, SplitReader, parse_times
from auditor.loading.inputs import table_feed
from auditor.loading.model import LoadedModel, unsupported_inputs
from auditor.metrics import (
    PredictionSums,
    Ranking,
    baseline_metrics,
    measured,
    rank_rows,
    ranked_classes,
)
from auditor.options import AuditOptions

__all__ = ["SPLIT_ORDER", "Evaluation", "Progress", "SplitEvaluation", "add_facts", "evaluate"]


def class_names(n_classes: int, classes: Sequence[str] | None) -> tuple[str, ...]:
    """Return display names of the classes: --classes when given, else '0', '1', ..."""
    if classes is None:
        return tuple(str(i) for i in range(n_classes))
    if len(classes) != n_classes:
        raise DataError(
            f"--classes names {len(classes)} classes but the model has {n_classes} outputs"
        )
    return tuple(classes)


def evaluate(
    model: LoadedModel,
    paths: dict[str, Any],
    options: AuditOptions | None = None,
    progress: Progress | None = None,
    recall_floors: Sequence[float] = (),
) -> Evaluation:
    """Predict each split in `paths` (train, val, optional test) and measure it.

    OPTIONS' reading settings (label, ignore, classes, threshold, drop_invalid_rows, batch_rows,
    shard_rows), its engine and its sample size apply; the rest is for the later stages. An
    engine that keeps no rows finds a binary split's thresholds for RECALL_FLOORS (and for
    DEFAULT_RECALL_FLOOR, the advice's own) while it holds the scores; see `SplitEvaluation`.
    """
    floors = tuple(sorted({DEFAULT_RECALL_FLOOR, *recall_floors}))
    settings = options or AuditOptions()
    classes, threshold = settings.classes, settings.threshold
    info = model.info
    refused = unsupported_inputs(info)
    if refused:
        raise ModelLoadError(refused)
    names = class_names(info.n_classes, classes)
    read = ReadOptions(
        label=settings.label,
        ignore=tuple(settings.ignore),
        classes=tuple(classes) if classes is not None else None,
        n_classes=info.n_classes,
        feature_names=info.input_names if info.named_inputs else None,
        n_features=info.n_features if info.input_kind != "text" else None,
        drop_invalid_rows=settings.drop_invalid_rows,
        batch_rows=settings.batch_rows,
        shard_rows=settings.shard_rows,
        context=settings.context_columns,
        inputs=info.inputs,
        named_inputs=info.named_inputs,
        text_column=(
            (settings.text_column or info.input_names[0]) if info.input_kind == "text" else None
        ),
    )
    readers: list[SplitReader] = []
    for name in (n for n in SPLIT_ORDER if paths.get(n) is not None):
        first = tuple(readers[0].features) if readers else None  # later splits name differences
        readers.append(SplitReader(name, paths[name], replace(read, reference_features=first)))
    features = tuple(readers[0].features)
    names = _folder_classes(readers, names, classes is not None, info.n_classes)
    for reader in readers[1:]:
        if tuple(reader.features) != features:
            missing = [f for f in features if f not in reader.features]
            extra = [f for f in reader.features if f not in features]
            detail = (
                "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(missing[:5])}" if missing else "",
                        f"unexpected {', '.join(extra[:5])}" if extra else "",
                    )
                    if part
                )
                or "same names in another order"
            )
            raise DataError(
                f"{reader.path}: feature columns differ from the {readers[0].name} split "
                f"({readers[0].path}): {detail}; every split needs the same columns"
            )

    timings: dict[str, float] = {"read": 0.0, "predict": 0.0, "row_facts": 0.0, "metrics": 0.0}
    # One near-duplicate grid for every split and shard: the engine takes it from the first
    # split's first rows, and hands it on in that split's facts.
    scale = None
    raw_results = {}
    split_rows = {}
    split_keys = {}  # per split, per bucket: its shards' row keys (or handles to them)
    run: dict[str, Any] = {}
    started = time.perf_counter()
    with running(settings.engine, model, settings) as session:
        timings["engine_start"] = time.perf_counter() - started  # a cluster, its workers
        run = {**session.describe(), "splits": {}}
        for reader in readers:
            # Labels row by row where a fact reads them so: image duplicates, a time column.
            scoring = Scoring(
                info.n_classes,
                threshold,
                keep_labels=reader.kind == "image" or settings.time_column is not None,
            )
            done = session.accumulate(
                reader, scale, scoring, settings.sample_rows, progress, timings
            )
            if done.facts is None:  # a file with no row group: no rows at all
                reader.check(ShardReport())
            assert done.facts is not None
            facts, n_shards = done.facts, done.shards
            del done
            scale = facts.rows.scale
            reader.check(facts.report)  # the split's own errors, over all its shards
            run["splits"][reader.name] = {"shards": n_shards, "rows": facts.report.rows}
            started_ranking = time.perf_counter()
            raw_results[reader.name] = _ranked(facts, info.n_classes, floors, session.map_buckets)
            timings["ranking"] = timings.get("ranking", 0.0) + time.perf_counter() - started_ranking
            # Its batch lists go now.
            frozen = facts.rows.freeze(
                tuple(reader.table_columns), reader.categorical, facts.report.vocabulary
            )
            if reader.kind != "table":
                frozen = replace(frozen, kind=reader.kind, source=reader.source)
            split_rows[reader.name] = frozen
            split_keys[reader.name] = [compact(bucket) for bucket in facts.keys]
            del facts  # the per-batch arrays, now concatenated
        # Duplicates and rows shared across splits need every row's hashes: matched bucket by
        # bucket where the engine keeps them, before it stops; only counts and examples return.
        started = time.perf_counter()
        split_rows = matched(split_rows, split_keys, info.n_classes, session.map_buckets)
        del split_keys
        timings["row_matches"] = time.perf_counter() - started
    run["shards"] = sum(s["shards"] for s in run["splits"].values())
    run["rows"] = sum(s["rows"] for s in run["splits"].values())

    for reader in readers:
        present = np.flatnonzero(raw_results[reader.name].sums.class_counts)
        if len(present) < 2:
            raise DataError(
                f"{reader.path}: the {reader.name} split holds only class "
                f"'{names[int(present[0])]}'; "
                "every split needs rows of at least two classes to be judged (split stratified by "
                "the label)"
            )

    started = time.perf_counter()
    context = {
        reader.name: _context(reader, settings.context_columns, split_rows[reader.name])
        for reader in readers
    }
    if settings.context_columns:
        timings["context_columns"] = time.perf_counter() - started

    started = time.perf_counter()
    train = raw_results.get("train") or next(iter(raw_results.values()))
    priors = train.sums.class_counts / max(train.sums.rows, 1)
    splits = {
        reader.name: _measure(reader, raw_results[reader.name], names, priors) for reader in readers
    }
    timings["metrics"] = time.perf_counter() - started

    return Evaluation(
        model=info,
        classes=names,
        features=features,
        text_features=readers[0].text_features,
        splits=splits,
        architecture=model.architecture,
        regularization_penalty=model.regularization_penalty,
        threshold=threshold,
        rows=split_rows,
        timings=timings,
        engine=run,
        context=context,
    )


def _context(
    reader: SplitReader, columns: Sequence[tuple[str, str]], rows: SplitRows
) -> dict[str, np.ndarray]:
    """Read the group and time COLUMNS of READER's split, one value per evaluated row (ROWS')."""
    found = {}
    for option, name in columns:
        values = reader.column(name)
        if option == "--time-column":
            values = parse_times(values, reader.path, name)
        # Rows dropped as invalid (--drop-invalid-rows) are not evaluated: keep the others' values.
        found[name] = values if len(values) == rows.n_rows else values[rows.row_numbers]
    return found


def _folder_classes(
    readers: Sequence[SplitReader], names: tuple[str, ...], given: bool, n_classes: int
) -> tuple[str, ...]:
    """Return the class names: image folders' sub-folders name them (as Keras infers labels).

    Every image folder must have the same class folders, as many as the model has outputs;
    --classes, when given, must list them in that order.
    """
    folders = [(r, r.classes) for r in readers if r.classes is not None]
    if not folders:
        return names
    first, found = folders[0]
    for reader, other in folders[1:]:
        if other != found:
            raise DataError(
                f"{reader.path}: class folders {', '.join(other)} differ from those of the "
                f"{first.name} split ({', '.join(found)}); every split needs the same class folders"
            )
    if len(found) != n_classes:
        raise DataError(
            f"{first.path}: {len(found)} class folders ({', '.join(found[:12])}) but the model has "
            f"{n_classes} outputs; give each class a folder, named so that they sort in the order "
            "of the model's outputs"
        )
    if given and tuple(names) != tuple(found):
        raise DataError(
            f"{first.path}: --classes {', '.join(names)} differ from the class folders "
            f"{', '.join(found)} (sorted, as Keras assigns labels); leave --classes out"
        )
    return tuple(found)


def add_facts(
    evaluation: Evaluation,
    requests: Iterable[tuple[str, str]],
    options: AuditOptions | None = None,
    model: LoadedModel | None = None,
) -> Evaluation:
    """Return EVALUATION with the requested data facts (family, split) computed and added.

    With MODEL, the target-proxy facts measure how much the model relies on each candidate.
    """
    wanted = {data_facts.Request(*r) for r in requests}
    wanted = {r for r in wanted if not evaluation.data.has(r)}
    if not wanted:
        return evaluation
    computed = data_facts.compute(
        evaluation.rows,
        {name: split.y for name, split in evaluation.splits.items()},
        evaluation.classes,
        evaluation.features,
        wanted,
        options or AuditOptions(),
        evaluation.context,
        _predict_classes(model, evaluation) if model is not None else None,
        {
            name: np.array([split.class_counts[c] for c in evaluation.classes])
            for name, split in evaluation.splits.items()
        },
    )
    return replace(evaluation, data=evaluation.data.merged(computed))


def _predict_classes(model: LoadedModel, evaluation: Evaluation) -> data_facts.Predict | None:
    """Return the model's predicted class per table row, as the metrics decide it.

    None for a model with string inputs: the table holds their texts as category codes, which
    the model cannot take (the checks then judge without the model's reliance).
    """
    info, threshold = model.info, evaluation.threshold
    if any(spec.dtype == "string" for spec in info.inputs):
        return None

    def predict(x: np.ndarray) -> np.ndarray:
        table = np.asarray(x, dtype=np.float32)
        feed = table_feed(table, evaluation.features, info.inputs, info.named_inputs)
        proba = model.to_proba(model.predict_raw(feed))
        return (
            (proba[:, 1] >= threshold).astype(np.int64) if proba.shape[1] == 2 else proba.argmax(1)
        )

    return predict


@dataclass(frozen=True)
class _Ranked:
    """One split's predictions, summed and ranked while the engine still holds its rows."""

    sums: PredictionSums
    rankings: dict[int, Ranking]
    recall_thresholds: dict[tuple[int, float], tuple[float, float, float] | None]
    y: np.ndarray
    proba: np.ndarray


def _ranked(
    facts: ShardFacts, n_classes: int, floors: Sequence[float], run: MapBuckets[Any]
) -> _Ranked:
    """Rank each class of FACTS' split, from its bucketed scores or else from its rows.

    Where the engine keeps the scores in buckets, a binary split's thresholds for the recall
    FLOORS are found as they are ranked.
    """
    sums = facts.sums
    classes = ranked_classes(sums)
    y, proba = facts.y(), facts.proba(n_classes)
    if facts.scores:
        binary = n_classes == 2 and 1 in classes
        rankings, found = rank_classes(facts.scores, classes, run, floors=floors if binary else ())
        return _Ranked(sums, rankings, found, y, proba)
    return _Ranked(sums, rank_rows(y, proba, classes), {}, y, proba)


def _measure(
    reader: SplitReader,
    ranked: _Ranked,
    names: tuple[str, ...],
    priors: np.ndarray,
) -> SplitEvaluation:
    sums = ranked.sums
    y, proba = ranked.y, ranked.proba
    y.setflags(write=False)
    proba.setflags(write=False)
    counts = sums.class_counts
    losses = sums.loss
    metrics, curves, matrix = measured(
        sums, ranked.rankings, names, loss=float(losses[1] / losses[0])
    )
    # The standard error of the mean loss tells the rules which loss differences are noise.
    metrics["loss_standard_error"] = standard_error(losses)
    baseline: dict[str, Any] = baseline_metrics(counts, priors)  # gains a str entry below
    baseline["majority_class"] = names[int(np.argmax(priors))]
    return SplitEvaluation(
        name=reader.name,
        path=str(reader.path),
        n_rows=sums.rows,
        class_counts={name: int(c) for name, c in zip(names, counts, strict=True)},
        metrics=metrics,
        confusion_matrix=matrix,
        baseline=baseline,
        dropped_rows=reader.dropped_rows,
        missing_values=dict(reader.missing_values),
        reading=reader.reading,
        y=y,
        proba=proba,
        curves=curves,
        sums=sums,
        recall_thresholds=ranked.recall_thresholds,
    )
