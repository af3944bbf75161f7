"""The command line (`audit`, `compare`, `rules`, `init`): the only place that prints and exits."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from auditor import __version__
from auditor.engines import ENGINES
from auditor.errors import AuditorError
from auditor.loading.readers import supported_formats
from auditor.options import STUDY_PREFER, AuditOptions
from auditor.report.writer import FILE_NAMES, FORMATS
from auditor.vocabulary import FAIL_ON, Status

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULTS = AuditOptions()  # the options' defaults are written once, in AuditOptions

EXIT_CODES_HELP = """\b
Exit codes:
  0  no failed rule at or above --fail-on
  1  a rule at or above --fail-on failed (the gate blocks)
  2  usage, configuration or input error (one 'Error:' line on stderr)
  3  internal error in auditor (please report it)"""

COMPARE_EXIT_CODES_HELP = """\b
Exit codes:
  0  NEW is not worse than OLD by the rule set's regression rules
  1  a regression rule at or above --fail-on failed: NEW is worse
  2  usage or input error (one 'Error:' line on stderr)"""


def _handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one `Error:` line and exit 2; never show a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AuditorError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # A bug in auditor: one line, and a way to see more.
            if kwargs.get("debug"):
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {exc}); rerun with --debug for the "
                "traceback and please report it",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _formats(value: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    if "all" in chosen:
        return FORMATS
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(
            f"unknown format(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(FORMATS)} or all"
        )
    return chosen


class _OneLineErrors(click.Group):
    """The command group; a usage error is one `Error:` line, as every other input error is.

    Click's own handling prints the usage block and a hint around the message (three lines);
    the usage stays one `--help` away.
    """

    def main(  # type: ignore[override]  # noqa: D102 (click's)
        self, args: Any = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        extra.pop("standalone_mode", None)
        try:
            returned = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(returned if isinstance(returned, int) else 0)


@click.group(
    cls=_OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="auditor")
def main() -> None:
    """auditor: a release gate for Keras classifiers.

    It loads a saved model and the splits it was trained and validated on, measures how it
    generalizes, judges the numbers with a declarative rule set, recommends L1/L2 changes, and
    writes HTML, PDF, JSON, JUnit and Markdown reports.
    """


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("model")
@click.option(
    "--train",
    "train",
    required=True,
    metavar="PATH|URI",
    help=(
        f"Training split: a {supported_formats()} file, a Parquet dataset (a folder, a glob, "
        "or a URI such as s3://bucket/train/), or for an image model an image folder with one "
        "sub-folder of PNG/JPEG files per class."
    ),
)
@click.option("--val", "val", required=True, metavar="PATH|URI", help="Validation split.")
@click.option("--test", "test", metavar="PATH|URI", help="Optional test split.")
@click.option(
    "--label",
    default=DEFAULTS.label,
    show_default=True,
    help="Label column (CSV/Parquet; NPZ uses array y).",
)
@click.option(
    "--ignore", multiple=True, metavar="COLUMN", help="Column that is not a feature (repeatable)."
)
@click.option(
    "--group-column",
    "group_columns",
    multiple=True,
    metavar="COLUMN",
    help="Column naming the entity of each row (patient, customer, device; repeatable): rule LK06 "
    "fails when validation rows share groups with training. Not a feature unless the model takes "
    "it.",
)
@click.option(
    "--time-column",
    metavar="COLUMN",
    help="Column holding when each row was recorded (dates or numbers): rule LK07 fails when "
    "validation rows are earlier than the latest training row. Not a feature unless the model "
    "takes it.",
)
@click.option(
    "--text-column",
    metavar="COLUMN",
    help="The column a text model (one string input) reads (default: the input's own name).",
)
@click.option("--classes", help="Comma-separated class names in the order of the model's outputs.")
@click.option(
    "--rules", "rules", help="Rule set: a YAML file or a bundled name (default: default)."
)
@click.option(
    "--out",
    "out",
    default="audit-report",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the reports.",
)
@click.option(
    "--format",
    "formats",
    default="all",
    show_default=True,
    help=f"Reports to write: comma-separated from {', '.join(FORMATS)}, or all.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default=DEFAULTS.fail_on,
    show_default=True,
    help="Lowest severity of a failed rule that fails the gate.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=DEFAULTS.threshold,
    show_default=True,
    help="Decision threshold on the positive class (binary models).",
)
@click.option(
    "--unsafe",
    is_flag=True,
    help="Allow loading models that contain Python code (Lambda layers). Only for files you trust.",
)
@click.option(
    "--drop-invalid-rows",
    is_flag=True,
    help="Drop rows with NaN/inf features (counted in the report) instead of failing.",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(1),
    default=DEFAULTS.batch_rows,
    show_default=True,
    help="Rows per prediction batch.",
)
@click.option(
    "--engine",
    type=click.Choice(tuple(ENGINES)),
    default=DEFAULTS.engine,
    show_default=True,
    help="Where the splits' shards are read, predicted and accumulated: this process, or a Ray "
    "cluster (pip install 'keras-auditor[ray]').",
)
@click.option(
    "--ray-address",
    default=DEFAULTS.ray_address,
    show_default=True,
    metavar="local|auto|ray://HOST:PORT",
    help="The Ray engine's cluster: start a local one, join the one this runs in, or a remote one.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=DEFAULTS.workers,
    help="Ray workers (one model each; default: one per CPU of the cluster).",
)
@click.option(
    "--shard-rows",
    type=click.IntRange(1),
    default=DEFAULTS.shard_rows,
    show_default=True,
    help="Rows per shard at least, where a split can be cut (Parquet row groups).",
)
@click.option(
    "--sample-rows",
    type=click.IntRange(1),
    default=DEFAULTS.sample_rows,
    show_default=True,
    help="Rows per split sampled for the drift, proxy and identifier checks.",
)
@click.option(
    "--proxy-candidates",
    type=click.IntRange(0),
    default=DEFAULTS.proxy_candidates,
    show_default=True,
    help="Strongest single features compared with all the others (target-proxy check).",
)
@click.option(
    "--proxy-min-score",
    type=click.FloatRange(0, 1),
    default=DEFAULTS.proxy_min_score,
    show_default=True,
    help="Single-feature ROC AUC below which a feature is not compared with the others.",
)
@click.option(
    "--history",
    type=click.Path(path_type=Path),
    help="Training history: a Keras CSVLogger file or JSON of History.history (learning curves).",
)
@click.option(
    "--baseline",
    "baseline",
    type=click.Path(path_type=Path),
    help="report.json of an earlier audit (e.g. the model in production) to compare with.",
)
@click.option(
    "--baseline-model",
    type=click.Path(path_type=Path),
    help="A model to audit on the same splits and compare with.",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="Verify the top L1/L2 recommendation by retraining clones at a few strengths (slow).",
)
@click.option(
    "--sweep-epochs",
    type=click.IntRange(1),
    default=DEFAULTS.sweep_epochs,
    show_default=True,
    help="Epochs per sweep run.",
)
@click.option(
    "--sweep-budget",
    type=click.FloatRange(1),
    default=DEFAULTS.sweep_budget,
    show_default=True,
    help="Seconds for the whole sweep.",
)
@click.option(
    "--study",
    is_flag=True,
    help=(
        "Retrain the control, no penalty, L1, L2 and L1+L2 at a few strengths over seeds, in "
        "parallel, within --sweep-epochs and --sweep-budget, and choose by --prefer (slow)."
    ),
)
@click.option(
    "--study-seeds",
    type=click.IntRange(1),
    default=DEFAULTS.study_seeds,
    show_default=True,
    help="Seeds per study setting (their spread is the noise a setting must beat).",
)
@click.option(
    "--prefer",
    type=click.Choice(STUDY_PREFER),
    default=DEFAULTS.prefer,
    show_default=True,
    help="What the study chooses by: validation loss, or the positive class's recall, "
    "precision or F1 (macro for multiclass).",
)
@click.option(
    "--study-workers",
    type=click.IntRange(1),
    help="Worker processes of the study (default: one per CPU; --engine ray: Ray tasks).",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULTS.seed,
    show_default=True,
    help="Seed of the sweep's and the study's initialization and shuffling (the study's seeds "
    "are SEED, SEED+1, ...).",
)
@click.option(
    "--mlflow",
    "to_mlflow",
    is_flag=True,
    help="Log the audit to an MLflow run (MLFLOW_TRACKING_URI) and tag the registered version.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also print every rule's result and the time of each stage.",
)
@click.option(
    "--no-progress",
    is_flag=True,
    help="No progress display (it only shows when stderr is a terminal).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error (exit 3).")
@_handle_errors
def audit(
    model: str,
    train: str,
    val: str,
    test: str | None,
    classes: str | None,
    out: Path,
    formats: str,
    quiet: bool,
    verbose: bool,
    no_progress: bool,
    debug: bool,
    to_mlflow: bool,
    **settings: Any,
) -> None:
    """Audit MODEL on its train/val(/test) splits.

    MODEL is a .keras or .h5 file, a SavedModel folder, or an MLflow model URI
    (models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH; needs keras-auditor[mlflow]).
    """
    from auditor.api import audit_and_write

    chosen = _formats(formats)
    if to_mlflow:
        from auditor.loading.mlflow_model import import_mlflow

        import_mlflow("--mlflow")  # before the audit's seconds, not after them
    progress = _Progress(enabled=not (quiet or no_progress) and sys.stderr.isatty())
    sweep_progress = None if quiet else _SweepProgress(sys.stderr.isatty() and not no_progress)
    study_progress = None if quiet else _StudyProgress(sys.stderr.isatty() and not no_progress)
    if settings["baseline"] is not None and settings["baseline_model"] is not None:
        raise click.UsageError("pass --baseline or --baseline-model, not both")
    if not settings["study"]:
        context = click.get_current_context()
        given = [
            f"--{name.replace('_', '-')}"
            for name in ("study_seeds", "prefer", "study_workers")
            if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            verb = "steers" if len(given) == 1 else "steer"
            raise click.UsageError(f"{', '.join(given)} {verb} the study: add --study")
    # Every other option is a field of AuditOptions, under the same name.
    options = AuditOptions(
        classes=[c.strip() for c in classes.split(",")] if classes else None, **settings
    )
    try:
        result, written = audit_and_write(
            model,
            train=train,
            val=val,
            test=test,
            out=out,
            formats=chosen,
            options=options,
            progress=progress,
            sweep_progress=sweep_progress,
            study_progress=study_progress,
        )
    finally:
        progress.done()  # the line goes before the verdict, or before an error message
    _print_result(result, written, quiet, verbose)
    if to_mlflow:
        from auditor.tracking import log_audit

        logged = log_audit(result, written)
        if not quiet:
            click.echo(f"  mlflow: run {logged.run_id}, reports in {logged.report_uri}")
            if logged.model_version is not None:
                name, version = logged.model_version
                click.echo(f"  mlflow: tagged models:/{name}/{version} with the verdict")
    sys.exit(EXIT_OK if result.passed else EXIT_FAILED)


class _Progress:
    """Rows and shards done so far and rows per second, on one stderr line (terminals only)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.rows: dict[str, int] = {}
        self.shards_done: dict[str, tuple[int, int]] = {}  # shards accumulated, of how many
        self.started = time.perf_counter()

    def __call__(self, split: str, rows: int) -> None:
        if not self.enabled:
            return
        self.rows[split] = self.rows.get(split, 0) + rows
        self._show()

    def shards(self, split: str, done: int, total: int) -> None:
        """Hear from the engine that DONE of the split's TOTAL shards are accumulated."""
        self.shards_done[split] = (done, total)
        if self.enabled and total > 1:
            self._show()

    def _show(self) -> None:
        parts = []
        for name, n in self.rows.items():
            done, total = self.shards_done.get(name, (0, 0))
            parts.append(f"{name} {n:,} rows" + (f", {done}/{total} shards" if total > 1 else ""))
        elapsed = time.perf_counter() - self.started
        rate = sum(self.rows.values()) / max(elapsed, 1e-9)
        click.echo(
            f"\revaluating: {'; '.join(parts)} ({elapsed:.0f} s, {rate:,.0f} rows/s)\x1b[K",
            err=True,
            nl=False,
        )

    def done(self) -> None:
        if self.enabled and self.rows:
            click.echo("\r\x1b[K", err=True, nl=False)


class _SweepProgress:
    """A progress bar over the sweep's runs and epochs on a terminal; one line per run otherwise."""

    def __init__(self, terminal: bool):
        self.terminal = terminal

    def __call__(self, index: int, total: int, label: str, epoch: int, epochs: int) -> None:
        if label == "done":
            erase = "\r\x1b[K" if self.terminal else ""
            click.echo(f"{erase}sweep: {total} runs done", err=True)
            return
        if not self.terminal:
            if epoch == 0:
                click.echo(f"sweep: run {index + 1}/{total} ({label})", err=True)
            return
        share = (index + epoch / max(epochs, 1)) / total
        bar = "#" * round(24 * share)
        click.echo(
            f"\rsweep [{bar:<24}] run {index + 1}/{total} ({label}), epoch {epoch}/{epochs}\x1b[K",
            err=True,
            nl=False,
        )


class _StudyProgress:
    """The study's runs done of all, on one line on a terminal; a line every few runs otherwise."""

    def __init__(self, terminal: bool):
        self.terminal = terminal

    def __call__(self, done: int, total: int, label: str, seed: int) -> None:
        erase = "\r\x1b[K" if self.terminal else ""
        if label == "done":
            click.echo(f"{erase}study: {total} runs done", err=True)
        elif self.terminal:
            click.echo(
                f"\rstudy: {done}/{total} runs ({label}, seed {seed})\x1b[K", err=True, nl=False
            )
        elif done == 1 or done % 5 == 0:
            click.echo(f"study: {done}/{total} runs", err=True)


def _print_result(result: Any, written: list[Path], quiet: bool, verbose: bool = False) -> None:
    verdict = click.style(result.verdict.upper(), fg="green" if result.passed else "red", bold=True)
    blocking = result.blocking
    reason = (
        f"{len(blocking)} blocking finding(s): {', '.join(r.rule.id for r in blocking)}"
        if blocking
        else f"no failed rule at or above '{result.fail_on}'"
    )
    click.echo(f"{verdict}  {result.evaluation.model.name}: {reason}")
    if quiet:
        return
    from auditor.rules.engine import distrust

    warning = distrust(result.results)
    if warning:
        click.echo(f"  ! {warning}")
    for r in result.results:
        if r.status in (Status.FAILED, Status.ERROR, Status.WAIVED) or verbose:
            marks = {Status.WAIVED: "~", Status.PASSED: " ", Status.NOT_APPLICABLE: "-"}
            mark = "x" if r in blocking else marks.get(r.status, "!")
            click.echo(f"  {mark} {r.rule.id:<6} {r.rule.severity:<8} {r.message}")
    for rec in result.recommendations[:3]:
        click.echo(f"  > {rec.action}: {rec.reason}")
    if result.sweep is not None:
        click.echo(f"  sweep: {result.sweep.conclusion}")
    if result.study is not None:
        click.echo(f"  study: {result.study.conclusion}")
    for path in written:
        click.echo(f"  wrote {path}")
    if verbose:
        click.echo("  time: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))


@main.command(epilog=COMPARE_EXIT_CODES_HELP)
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--rules",
    "rules",
    help="Rule set whose regression rules judge NEW against OLD (default: default).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default=DEFAULTS.fail_on,
    show_default=True,
    help="Lowest severity of a failed regression rule that makes NEW worse.",
)
@click.option("--html", "html", type=click.Path(path_type=Path), help="Also write an HTML page.")
@_handle_errors
def compare(old: Path, new: Path, rules: str | None, fail_on: str, html: Path | None) -> None:
    """Compare two audits' report.json side by side (Markdown on stdout); exit 1 if NEW is worse."""
    from auditor.comparison import compare_reports
    from auditor.report.comparison import render_comparison_html, render_comparison_markdown

    comparison = compare_reports(old, new, rules=rules, fail_on=fail_on)
    if html is not None:
        try:
            html.write_text(render_comparison_html(comparison), encoding="utf-8")
        except OSError as exc:
            raise AuditorError(f"{html}: cannot write the comparison ({exc.strerror})") from None
    click.echo(render_comparison_markdown(comparison), nl=False)
    sys.exit(EXIT_FAILED if comparison.worse else EXIT_OK)


@main.group()
def rules() -> None:
    """List, explain and validate rule sets."""


@rules.command("list")
@click.option("--rules", "source", help="Rule set file or bundled name (default: default).")
@_handle_errors
def rules_list(source: str | None) -> None:
    """List the rules of a rule set."""
    from auditor.rules import load_rule_set

    rule_set = load_rule_set(source)
    click.echo(f"{rule_set.name} {rule_set.version} ({rule_set.source})")
    for rule in rule_set.rules:
        state = "" if rule.enabled else "  (disabled)"
        click.echo(f"  {rule.id:<8} {rule.severity:<8} {rule.category:<22} {rule.summary}{state}")


@rules.command("explain")
@click.argument("rule_id")
@click.option("--rules", "source", help="Rule set file or bundled name (default: default).")
@_handle_errors
def rules_explain(rule_id: str, source: str | None) -> None:
    """Explain one rule: what it checks, why, what to do, its thresholds."""
    from auditor.rules import load_rule_set
    from auditor.rules.kinds import KINDS

    rule_set = load_rule_set(source)
    rule = rule_set.get(rule_id) or next(
        (r for r in rule_set.rules if r.id.lower() == rule_id.lower()), None
    )  # rule ids are matched without regard to case: `explain of01` finds OF01
    if rule is None:
        known = ", ".join(r.id for r in rule_set.rules)
        raise AuditorError(f"{rule_set.source}: no rule '{rule_id}' (known: {known})")
    kind = KINDS[rule.kind]
    wrap = lambda text: textwrap.fill(text, 96, initial_indent="  ", subsequent_indent="  ")  # noqa: E731
    click.echo(f"{rule.id}: {rule.summary}")
    click.echo(
        f"  kind {rule.kind} · category {rule.category} · severity {rule.severity}"
        + ("" if rule.enabled else " · disabled")
    )
    click.echo(f"\nChecks:\n{wrap(kind.summary)}")
    click.echo(f"\nWhy it matters:\n{wrap(rule.why)}")
    click.echo(f"\nWhat to do:\n{wrap(rule.what_to_do)}")
    click.echo("\nParameters:")
    for key, param in kind.params.items():
        click.echo(f"  {key} = {rule.params.get(key)!r}  ({param.help}; {param.describe()})")
    if rule.example:
        click.echo(f"\nExample:\n{wrap(rule.example)}")


@rules.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@_handle_errors
def rules_validate(path: Path) -> None:
    """Check a rule-set file; exit 2 with every problem named when it is invalid."""
    from auditor.rules import load_rule_set

    if not path.exists():
        raise AuditorError(f"{path}: rule set not found")
    rule_set = load_rule_set(path)
    enabled = len(rule_set.enabled)
    click.echo(
        f"{path}: valid ({rule_set.name} {rule_set.version}, "
        f"{enabled} enabled rule(s) of {len(rule_set.rules)})"
    )


INIT_TEMPLATE = """\
# Rule set for auditor. It extends the bundled default set: every default rule applies unless you
# change or disable it here. `auditor rules list --rules {name}` shows the result,
# `auditor rules explain ID` explains a rule, `auditor rules validate {name}` checks this file.
extends: default
name: my-team
version: "1.0"

rules:
  # Change a default rule's thresholds (params merge key by key) or severity:
  # - id: OF01
  #   params: {{max_gap: 0.10}}
  # - id: RC01
  #   severity: warning
  #   params: {{judge: upper_bound}}   # fail only when the recall is confidently below the floor

  # Add your own rule of any kind (see `auditor rules list` for the kinds in use):
  # - id: TEAM01
  #   kind: recall_floor
  #   severity: error
  #   params: {{split: val, min_recall: 0.8, classes: ["1"]}}
  #   summary: Fraud recall below 0.8.
  #   why: Every missed fraud is paid in full.
  #   what_to_do: Lower the threshold or weight the fraud class.

# Switch rules off entirely:
# disable: [CA01]

# Accept a known failure, with a reason and (better) an expiry date:
# waivers:
#   - rule: RC02
#     reason: Class 'other' is known to be weak; tracked in ML-123.
#     expires: 2027-03-31
#     classes: [other]            # optional: only while the failing classes are among these
"""


@main.command()
@click.argument("path", type=click.Path(path_type=Path), default="auditor-rules.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@_handle_errors
def init(path: Path, force: bool) -> None:
    """Write a commented rule-set file (default: auditor-rules.yaml) that extends the default."""
    if path.exists() and not force:
        raise AuditorError(f"{path}: already exists; pass --force to overwrite it")
    try:
        path.write_text(INIT_TEMPLATE.format(name=path.name), encoding="utf-8")
    except OSError as exc:
        raise AuditorError(f"{path}: cannot write ({exc.strerror})") from None
    click.echo(
        f"wrote {path}; use it with: auditor audit MODEL --train ... --val ... --rules {path}"
    )


__all__ = ["main", "FILE_NAMES"]


def run() -> None:
    """Run the `auditor` command (`main`), then exit without tearing the interpreter down.

    Once the reports are written and the output flushed, tearing the interpreter down only
    destroys TensorFlow's runtime, which takes about 2 seconds; `os._exit` skips it. Tests and
    embedders call `main` itself, which exits normally.
    """
    from auditor.loading import keras_env
    from auditor.memory import return_freed_memory

    return_freed_memory()  # before any thread starts: see its docstring
    keras_env.FREEZE_AFTER_IMPORT = True  # the process is ours: see keras_env
    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if isinstance(exc.code, str):
            click.echo(exc.code, err=True)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
