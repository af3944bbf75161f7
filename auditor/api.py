"""The Python API: `audit()` runs load, evaluate, judge and advise, and returns the result."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import engines
from auditor.errors import AuditorError, ModelLoadError
from auditor.evaluate import Evaluation, Progress, add_facts, evaluate
from auditor.loading.data import check_header
from auditor.loading.mlflow_model import import_mlflow, is_mlflow_uri, load_mlflow_model
from auditor.loading.model import LoadedModel, detect_format, from_keras_model, load_model
from auditor.loading.reference import load_reference
from auditor.options import AuditOptions
from auditor.regularization import facts_needed, recommend
from auditor.report.drawing import Drawings
from auditor.report.json_report import report_dict, report_json
from auditor.report.pdf_worker import PdfWorker
from auditor.report.writer import FIGURE_FORMATS, FORMATS, check_output, write_reports
from auditor.result import AuditResult
from auditor.rules import RuleSet, load_rule_set, run_rules
from auditor.rules.engine import facts_needed as rule_facts
from auditor.rules.engine import group_columns, proxy_bounds, recall_floors

if TYPE_CHECKING:
    from auditor.study.runner import StudyProgress
    from auditor.sweep import SweepProgress

__all__ = [
    "AuditOptions",
    "AuditReport",
    "AuditResult",
    "audit",
    "audit_and_write",
    "load_reference",
]


@dataclass(frozen=True)
class AuditReport(AuditResult):
    """What `audit()` returns: the `AuditResult` value, and ways to render and write its reports."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as report.json holds it."""
        return report_dict(self)

    def to_json(self) -> str:
        """Return the report as the JSON text of report.json."""
        return report_json(self)

    def write_html(self, path: str | Path) -> Path:
        """Write the HTML report to PATH and return the path written."""
        return write_reports(self, Path(path).parent, ("html",), names={"html": Path(path).name})[0]

    def _repr_html_(self) -> str:
        """Show the verdict, the findings and the top recommendation in a notebook."""
        from auditor.report.notebook import render_notebook_html

        return render_notebook_html(self)

    def write_pdf(self, path: str | Path) -> Path:
        """Write the PDF report to PATH and return the path written."""
        return write_reports(self, Path(path).parent, ("pdf",), names={"pdf": Path(path).name})[0]


def _model(model: Any, unsafe: bool) -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    if is_mlflow_uri(model):
        return load_mlflow_model(model, unsafe=unsafe)
    if isinstance(model, (str, Path)):
        return load_model(model, unsafe=unsafe)
    if hasattr(model, "layers") and hasattr(model, "predict"):  # any keras.Model, subclassed too
        return from_keras_model(model)
    raise AuditorError(f"model must be a path or a Keras model, got {type(model).__name__}")


def audit(
    model: Any,
    *,
    train: Any,
    val: Any,
    test: Any = None,
    options: AuditOptions | None = None,
    progress: Progress | None = None,
    sweep_progress: SweepProgress | None = None,
    study_progress: StudyProgress | None = None,
    **settings: Any,
) -> AuditReport:
    """Audit MODEL on its train/val(/test) splits against a rule set, and return the result.

    MODEL is a path (.keras, .h5, SavedModel folder), an MLflow model URI (`models:/name/3`,
    `models:/name@alias`, `runs:/id/path`; needs the `mlflow` extra) or an in-memory Keras model.
    Each split is a path (.csv, .parquet, .npz, a Parquet dataset, or an image folder with one
    sub-folder per class), a DataFrame holding the `label` column, an (x, y) pair of arrays (x of
    shape (n, h, w[, c]) for an image model), or a tf.data.Dataset of (x, y) batches. The
    settings are `AuditOptions`: pass one as OPTIONS, or its fields as keywords
    (`label="y", sweep=True`), which replace the options' values. PROGRESS hears of the
    rows predicted per split, SWEEP_PROGRESS of the sweep's runs,
    STUDY_PROGRESS of the study's.
    Nothing is printed or written: call `.write_html(path)`, `.write_pdf(path)` or `.to_json()`.
    """
    chosen = _options(options, settings)
    return _audit(
        model, _splits(train, val, test), chosen, progress, (sweep_progress, study_progress)
    )


def audit_and_write(
    model: Any,
    *,
    train: Any,
    val: Any,
    test: Any = None,
    out: str | Path,
    formats: Sequence[str] = FORMATS,
    options: AuditOptions | None = None,
    progress: Progress | None = None,
    sweep_progress: SweepProgress | None = None,
    study_progress: StudyProgress | None = None,
    **settings: Any,
) -> tuple[AuditReport, list[Path]]:
    """Audit MODEL as `audit()` does, write the report FORMATS into OUT, and return both.

    When HTML or PDF is among FORMATS, their figures are drawn in a forked process while the rules
    run (Linux only); the command line audits this way.
    """
    chosen = _options(options, settings)
    splits = _splits(train, val, test)
    check_output(out)  # before the audit's seconds, not after them
    helpers = _Helpers(formats)
    try:
        result = _audit(model, splits, chosen, progress, (sweep_progress, study_progress), helpers)
        written = write_reports(
            result, out, formats, figures=helpers.drawing, pdf_worker=helpers.pdf
        )
    finally:
        helpers.cancel()  # a no-op for those that answered; stops the rest
    return result, written


def _options(options: AuditOptions | None, settings: dict[str, Any]) -> AuditOptions:
    """Return OPTIONS (or the defaults) with the SETTINGS given as keywords in place."""
    known = {f.name for f in fields(AuditOptions)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(
            f"audit() got unknown setting(s) {', '.join(unknown)}; "
            f"the settings are AuditOptions' fields: {', '.join(sorted(known))}"
        )
    if options is None:
        return AuditOptions(**settings)
    return replace(options, **settings) if settings else options


def _splits(train: Any, val: Any, test: Any) -> dict[str, Any]:
    def source(value: Any) -> Any:
        return str(value) if isinstance(value, (str, Path)) else value

    splits = {"train": source(train), "val": source(val)}
    if test is not None:
        splits["test"] = source(test)
    return splits


def _audit(
    model: Any,
    splits: dict[str, Any],
    options: AuditOptions,
    progress: Progress | None,
    trainings: tuple[SweepProgress | None, StudyProgress | None],
    helpers: _Helpers | None = None,
) -> AuditReport:
    """Run the audit; HELPERS, if given, are started where the work they take over can start.

    TRAININGS hear of the sweep's and of the study's runs.
    """
    sweep_progress, study_progress = trainings
    timings: dict[str, float] = {}
    started = time.perf_counter()
    rule_set = options.rules if isinstance(options.rules, RuleSet) else load_rule_set(options.rules)
    # Group columns a rule names are read as --group-column's are (and are not features either).
    options = replace(options, group_columns=(*options.group_columns, *group_columns(rule_set)))
    history = options.history
    if history is not None and not isinstance(history, dict):
        from auditor.loading.history import load_history

        history = load_history(history)
    _check_before_loading(model, splits, options)
    if helpers is not None:
        helpers.before_loading()
    loaded = _model(model, options.unsafe)
    timings["load"] = time.perf_counter() - started
    asked = (("--sweep", options.sweep), ("--study", options.study))
    retrains = [flag for flag, wanted in asked if wanted]
    if retrains and loaded.keras_model is None:
        raise ModelLoadError(
            f"{loaded.info.path}: {' and '.join(retrains)} "
            f"{'retrains' if len(retrains) == 1 else 'retrain'} the model, which needs a Keras "
            "model file (.keras or .h5); a SavedModel holds no trainable Keras model (save one "
            "with model.save('model.keras'))"
        )

    started = time.perf_counter()
    # The advice's thresholds for the rules' recall floors are found while the rows are at hand.
    evaluation = evaluate(loaded, splits, options, progress, recall_floors(rule_set))
    timings.update(evaluation.timings)
    timings["evaluate"] = time.perf_counter() - started  # wall time; the parts above overlap

    reference = None
    if options.baseline is not None:
        reference = load_reference(options.baseline)
    elif options.baseline_model is not None:
        started = time.perf_counter()
        # The same splits read the same way and the same rules, but a plain audit: no history,
        # no sweep, and its verdict at the default gate.
        plain = replace(
            options,
            rules=rule_set,
            fail_on=AuditOptions.fail_on,
            history=None,
            baseline=None,
            baseline_model=None,
            sweep=False,
            study=False,
        )
        previous = _audit(options.baseline_model, splits, plain, None, (None, None))
        reference = {
            **previous.to_dict(),
            "source": f"{previous.evaluation.model.path} (audited now)",
        }
        timings["baseline_model"] = time.perf_counter() - started
    if reference is not None:
        evaluation = replace(evaluation, reference=reference)

    if helpers is not None:
        helpers.evaluated(evaluation, history)
    try:
        started = time.perf_counter()
        facts_options = _with_proxy_bounds(options, rule_set)
        evaluation = add_facts(evaluation, rule_facts(rule_set), facts_options, loaded)
        timings["data_facts"] = time.perf_counter() - started
        started = time.perf_counter()
        results = tuple(run_rules(evaluation, rule_set, timings))
        timings["rules"] = time.perf_counter() - started
        started = time.perf_counter()
        evaluation = add_facts(evaluation, facts_needed(results), facts_options)
        recommendations = tuple(recommend(evaluation, results, history))
        timings["advice"] = time.perf_counter() - started
        swept = None
        if options.sweep:
            from auditor.sweep import run_sweep, sweepable

            started = time.perf_counter()
            target = next((r for r in recommendations if sweepable(r)), None)
            if target is not None:
                swept = run_sweep(
                    loaded,
                    evaluation,
                    target,
                    epochs=options.sweep_epochs,
                    budget_seconds=options.sweep_budget,
                    seed=options.seed,
                    progress=sweep_progress,
                )
            timings["sweep"] = time.perf_counter() - started
        studied = None
        if options.study:
            from auditor.study.runner import run_study
            from auditor.sweep import sweepable

            started = time.perf_counter()
            studied = run_study(
                loaded,
                evaluation,
                next((r for r in recommendations if sweepable(r)), None),
                prefer=options.prefer,
                seeds=options.study_seeds,
                epochs=options.sweep_epochs,
                budget_seconds=options.sweep_budget,
                seed=options.seed,
                workers=options.study_workers,
                unsafe=options.unsafe,
                progress=study_progress,
                # With the Ray engine, the runs are Ray tasks on the same cluster.
                ray_address=options.ray_address if options.engine == "ray" else None,
            )
            timings["study"] = time.perf_counter() - started
    except BaseException:
        if helpers is not None:
            helpers.cancel()  # the figures and the PDF will not be wanted: stop the children now
        raise
    result = AuditReport(
        evaluation=evaluation,
        rule_set=rule_set,
        results=results,
        recommendations=recommendations,
        fail_on=options.fail_on,
        sweep=swept,
        study=studied,
        history=history,
        created=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        timings=timings,
    )
    return result


def _check_before_loading(model: Any, splits: dict[str, Any], options: AuditOptions) -> None:
    """Report what needs no model before TensorFlow is imported (seconds): paths and headers."""
    engines.check(options.engine)  # unknown, or its package (Ray) missing
    if is_mlflow_uri(model):
        import_mlflow(model)  # without the extra: how to install it, before TensorFlow
    elif isinstance(model, (str, Path)):
        if not Path(model).exists():
            raise ModelLoadError(f"{model}: model file not found")
        detect_format(Path(model))  # a folder that is no SavedModel, an unknown suffix
    for name, source in splits.items():
        check_header(name, source, options.label, options.ignore, options.context_columns)


def _with_proxy_bounds(options: AuditOptions, rule_set: RuleSet) -> AuditOptions:
    """OPTIONS with the target-proxy work widened to what the rules judge (never narrowed)."""
    bounds = proxy_bounds(rule_set)
    if bounds is None:
        return options
    candidates, min_score = bounds
    return replace(
        options,
        proxy_candidates=max(options.proxy_candidates, candidates),
        proxy_min_score=min(options.proxy_min_score, min_score),
    )


class _Helpers:
    """The child processes that take report work off the audit's path, on Linux.

    For a PDF, a `PdfWorker` forked before TensorFlow is imported; for HTML or PDF, `Drawings`
    forked once the evaluation is done, drawing its figures while the rules run.
    """

    def __init__(self, formats: Sequence[str]):
        forks = sys.platform.startswith("linux")
        self._pdf_wanted = forks and "pdf" in formats
        self._figures_wanted = forks and bool(FIGURE_FORMATS & set(formats))
        self.pdf: PdfWorker | None = None
        self.drawing: Drawings | None = None

    def before_loading(self) -> None:
        if self._pdf_wanted and self.pdf is None:
            self.pdf = PdfWorker()

    def evaluated(self, evaluation: Evaluation, history: dict[str, list[float]] | None) -> None:
        if self._figures_wanted and self.drawing is None:
            self.drawing = Drawings(evaluation, history)

    def cancel(self) -> None:
        for helper in (self.drawing, self.pdf):
            if helper is not None:
                helper.cancel()
