"""Parquet datasets: a folder (flat or hive-partitioned), a glob or a URI, read by pyarrow.dataset.

Files are found by pyarrow's filesystems (local, `s3://`, `gs://`, `hdfs://`, `file://`), with the
credentials of the usual environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, ...); an S3-compatible
server is reached with AWS_ENDPOINT_URL. The files are taken in path order, each cut into runs of
row groups as a single Parquet file is (`auditor.loading.readers.parquet`); a hive partition's keys
are columns, as pyarrow.dataset shows them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from auditor.errors import DataError
from auditor.loading.readers.parquet import ParquetShard, check_numeric, one_line, runs

GLOB = "*?["
CREDENTIALS_HINT = (
    "; check the credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE, GOOGLE_APPLICATION_CREDENTIALS)"
)
SCHEMES = ("file", "s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "az")


def is_dataset(source: str | Path) -> bool:
    """Tell whether SOURCE names a dataset: a URI, a glob or a local folder (not one local file)."""
    text = str(source)
    return "://" in text or any(c in text for c in GLOB) or Path(text).is_dir()


class DatasetReader:
    """Every Parquet file of a folder, glob or URI, in path order; runs of row groups are shards."""

    format: ClassVar[str] = "parquet"
    separate_labels = False

    def __init__(self, source: str | Path, name: str = "data") -> None:
        self.path = str(source)
        self._dataset = _discover(self.path, name)
        self._scheme = self.path.split("://", 1)[0] + "://" if "://" in self.path else ""

    def columns(self) -> list[str]:
        """Return the dataset's column names (the first file's schema, and the partition keys)."""
        return list(self._dataset.schema.names)

    def shards(
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> list[ParquetShard]:
        """Cut each file into runs of at least `shard_rows` rows; a run never spans two files."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        check_numeric(self.path, self._dataset.schema, features, text)
        filesystem = self._dataset.filesystem
        shards: list[ParquetShard] = []
        first_row = 0
        for fragment in sorted(self._dataset.get_fragments(), key=lambda f: f.path):
            where = self._scheme + fragment.path if self._scheme != "file://" else fragment.path
            try:
                metadata = fragment.metadata
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{where}: not a readable Parquet file ({one_line(exc)})") from None
            sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            keys = ds.get_partition_keys(fragment.partition_expression)
            constants = tuple((k, v) for k, v in keys.items() if k in (*features, label))
            for groups, start in runs(sizes, max(batch_rows, shard_rows), first_row):
                shard = ParquetShard(
                    fragment.path, groups, tuple(features), label, batch_rows, start,
                    filesystem=filesystem, constants=constants, where=where, text=tuple(text),
                )  # fmt: skip
                shards.append(shard)
            first_row += sum(sizes)
        return shards


def _discover(source: str, name: str) -> Any:
    """Open SOURCE as a pyarrow dataset; DataError naming it and what failed, in one line."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme and scheme not in SCHEMES:
        raise DataError(f"{source}: unknown URI scheme '{scheme}://'; use {', '.join(SCHEMES)}")
    # A URI's query (`?endpoint_override=...`) configures its filesystem: it is no wildcard.
    where, query = source.partition("?")[::2] if scheme else (source, "")
    glob = any(c in where for c in GLOB)
    base, rest = where, ""
    if glob:  # the folder before the first wildcard is listed, and its files matched to REST
        head = min(where.index(c) for c in GLOB if c in where)
        cut = where.rfind("/", 0, head)
        base, rest = (where[:cut] or "/", where[cut + 1 :]) if cut >= 0 else (".", where)
    try:
        if scheme:
            filesystem, root = pafs.FileSystem.from_uri(base + ("?" + query if query else ""))
        else:  # a local glob is listed from its absolute folder
            filesystem, root = None, str(Path(base).resolve()) if glob else base
        if glob:
            filesystem = filesystem or pafs.LocalFileSystem()
            pattern = root.rstrip("/") + "/" + rest
            deep = "/" in rest or "**" in rest  # a pattern over subfolders
            selector = pafs.FileSelector(root, recursive=deep)
            files = sorted(
                info.path
                for info in filesystem.get_file_info(selector)
                if info.type == pafs.FileType.File and _matches(info.path, pattern)
            )
            if not files:
                raise DataError(f"{source}: no file matches the {name} split's pattern")
            dataset = ds.dataset(
                files, filesystem=filesystem, format="parquet", partitioning="hive",
                partition_base_dir=root,
            )  # fmt: skip
        else:
            dataset = ds.dataset(root, filesystem=filesystem, format="parquet", partitioning="hive")
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{source}: {name} split not found{_no_bucket(source)}") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        text = one_line(exc)
        hint = CREDENTIALS_HINT if any(w in text for w in ("ACCESS_DENIED", "redential")) else ""
        raise DataError(f"{source}: cannot open the {name} split ({text}){hint}") from None
    if not dataset.files:
        raise DataError(
            f"{source}: the {name} split holds no Parquet file (a folder, glob or URI is read as "
            "a Parquet dataset)"
        )
    return dataset


def _matches(path: str, pattern: str) -> bool:
    """Match PATH against a glob: `*` stays within a folder, `**` crosses folders."""
    if "**" not in pattern and path.count("/") != pattern.count("/"):
        return False
    return fnmatch.fnmatchcase(path, pattern.replace("**", "*"))


def _no_bucket(source: str) -> str:
    """Say when an object store's bucket itself is missing (pyarrow reports both as not found)."""
    import pyarrow.fs as pafs

    if "://" not in source or source.lower().startswith("file://"):
        return ""
    try:
        filesystem, path = pafs.FileSystem.from_uri(source)
        bucket = path.split("/", 1)[0]
        if filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
            return f": there is no bucket '{bucket}'"
    except (OSError, ValueError):
        pass
    return ""
