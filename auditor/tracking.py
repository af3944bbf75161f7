"""Records an audit in MLflow: metrics, verdict and reports on a run; the verdict on the version.

MLflow finds its server as usual (`MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_NAME`, and
`MLFLOW_RUN_ID` to log into an existing run). A model that came from the registry gets the tags
`auditor.verdict` (pass or fail), `auditor.report` (where its report is) and `auditor.run_id`, so a
promotion step can require `auditor.verdict = pass`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import AuditorError
from auditor.loading.mlflow_model import import_mlflow, mlflow_message

if TYPE_CHECKING:
    from auditor.result import AuditResult

ARTIFACT_DIR = "auditor"  # the run's artifact folder the reports go into
VERDICT_TAG = "auditor.verdict"
REPORT_TAG = "auditor.report"
RUN_TAG = "auditor.run_id"


@dataclass(frozen=True)
class Logged:
    """Where an audit was recorded: the run, its reports' location, the version tagged (if any)."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    report_uri: str  # the run's artifact folder holding the reports
    model_version: tuple[str, str] | None = None  # (registered name, version) that was tagged


def split_metrics(result: AuditResult) -> dict[str, float]:
    """Each split's scalar metrics, named `<split>_<metric>` (`val_accuracy`, `train_loss`...)."""
    metrics = {}
    for split, evaluation in result.evaluation.splits.items():
        for key, value in evaluation.metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                metrics[f"{split}_{key}"] = float(value)  # NaN (value != value) is left out
    return metrics


def log_audit(result: AuditResult, written: Sequence[Path]) -> Logged:
    """Log RESULT and the report files WRITTEN to an MLflow run; tag the registered version.

    The run is the active one, or `MLFLOW_RUN_ID`'s, or a new one in the current experiment.
    """
    mlflow = import_mlflow("--mlflow")
    model = result.evaluation.model
    source = model.mlflow or {}
    tags = {
        VERDICT_TAG: result.verdict,
        "auditor.blocking": ",".join(r.rule.id for r in result.blocking),
        "auditor.fail_on": result.fail_on,
        "auditor.model": model.path,
        "auditor.rule_set": f"{result.rule_set.name} {result.rule_set.version}",
    }
    if source.get("name"):
        tags["auditor.model_name"] = source["name"]
        tags["auditor.model_version"] = source["version"]
    if source.get("run_id"):
        tags["auditor.model_run_id"] = source["run_id"]
    try:
        active = mlflow.active_run()
        run = active or mlflow.start_run(run_name=f"auditor {model.name}")
        try:
            mlflow.set_tags(tags)
            mlflow.log_metrics(split_metrics(result))
            for path in written:
                mlflow.log_artifact(str(path), artifact_path=ARTIFACT_DIR)
        finally:
            if active is None:
                # MLflow prints the run's URL on stdout as it ends it; the command says it itself.
                with contextlib.redirect_stdout(io.StringIO()):
                    mlflow.end_run()
        report_uri = f"{run.info.artifact_uri.rstrip('/')}/{ARTIFACT_DIR}"
        version = None
        if source.get("name") and source.get("version"):
            version = (str(source["name"]), str(source["version"]))
            client = mlflow.MlflowClient()
            for key, value in _version_tags(result, written, report_uri, run.info.run_id).items():
                client.set_model_version_tag(version[0], version[1], key, value)
    except mlflow.exceptions.MlflowException as exc:
        raise AuditorError(
            f"MLflow ({mlflow.get_tracking_uri()}): cannot record the audit of {model.path}: "
            f"{mlflow_message(exc)}"
        ) from None
    return Logged(
        run_id=run.info.run_id,
        experiment_id=run.info.experiment_id,
        tracking_uri=str(mlflow.get_tracking_uri()),
        report_uri=report_uri,
        model_version=version,
    )


def _version_tags(
    result: AuditResult, written: Sequence[Path], report_uri: str, run_id: str
) -> dict[str, str]:
    names = [Path(p).name for p in written]
    # The report a person opens first: HTML, else whatever was written.
    first = names[0] if names else ""
    main = next((n for n in ("report.html", "report.json") if n in names), first)
    return {
        VERDICT_TAG: result.verdict,
        REPORT_TAG: f"{report_uri}/{main}" if main else report_uri,
        RUN_TAG: run_id,
    }
