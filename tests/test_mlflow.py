"""MLflow: audit a registered model by its URI, log the audit to a run, tag the version.

Runs against a real MLflow tracking server that the fixture starts on localhost (SQLite backend,
a local artifact store, a free port) and stops afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow  # the dev extra installs it: CI runs this module, never skips it
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from auditor.cli import main
from auditor.errors import ModelLoadError
from auditor.loading.mlflow_model import MlflowSource, resolve
from auditor.resources import schema_path

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory):
    """A tracking server of our own, with the registry; MLFLOW_TRACKING_URI points at it."""
    folder = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers in a group of their own, stopped together
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the MLflow server did not start: {server.returncode}")
            time.sleep(0.5)
        previous = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = uri
        yield uri
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        if "previous" in locals():
            if previous is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(scope="module")
def registered(tracking_uri, tiny_binary):
    """The tiny binary model logged with MLflow's Keras flavour, registered as `tiny` version 1."""
    import keras

    # As a user logs it: the saved file, loaded. (The fixture's model object itself was also saved
    # as .h5 and exported, after which Keras saves its optimizer inconsistently.)
    model = keras.saving.load_model(tiny_binary.path("keras"))
    client = mlflow.MlflowClient()
    experiment = client.create_experiment("auditor-tests")
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.keras.log_model(model, name="model", registered_model_name="tiny")
    client.set_registered_model_alias("tiny", "candidate", "1")
    return run.info.run_id


def audit(model: str, tiny, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run the `auditor` command as a CI job would, in its own process."""
    env = {**os.environ, "MLFLOW_EXPERIMENT_NAME": "auditor-tests"}
    return subprocess.run(
        [sys.executable, "-m", "auditor", "audit", model, "--train", str(tiny.split("train")),
         "--val", str(tiny.split("val")), "--out", str(out), "--no-progress", *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_a_registered_version_is_audited_by_alias_and_tagged_with_its_verdict(
    registered, tiny_binary, tmp_path
):
    out = tmp_path / "r"
    done = audit("models:/tiny@candidate", tiny_binary, out, "--format", "json,html,md,junit",
                 "--mlflow")  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert done.returncode == (0 if report["verdict"] == "pass" else 1), done.stderr
    assert done.stderr == ""
    # The report names the URI and what it resolved to: the alias's version, its training run.
    assert report["model"]["path"] == "models:/tiny@candidate"
    assert report["model"]["mlflow"] == {
        "uri": "models:/tiny@candidate", "name": "tiny", "version": "1", "run_id": registered
    }  # fmt: skip
    client = mlflow.MlflowClient()
    # The registered version carries the verdict, where its report is, and the audit's run.
    tags = client.get_model_version("tiny", "1").tags
    assert tags["auditor.verdict"] == report["verdict"]
    run = client.get_run(tags["auditor.run_id"])
    assert tags["auditor.report"] == f"{run.info.artifact_uri}/auditor/report.html"
    assert "mlflow: tagged models:/tiny/1 with the verdict" in done.stdout
    assert "View run" not in done.stdout  # MLflow's own line about the run is not repeated
    # The run: the verdict as a tag, each split's metrics prefixed with the split's name.
    assert run.data.tags["auditor.verdict"] == report["verdict"]
    assert run.data.tags["auditor.model_version"] == "1"
    assert run.info.experiment_id == client.get_experiment_by_name("auditor-tests").experiment_id
    for split in ("train", "val"):
        for metric in ("accuracy", "loss", "roc_auc"):
            expected = report["splits"][split]["metrics"][metric]
            assert run.data.metrics[f"{split}_{metric}"] == pytest.approx(expected)
    assert "val_per_class" not in run.data.metrics
    # Every report written is an artifact of the run, and reads back the same.
    names = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "auditor")}
    assert names == {"report.json", "report.html", "summary.md", "junit.xml"}
    copy = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="auditor/report.json", dst_path=str(tmp_path / "back")
    )
    assert json.loads(Path(copy).read_text()) == report
    Draft202012Validator(json.loads(schema_path().read_text())).validate(report)


def test_uris_resolve_to_the_version_they_name_now(registered):
    assert resolve("models:/tiny/latest") == MlflowSource(
        "models:/tiny/latest", "models:/tiny/1", "tiny", "1", registered
    )
    assert resolve("models:/tiny@candidate").download_uri == "models:/tiny/1"
    assert resolve("models:/tiny/1").version == "1"
    with pytest.raises(ModelLoadError, match=r"^models:/tiny@nobody: "):
        resolve("models:/tiny@nobody")
    with pytest.raises(ModelLoadError, match=r"^models:/tiny/Production: .* has no such version"):
        resolve("models:/tiny/Production")  # no version was moved to that (deprecated) stage
    with pytest.raises(ModelLoadError, match=r"^models:/a/b/c: not an MLflow model URI auditor"):
        resolve("models:/a/b/c")


def test_a_run_artifact_is_audited_and_logged_without_tagging_a_version(
    registered, tiny_binary, tmp_path
):
    uri = f"runs:/{registered}/model"
    # The tiny model fails a warning-level rule: at --fail-on warning the gate blocks, and the
    # failed verdict is recorded all the same.
    done = audit(uri, tiny_binary, tmp_path / "r", "--format", "json", "--mlflow",
                 "--fail-on", "warning", "--quiet")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("FAIL  ") and done.stdout.count("\n") == 1  # the verdict only
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["model"]["mlflow"] == {
        "uri": uri, "name": None, "version": None, "run_id": registered
    }  # fmt: skip
    client = mlflow.MlflowClient()
    runs = client.search_runs(
        [client.get_experiment_by_name("auditor-tests").experiment_id],
        filter_string=f"tags.`auditor.model` = '{uri}'",
    )
    assert len(runs) == 1 and runs[0].data.tags["auditor.model_run_id"] == registered
    assert runs[0].data.tags["auditor.verdict"] == "fail" == report["verdict"]
    assert runs[0].data.tags["auditor.blocking"] == ",".join(report["summary"]["blocking"])
    assert "auditor.model_version" not in runs[0].data.tags
    assert "tagged" not in done.stdout


def test_safe_mode_stays_on_for_mlflow_models(tracking_uri, tiny_binary, tmp_path):
    import keras

    inputs = keras.Input((4,))
    scaled = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(scaled))
    model.compile(loss="binary_crossentropy")
    with mlflow.start_run() as run:
        mlflow.keras.log_model(model, name="lambda")
    uri = f"runs:/{run.info.run_id}/lambda"
    refused = audit(uri, tiny_binary, tmp_path / "r")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"Error: {uri}: the model contains a Lambda layer or other stored Python code, which "
        "auditor does not run by default; if you trust this file, pass --unsafe\n"
    )
    assert not (tmp_path / "r").exists()


def test_a_missing_version_is_one_error_line(registered, tiny_binary, tmp_path):
    result = CliRunner().invoke(
        main,
        ["audit", "models:/tiny/99", "--train", str(tiny_binary.split("train")),
         "--val", str(tiny_binary.split("val")), "--out", str(tmp_path / "r")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("Error: models:/tiny/99: ")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_an_unreachable_server_is_one_line_naming_it(tiny_binary, tmp_path):
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    env = {**os.environ, "MLFLOW_TRACKING_URI": dead, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    args = ["--train", str(tiny_binary.split("train")), "--val", str(tiny_binary.split("val")),
            "--no-progress"]  # fmt: skip
    unread = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", "models:/fraud/3", *args, "--out",
         str(tmp_path / "a")], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert unread.returncode == 2
    assert unread.stderr == (
        f"Error: models:/fraud/3: cannot reach the MLflow tracking server at {dead} "
        "(set MLFLOW_TRACKING_URI to your server)\n"
    )
    # A file audited, then not recorded: the reports are written, and the error says why.
    unlogged = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", str(tiny_binary.path("keras")), *args,
         "--format", "json", "--out", str(tmp_path / "b"), "--mlflow"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert unlogged.returncode == 2
    assert (tmp_path / "b" / "report.json").exists()
    assert unlogged.stderr == (
        f"Error: MLflow ({dead}): cannot record the audit of {tiny_binary.path('keras')}: "
        f"cannot reach the MLflow tracking server at {dead} (set MLFLOW_TRACKING_URI to your "
        "server)\n"
    )
