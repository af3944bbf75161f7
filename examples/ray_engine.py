"""Audit the healthy sample on a local Ray cluster, from Parquet datasets, and compare engines.

Run from a clone, after `make sample` (or `python samples/build.py healthy`), with Ray installed
(`pip install -e '.[ray]'`):

    python examples/ray_engine.py

It writes the sample's train and validation splits as folders of Parquet files (one shard per
file), audits them with the local engine and with the Ray engine (a local Ray instance, two
workers), prints what each engine reports about itself, and checks that the two reports agree. The
same audit from the shell:

    auditor audit samples/build/healthy/model.keras --train build/ray-example/train \
        --val build/ray-example/val --engine ray --workers 2 --out build/ray-example/report
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import auditor

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "build" / "healthy"
OUT = ROOT / "build" / "ray-example"


def write_dataset(csv: Path, folder: Path, files: int) -> Path:
    """Write the rows of CSV as FILES Parquet files in FOLDER, in row order."""
    frame = pd.read_csv(csv)
    folder.mkdir(parents=True, exist_ok=True)
    per = math.ceil(len(frame) / files)
    for i in range(files):
        part = pa.Table.from_pandas(frame.iloc[i * per : (i + 1) * per], preserve_index=False)
        pq.write_table(part, folder / f"part-{i:03d}.parquet")
    return folder


def main() -> int:
    """Write the datasets, audit them on both engines, and say whether the results agree."""
    if not (SAMPLE / "model.keras").exists():
        print("build the sample first: python samples/build.py healthy", file=sys.stderr)
        return 2
    train = write_dataset(SAMPLE / "train.csv", OUT / "train", files=6)
    val = write_dataset(SAMPLE / "val.csv", OUT / "val", files=3)
    model = SAMPLE / "model.keras"
    runs = {
        engine: auditor.audit(model, train=train, val=val, shard_rows=1, **settings)
        for engine, settings in {"local": {}, "ray": {"engine": "ray", "workers": 2}}.items()
    }
    for engine, result in runs.items():
        info = result.to_dict()["engine"]
        print(
            f"{engine}: {result.verdict}, {info['workers']} worker(s), {info['shards']} shards, "
            f"{info['rows']} rows, val ROC AUC {result.evaluation.metric('val', 'roc_auc'):.6f}"
        )
    same = [r.to_dict() for r in runs["local"].results] == [
        r.to_dict() for r in runs["ray"].results
    ]
    print("the engines' rule results are the same" if same else "the rule results differ")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
