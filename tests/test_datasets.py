"""Parquet datasets as splits: folders, hive partitions, globs and URIs, local and on S3.

The same rows are written as one Parquet file and as datasets; each dataset must read as the file
does (same batches, row numbers and shards' reports) and audit to the same report. Object storage
is a real S3-compatible server on localhost (moto's), reached through pyarrow's S3 filesystem with
the endpoint in AWS_ENDPOINT_URL, which pyarrow honours.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sharding import assert_close, comparable, table, write_file, write_folder, write_hive

from auditor.errors import DataError
from auditor.loading.data import ReadOptions, SplitReader

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["a", "b", "c"]
FILES = [[1], [30, 9], [40, 40, 40], [2, 38]]  # uneven files, a one-row one among them


def _rows(n: int = 200, seed: int = 5) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return table(x, (x[:, 0] > 0).astype(np.int64), NAMES)


def _read(source: Any, **options: Any) -> tuple[np.ndarray, ...]:
    reader = SplitReader("train", source, ReadOptions(batch_rows=16, shard_rows=1, **options))
    batches = [b for shard in reader.shards() for b in shard.batches()]
    return tuple(np.concatenate([getattr(b, k) for b in batches]) for k in ("x", "y", "rows"))


def _same(ours: tuple[np.ndarray, ...], theirs: tuple[np.ndarray, ...]) -> None:
    for mine, other in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, other)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("datasets")
    rows = _rows()
    hive_rows = write_hive(folder / "hive", rows, "region", ["north", "south", "east"])
    return {
        "folder": folder,
        "file": write_file(folder / "one.parquet", rows),
        "flat": write_folder(folder / "flat", rows, FILES),
        "hive": folder / "hive",
        "hive_file": write_file(folder / "hive-one.parquet", hive_rows),
    }


@pytest.mark.parametrize("form", ["folder", "folder/", "glob", "file URI", "deep glob"])
def test_a_folder_reads_as_the_one_file_of_its_rows(local: dict[str, Any], form: str) -> None:
    flat = local["flat"]
    source = {
        "folder": str(flat),
        "folder/": f"{flat}/",
        "glob": f"{flat}/part-*.parquet",
        "file URI": f"file://{flat}",
        "deep glob": f"{local['folder']}/fl*/**.parquet",
    }[form]
    reader = SplitReader("train", source, ReadOptions(batch_rows=16, shard_rows=1))
    assert reader.path == source and reader.format == "parquet"
    # One shard per run of row groups of at least a batch, never across files.
    assert [s.first_row for s in reader.shards()] == [0, 1, 31, 40, 80, 120, 160]
    _same(_read(source), _read(local["file"]))


def test_hive_partition_keys_are_columns(local: dict[str, Any]) -> None:
    reader = SplitReader("train", local["hive"], ReadOptions(ignore=("region",)))
    assert reader.columns == [*NAMES, "label", "region"] and reader.features == NAMES
    _same(_read(local["hive"], ignore=("region",)), _read(local["hive_file"], ignore=("region",)))
    with pytest.raises(DataError, match="feature column 'region' has type string"):
        SplitReader("train", local["hive"], ReadOptions()).shards()


def test_a_partition_key_may_be_the_label(tmp_path: Path) -> None:
    rows = _rows(40)
    for label in (0, 1):
        part = rows.filter(pa.compute.equal(rows["label"], label)).drop_columns(["label"])
        write_file(tmp_path / f"label={label}" / "part.parquet", part)
    x, y, _ = _read(tmp_path)
    assert y.tolist() == sorted(rows["label"].to_pylist())
    assert len(x) == 40


def test_datasets_that_cannot_be_read_say_so_in_one_line(local: dict[str, Any]) -> None:
    folder = local["folder"]
    cases = {
        str(folder / "absent"): "train split not found",
        f"{folder}/absent/*.parquet": "train split not found",
        f"{folder}/flat/absent-*.parquet": "no file matches the train split's pattern",
        f"{folder}/flat/*.csv": "no file matches the train split's pattern",
        "ftp://host/data": "unknown URI scheme 'ftp://'",
    }
    (folder / "empty").mkdir()
    cases[str(folder / "empty")] = "the train split holds no Parquet file"
    for source, message in cases.items():
        with pytest.raises(DataError) as caught:
            SplitReader("train", source, ReadOptions())
        text = str(caught.value)
        assert text.startswith(f"{source}: ") and message in text and "\n" not in text, text


def test_an_unreadable_file_of_a_dataset_is_named(tmp_path: Path) -> None:
    rows = _rows(60)
    write_folder(tmp_path, rows, [[20], [20], [20]])
    broken = tmp_path / "part-001.parquet"
    broken.write_bytes(broken.read_bytes()[:-30])  # its footer cut off
    reader = SplitReader("train", tmp_path, ReadOptions())  # the schema is the first file's
    with pytest.raises(DataError) as caught:
        reader.shards()
    assert str(caught.value).startswith(f"{broken}: not a readable Parquet file (")


# ---- object storage: moto's S3 server on a free port ------------------------------------------


@pytest.fixture(scope="module")
def s3(local: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",  # no wait for an instance's credentials
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import boto3

        client = boto3.client("s3")
        client.create_bucket(Bucket="audits")
        for path in sorted(local["flat"].iterdir()):
            client.upload_file(str(path), "audits", f"train/{path.name}")
        client.upload_file(str(local["file"]), "audits", "one/train.parquet")
        yield {"env": env, "client": client}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.mark.parametrize(
    "source", ["s3://audits/train", "s3://audits/train/*.parquet", "s3://audits/one/train.parquet"]
)
def test_an_s3_dataset_reads_as_the_local_file(
    s3: dict[str, Any], local: dict[str, Any], source: str
) -> None:
    _same(_read(source), _read(local["file"]))


@pytest.mark.parametrize("path", ["s3://audits/train", "s3://audits/train/part-*.parquet"])
def test_a_uri_query_configures_the_store_and_is_no_wildcard(
    s3: dict[str, Any], local: dict[str, Any], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # The endpoint in the URI itself, as pyarrow reads it, instead of AWS_ENDPOINT_URL: the
    # query's "?" must not be taken for a glob's.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    endpoint = s3["env"]["AWS_ENDPOINT_URL"].removeprefix("http://")
    source = f"{path}?endpoint_override={endpoint}&scheme=http"
    _same(_read(source), _read(local["file"]))


def test_shards_on_s3_are_named_by_their_uri(s3: dict[str, Any]) -> None:
    reader = SplitReader("train", "s3://audits/train", ReadOptions(batch_rows=16, shard_rows=100))
    names = [shard._raw.name for shard in reader.shards()]  # type: ignore[attr-defined]
    assert names == [f"s3://audits/train/part-00{i}.parquet" for i in range(4)]


def test_s3_errors_name_the_uri_in_one_line(
    s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = {
        "s3://no-such-bucket/train": "train split not found: there is no bucket 'no-such-bucket'",
        "s3://audits/absent": "train split not found",
        "s3://audits/train/*.csv": "no file matches the train split's pattern",
    }
    for source, message in cases.items():
        with pytest.raises(DataError) as caught:
            SplitReader("train", source, ReadOptions())
        assert str(caught.value) == f"{source}: {message}"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    with pytest.raises(DataError) as caught:
        SplitReader("train", "s3://audits/train", ReadOptions())
    text = str(caught.value)
    assert text.startswith("s3://audits/train: cannot open the train split (") and "\n" not in text
    assert "ACCESS_DENIED" in text and "check the credentials in the environment" in text


def test_s3_header_errors_come_before_tensorflow(s3: dict[str, Any], tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    model.write_bytes(b"never read: the split's header is checked first")
    probe = (
        "import sys\nfrom auditor.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    print(exc.code, 'tensorflow' in sys.modules)\n"
    )
    args = ["audit", str(model), "--train", "s3://audits/train", "--val", "s3://audits/train"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args, "--label", "y", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **s3["env"]},
    )
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert done.stderr.splitlines() == [
        "Error: s3://audits/train: label column 'y' not found; columns are a, b, c, label; "
        "pass --label NAME"
    ]


# ---- audits: a dataset's report is the one file's ---------------------------------------------


@pytest.mark.slow
def test_audits_of_datasets_give_the_report_of_one_file(
    tiny_binary: Any, s3: dict[str, Any], tmp_path: Path
) -> None:
    from auditor.api import audit

    names = tiny_binary.names
    train = table(tiny_binary.x_train, tiny_binary.y_train, names)
    train = train.append_column("day", pa.array([0] * train.num_rows))  # as val's partition key
    val = table(tiny_binary.x_val, tiny_binary.y_val, names)
    write_folder(tmp_path / "train", train, [[1], [99, 100], [7], [193]])
    hive_val = write_hive(tmp_path / "val", val, "day", [1, 2, 3])  # integer keys: numeric
    for path in sorted((tmp_path / "train").iterdir()):
        s3["client"].upload_file(str(path), "audits", f"tiny/train/{path.name}")
    files = {
        "train": write_file(tmp_path / "train.parquet", train),
        "val": write_file(tmp_path / "val.parquet", hive_val),
    }
    settings = {"shard_rows": 1, "batch_rows": 64, "sample_rows": 150, "ignore": ["day"]}
    one = audit(tiny_binary.path("keras"), train=files["train"], val=files["val"], **settings)
    for train_source in (tmp_path / "train", "s3://audits/tiny/train"):
        sharded = audit(
            tiny_binary.path("keras"), train=train_source, val=tmp_path / "val", **settings
        )
        # Batches cut at other rows: float32 predictions may differ in their last bit.
        assert_close(comparable(sharded.to_dict()), comparable(one.to_dict()))
        assert sharded.to_dict()["splits"]["train"]["path"] == str(train_source)
