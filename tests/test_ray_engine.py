"""The Ray engine gives the local engine's report, on a local Ray cluster the tests start.

Splits are Parquet datasets cut into uneven shards (a one-row file, a file where a class is
absent), with validation rows planted in the training split (exact duplicates across splits).
The Ray engine's report.json must equal the local engine's: metrics to 1e-9, rule results and
recommendations the same, for a binary and a multiclass model; and again when a worker process is
killed mid-audit. A shard that cannot be read fails the audit with one line naming it, exit 2.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sharding import assert_close, comparable, table, write_file, write_folder

from auditor.api import audit
from auditor.errors import DataError
from auditor.facts.scores import ScoreKeys
from auditor.facts.shard import Scoring
from auditor.regularization import threshold_for_recall

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
ROOT = Path(__file__).resolve().parent.parent
PLANTED = 12  # validation rows copied into the training split
CONFLICTS = 5  # training rows copied within the training split with another label
# Train: a one-row file, a file of 40 rows without class 1, then uneven files of row groups.
TRAIN_FILES = [[1], [40], [17, 60], [3], [100, 100, 79]]
SETTINGS = {"batch_rows": 32, "shard_rows": 50, "sample_rows": 150}
FLOORS = (0.5, 0.7)  # the bundled rules' recall floors (and the advice's default, 0.5)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _splits(model: Any, folder: Path) -> dict[str, Path]:
    """Train as a folder of uneven files (with planted val rows), val as one multi-group file."""
    x, y = model.x_train.copy(), model.y_train.copy()
    x[-PLANTED:], y[-PLANTED:] = model.x_val[:PLANTED], model.y_val[:PLANTED]  # planted copies
    # Copies of rows 100.. among rows 200.., relabelled: identical rows with different labels.
    x[200 : 200 + CONFLICTS] = x[100 : 100 + CONFLICTS]
    y[200 : 200 + CONFLICTS] = (y[100 : 100 + CONFLICTS] + 1) % (int(y.max()) + 1)
    # Rows 1..40 (the second file) hold no row of class 1.
    others = np.flatnonzero(y != 1)[:40]
    rest = np.setdiff1d(np.arange(len(y)), others)
    order = np.concatenate([rest[:1], others, rest[1:]])
    x, y = x[order], y[order]
    assert 1 not in y[1:41] and 1 in y
    train = write_folder(folder / "train", table(x, y, model.names), TRAIN_FILES)
    val = write_file(
        folder / "val.parquet", table(model.x_val, model.y_val, model.names), [1, 99, 50, 50]
    )
    return {"train": train, "val": val}


def _audit(model: Any, splits: dict[str, Path], **settings: Any) -> Any:
    return audit(
        model.path("keras"), train=splits["train"], val=splits["val"], **SETTINGS, **settings
    )


def _assert_same(ray_run: Any, local_run: Any, labels_kept: bool = False) -> None:
    """The reports, facts and matches are the same; LABELS_KEPT: a fact read them row by row."""
    ours, theirs = ray_run.to_dict(), local_run.to_dict()
    assert_close(comparable(ours), comparable(theirs), tolerance=1e-9)
    assert ours["results"] == theirs["results"]  # every rule's status, message, evidence
    assert ours["recommendations"] == theirs["recommendations"]
    assert ray_run.evaluation.data == local_run.evaluation.data  # the facts the rules judged
    for name in ("train", "val"):
        ray_rows, local_rows = ray_run.evaluation.rows[name], local_run.evaluation.rows[name]
        for field in ("n_rows", "sample_rows", "sample_x"):
            assert np.array_equal(getattr(ray_rows, field), getattr(local_rows, field)), field
        # Matched in buckets on the workers, and in one here: the same counts and examples.
        assert ray_rows.matches == local_rows.matches
        # The rows' predictions stayed on the workers: the driver holds sums, curves, thresholds.
        ray_split, local_split = ray_run.evaluation.splits[name], local_run.evaluation.splits[name]
        assert len(ray_split.proba) == 0
        assert len(ray_split.y) == (ray_split.n_rows if labels_kept else 0)
        assert len(local_split.y) == local_split.n_rows
        for cls, curve in local_split.curves.items():
            for key, values in curve.items():
                np.testing.assert_array_equal(ray_split.curves[cls][key], values, err_msg=key)
        np.testing.assert_array_equal(ray_split.sums.confusion, local_split.sums.confusion)
        np.testing.assert_array_equal(ray_split.sums.score_counts, local_split.sums.score_counts)
        if len(local_split.proba[0]) == 2:  # binary: the advice's thresholds, found on the workers
            assert set(ray_split.recall_thresholds) == {(c, f) for c in (0, 1) for f in FLOORS}
            for (cls, floor), found in ray_split.recall_thresholds.items():
                want = threshold_for_recall(local_split.y, local_split.proba[:, 1], cls, floor)
                assert found == want, (name, cls, floor)
        else:
            assert ray_split.recall_thresholds == {}
    engine, local_engine = ours["engine"], theirs["engine"]
    assert (engine["name"], engine["workers"], engine["address"]) == ("ray", 2, "local")
    assert local_engine["name"] == "local" and local_engine["workers"] == 1
    for key in ("shards", "rows", "splits"):
        assert engine[key] == local_engine[key]


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_the_ray_engine_gives_the_local_report(
    cluster: Any, tiny_binary: Any, tiny_multiclass: Any, tmp_path: Path, task: str
) -> None:
    model = tiny_binary if task == "binary" else tiny_multiclass
    splits = _splits(model, tmp_path)
    local_run = _audit(model, splits)
    ray_run = _audit(model, splits, engine="ray", workers=2)
    _assert_same(ray_run, local_run)
    assert ray_run.to_dict()["engine"]["splits"] == {
        "train": {"shards": 7, "rows": 400},
        "val": {"shards": 3, "rows": 200},
    }
    leak = next(r for r in ray_run.results if r.rule.id == "LK01")
    assert leak.status == "failed" and leak.observed["shared_rows"] >= PLANTED
    duplicates = ray_run.evaluation.data.duplicates["train"]
    assert duplicates.conflicting_label_groups >= CONFLICTS and duplicates.examples


def test_the_driver_holds_references_to_the_row_hashes_not_the_hashes(
    cluster: Any, tiny_binary: Any, tmp_path: Path
) -> None:
    """Each shard's hashes stay in the object store in buckets; matching returns counts."""
    from auditor.engines import running
    from auditor.facts.buckets import RowKeys
    from auditor.loading.data import ReadOptions, SplitReader
    from auditor.loading.model import load_model
    from auditor.options import AuditOptions

    splits = _splits(tiny_binary, tmp_path)
    options = AuditOptions(engine="ray", workers=2, **SETTINGS)
    read = ReadOptions(n_classes=2, n_features=4, batch_rows=32, shard_rows=50)
    reader = SplitReader("train", splits["train"], read)
    with running("ray", load_model(tiny_binary.path("keras")), options) as session:
        assert session.bucket_bits == 3  # 4 buckets per worker, 2 workers, for big shards
        done = session.accumulate(reader, None, Scoring(2, keep_labels=False), 150, None, {})
        # Shards of 50 rows or fewer: two buckets (Ray would return smaller parts inline).
        assert session.bucket_bits == 1 and done.shards == 7
        facts = done.facts  # merged in shard order: per bucket, one reference per shard
        assert facts.rows.hashes == [] and facts.rows.near_hashes == []
        assert len(facts.keys) == 2 and all(len(bucket) == 7 for bucket in facts.keys)
        assert all(isinstance(ref, cluster.ObjectRef) for bucket in facts.keys for ref in bucket)
        # No row's label or probability came back: its scores are buckets in the store.
        assert facts.labels == [] and facts.probas == [] and facts.score_parts == []
        assert len(facts.scores) == 2 and all(len(bucket) == 7 for bucket in facts.scores)
        assert all(isinstance(ref, cluster.ObjectRef) for bucket in facts.scores for ref in bucket)
        assert facts.sums.rows == 400 and len(facts.rows.sample_rows) == 150
        scored = [cluster.get(ref) for bucket in facts.scores for ref in bucket]
        assert all(len(part) == 2 and isinstance(part[1], ScoreKeys) for part in scored)
        assert sum(len(part[1]) for part in scored) == 400  # every row's score, in one bucket
        sizes = session.map_buckets(
            lambda *p: sum(len(k) for k in p[0]), [((), [bucket]) for bucket in facts.keys]
        )
        assert sum(sizes) == 400  # every row, in exactly one bucket
        held = cluster.get([bucket[0] for bucket in facts.keys])  # the one-row shard's buckets
        assert all(isinstance(keys, RowKeys) for keys in held)
        assert sum(len(keys) for keys in held) == 1


def test_models_in_other_forms_travel_to_the_workers(
    cluster: Any, tiny_multiclass: Any, tmp_path: Path
) -> None:
    """A SavedModel folder goes as an archive, an in-memory Keras model saved as .keras."""
    splits = _splits(tiny_multiclass, tmp_path)
    local_run = _audit(tiny_multiclass, splits)
    for model in (tiny_multiclass.path("savedmodel"), tiny_multiclass.model):
        ray_run = audit(model, train=splits["train"], val=splits["val"], engine="ray", **SETTINGS)
        for name in ("train", "val"):
            ours, theirs = ray_run.evaluation.splits[name], local_run.evaluation.splits[name]
            assert_close(ours.to_dict(), theirs.to_dict(), tolerance=1e-6)
            assert ours.confusion_matrix == theirs.confusion_matrix


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state


def _worker_processes() -> list[int]:
    """Process ids of this test's Ray actors: named after their class, below this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if not command.startswith(b"ray::ShardWorker"):
            continue
        pid = ancestor = int(entry.name)
        while ancestor > 1 and ancestor != os.getpid():  # not another test run's cluster
            ancestor = _parent(ancestor)
        if ancestor == os.getpid():
            found.append(pid)
    return sorted(found)


def test_a_killed_worker_is_replaced_and_the_report_is_the_same(
    cluster: Any, tiny_binary: Any, tmp_path: Path
) -> None:
    splits = _splits(tiny_binary, tmp_path)
    local_run = _audit(tiny_binary, splits)
    killed: list[int] = []

    def kill_one(split: str, rows: int) -> None:
        # After the first shard comes back: the others are queued or running on the workers.
        if not killed:
            victims = _worker_processes()
            assert len(victims) == 2, victims
            os.kill(victims[0], signal.SIGKILL)
            killed.append(victims[0])

    ray_run = _audit(tiny_binary, splits, engine="ray", workers=2, progress=kill_one)
    assert killed and killed[0] not in _worker_processes()
    _assert_same(ray_run, local_run)


def test_an_unreadable_shard_fails_the_audit_naming_it(
    cluster: Any, tiny_binary: Any, tmp_path: Path
) -> None:
    splits = _splits(tiny_binary, tmp_path)
    broken = splits["train"] / "part-002.parquet"
    data = bytearray(broken.read_bytes())
    data[8:400] = b"\xff" * 392  # its first column chunks; the footer still reads
    broken.write_bytes(bytes(data))
    with pytest.raises(DataError) as caught:
        _audit(tiny_binary, splits, engine="ray", workers=2)
    text = str(caught.value)
    assert text.startswith(f"{broken}: could not read the Parquet data (") and "\n" not in text


def test_the_command_line_runs_ray_and_errors_stay_one_line(
    tiny_binary: Any, tmp_path: Path
) -> None:
    """A Ray instance of its own (started and stopped by the command): stderr is auditor's only."""
    splits = _splits(tiny_binary, tmp_path)
    broken = splits["train"] / "part-004.parquet"
    data = bytearray(broken.read_bytes())
    data[8:400] = b"\xff" * 392
    broken.write_bytes(bytes(data))
    args = [
        sys.executable, "-m", "auditor", "audit", str(tiny_binary.path("keras")),
        "--train", str(splits["train"]), "--val", str(splits["val"]), "--engine", "ray",
        "--workers", "2", "--shard-rows", "50", "--format", "json", "--out", str(tmp_path / "o"),
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {broken}: could not read the Parquet data (")
    assert not (tmp_path / "o" / "report.json").exists()  # no partial report


def test_without_ray_the_engine_is_refused_in_one_line(
    tiny_binary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from auditor import engines
    from auditor.cli import main

    monkeypatch.setitem(engines.REQUIRES, "ray", ("auditor_no_such_ray", "pip install 'x[ray]'"))
    model, train = str(tiny_binary.path("keras")), str(tiny_binary.split("train"))
    done = CliRunner().invoke(
        main, ["audit", model, "--train", train, "--val", train, "--engine", "ray"]
    )
    assert done.exit_code == 2
    assert done.output.strip() == (
        "Error: the ray engine needs the 'auditor_no_such_ray' package, which is not installed: "
        "pip install 'x[ray]'"
    )


@pytest.fixture()
def head() -> Iterator[str]:
    """A Ray cluster of its own, as `ray start --head` runs one: yield its address, then stop it.

    `--block` keeps the head in the foreground, and an interrupt stops every process it started
    (`ray stop` would stop other test runs' clusters too).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray = Path(sys.executable).with_name("ray")
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")  # short: Ray's socket paths must fit
    process = subprocess.Popen(
        [
            str(ray), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
            "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        status = [str(ray), "status", f"--address={address}"]
        while subprocess.run(status, capture_output=True).returncode:
            assert process.poll() is None and time.monotonic() < deadline, "the head did not start"
            time.sleep(1)
        yield address
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(temp, ignore_errors=True)


def test_an_audit_joins_a_running_cluster_by_its_address_or_auto(
    head: str, tiny_binary: Any, tmp_path: Path
) -> None:
    """What `ray job submit` or a KubeRay pod gives a driver: a cluster that is already running.

    The command line joins it by address, and by `auto` with RAY_ADDRESS set, as Ray's job
    drivers have it; each report equals the local engine's, and names the address it ran on.
    """
    splits = _splits(tiny_binary, tmp_path)
    local_run = _audit(tiny_binary, splits)
    for address, env in ((head, {}), ("auto", {"RAY_ADDRESS": head})):
        out = tmp_path / f"out-{address}"
        args = [
            sys.executable, "-m", "auditor", "audit", str(tiny_binary.path("keras")),
            "--train", str(splits["train"]), "--val", str(splits["val"]), "--engine", "ray",
            "--ray-address", address, "--workers", "2", "--format", "json", "--out", str(out),
            *(f"--{key.replace('_', '-')}={value}" for key, value in SETTINGS.items()),
        ]  # fmt: skip
        done = subprocess.run(
            args, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}
        )
        assert done.returncode in (0, 1) and not done.stderr, done.stderr
        report = json.loads((out / "report.json").read_text())
        assert_close(comparable(report), comparable(local_run.to_dict()), tolerance=1e-9)
        assert report["results"] == json.loads(json.dumps(local_run.to_dict()["results"]))
        assert (report["engine"]["name"], report["engine"]["workers"]) == ("ray", 2)
        assert report["engine"]["address"] == address


def test_group_and_time_columns_give_the_local_report(
    cluster: Any, tiny_binary: Any, tmp_path: Path
) -> None:
    """A time column keeps the labels row by row on the driver (the label rate over time)."""
    import pyarrow as pa

    model = tiny_binary
    x, y = model.x_train, model.y_train
    patients = np.arange(len(y)) % 97  # shared with val: LK06 has patients in both
    days = np.arange(len(y)) // 4  # val's days overlap train's last ones: LK07 sees it
    train = table(x, y, model.names)
    train = train.append_column("patient", pa.array(patients)).append_column("day", pa.array(days))
    val = table(model.x_val, model.y_val, model.names)
    n_val = len(model.y_val)
    val = val.append_column("patient", pa.array(np.arange(n_val) % 131)).append_column(
        "day", pa.array(days.max() - 20 + np.arange(n_val) // 2)
    )
    splits = {
        "train": write_folder(tmp_path / "train", train, TRAIN_FILES),
        "val": write_file(tmp_path / "val.parquet", val, [1, 99, 50, 50]),
    }
    context = {"group_columns": ("patient",), "time_column": "day"}
    local_run = _audit(model, splits, **context)
    ray_run = _audit(model, splits, engine="ray", workers=2, **context)
    _assert_same(ray_run, local_run, labels_kept=True)
    timed = next(r for r in ray_run.results if r.rule.id == "LK07")
    assert timed.status != "not_applicable", timed.message
    # The labels came back for the time column's label rate; the probabilities did not.
    assert len(ray_run.evaluation.splits["val"].y) == n_val
    assert len(ray_run.evaluation.splits["val"].proba) == 0
