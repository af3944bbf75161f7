"""Loads a model given as an MLflow URI (`models:/name/3`, `models:/name@alias`, `runs:/id/path`).

The URI is resolved once, to a registered version when it names one, so that the model audited is
the version a verdict is recorded on. The model's files are downloaded and read through MLflow's
Keras flavour (its MLmodel file says where the saved model is), and loaded by `load_model`, with
Keras' safe mode on unless `unsafe`. MLflow is an optional extra: `keras-auditor[mlflow]`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError, ModelLoadError
from auditor.loading.model import LoadedModel, load_model

SCHEMES = ("models:/", "runs:/")
INSTALL = "pip install 'keras-auditor[mlflow]'"
_MODELS = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<ref>[^/]+)|@(?P<alias>[^/]+))?/?$")
_RUNS = re.compile(r"^runs:/(?P<run>[^/]+)/(?P<path>.+)$")
# How the MLflow client words a server it could not connect to, after its retries.
_UNREACHABLE = (
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Connection refused",
)


def is_mlflow_uri(value: Any) -> bool:
    """Whether VALUE is an MLflow model URI rather than a path."""
    return isinstance(value, str) and value.startswith(SCHEMES)


def import_mlflow(what: str) -> Any:
    """Import mlflow, or raise the one-line error that says how to install it; WHAT needs it."""
    try:
        import mlflow
    except ImportError:
        raise AuditorError(f"{what} needs MLflow, which is not installed: {INSTALL}") from None
    return mlflow


@dataclass(frozen=True)
class MlflowSource:
    """What an MLflow model URI names: a registered version, or a run's artifact."""

    uri: str  # as given
    download_uri: str  # pinned: models:/name/<version> for any registry reference
    name: str | None = None
    version: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the source as report.json holds it under model.mlflow."""
        return {"uri": self.uri, "name": self.name, "version": self.version, "run_id": self.run_id}


def resolve(uri: str) -> MlflowSource:
    """Resolve URI: an alias, a stage or `latest` becomes the registered version it names now."""
    mlflow = import_mlflow(uri)
    runs = _RUNS.match(uri)
    if runs:
        return MlflowSource(uri, uri, run_id=runs["run"])
    models = _MODELS.match(uri)
    if not models:
        raise ModelLoadError(
            f"{uri}: not an MLflow model URI auditor reads; use models:/NAME/VERSION, "
            "models:/NAME@ALIAS, models:/NAME/latest or runs:/RUN_ID/PATH"
        )
    name, ref, alias = models["name"], models["ref"], models["alias"]
    if ref is None and alias is None:  # models:/<model id>: a logged model, not in the registry
        return MlflowSource(uri, uri)
    client = mlflow.MlflowClient()
    try:
        if alias is not None:
            found = client.get_model_version_by_alias(name, alias)
        elif ref.isdigit():
            found = client.get_model_version(name, ref)
        else:  # `latest`, or a (deprecated) stage such as Production
            quoted = name.replace("'", "\\'")
            versions = client.search_model_versions(f"name = '{quoted}'")
            if ref.lower() != "latest":
                versions = [v for v in versions if str(v.current_stage).lower() == ref.lower()]
            if not versions:
                raise ModelLoadError(f"{uri}: the registered model '{name}' has no such version")
            found = max(versions, key=lambda v: int(v.version))
    except mlflow.exceptions.MlflowException as exc:
        raise ModelLoadError(f"{uri}: {mlflow_message(exc)}") from None
    version = str(found.version)
    return MlflowSource(uri, f"models:/{name}/{version}", name, version, found.run_id or None)


def load_mlflow_model(uri: str, *, unsafe: bool = False) -> LoadedModel:
    """Load the Keras classifier at the MLflow URI (its info's `path`; `mlflow` is its source)."""
    mlflow = import_mlflow(uri)
    source = resolve(uri)
    with tempfile.TemporaryDirectory(prefix="auditor-mlflow-") as tmp:
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(artifact_uri=source.download_uri, dst_path=tmp)
            )
        except mlflow.exceptions.MlflowException as exc:
            raise ModelLoadError(f"{uri}: {mlflow_message(exc)}") from None
        except OSError as exc:
            raise ModelLoadError(f"{uri}: cannot download the model ({exc})") from None
        saved = _keras_file(uri, local)
        try:
            loaded = load_model(saved, unsafe=unsafe)
        except ModelLoadError as exc:  # name the URI the user gave, not the downloaded copy
            raise ModelLoadError(str(exc).replace(str(saved), uri)) from None
    loaded.info = replace(loaded.info, path=uri, mlflow=source.to_dict())
    return loaded


def _keras_file(uri: str, local: Path) -> Path:
    """Find the saved model the MLmodel's Keras flavour in LOCAL names (as MLflow reads it)."""
    import yaml

    try:
        conf = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        raise ModelLoadError(f"{uri}: not an MLflow model (no readable MLmodel file)") from None
    flavors = conf.get("flavors") or {}
    keras = flavors.get("keras")
    if not isinstance(keras, dict):
        raise ModelLoadError(
            f"{uri}: not logged with MLflow's Keras flavour (flavours: "
            f"{', '.join(flavors) or 'none'}); log it with mlflow.keras.log_model"
        )
    path = local / str(keras.get("data", "model"))
    if path.is_dir():
        path = path / "model"
    return path if keras.get("save_exported_model") else path.with_name(path.name + ".keras")


def mlflow_message(exc: Exception) -> str:
    """Return the first line of an MLflow error, for a one-line message."""
    text = str(getattr(exc, "message", "") or exc).strip()
    if any(sign in text for sign in _UNREACHABLE):
        import mlflow

        return (
            f"cannot reach the MLflow tracking server at {mlflow.get_tracking_uri()} "
            "(set MLFLOW_TRACKING_URI to your server)"
        )
    return text.splitlines()[0][:300] if text else type(exc).__name__
