"""Builds benchmark inputs: an N-row x 50-feature Parquet split and a small trained model.

Usage: python benchmarks/data.py ROWS [--out benchmarks/build]
Files are cached: benchmarks/build/model.keras, benchmarks/build/rows_<N>.parquet (and .csv).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

FEATURES = 50
HERE = Path(__file__).resolve().parent


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    logit = x[:, :5] @ np.array([1.5, -1.0, 0.8, 0.5, -0.5], np.float32) + rng.normal(
        scale=1.0, size=n
    )
    return x, (logit > 0.8).astype(np.int64)


def split(n: int, out: Path = HERE / "build") -> Path:
    """Write (once) an n-row Parquet split in row groups of 100k, never holding it all in memory."""
    path = out / f"rows_{n}.parquet"
    if path.exists():
        return path
    out.mkdir(parents=True, exist_ok=True)
    names = [f"f{i:02d}" for i in range(FEATURES)]
    schema = pa.schema([(name, pa.float32()) for name in names] + [("label", pa.int64())])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, n, 100_000):
            x, y = _rows(min(100_000, n - start), seed=start + n)
            columns = [pa.array(x[:, i]) for i in range(FEATURES)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    tmp.rename(path)
    return path


def csv_split(n: int, out: Path = HERE / "build") -> Path:
    """Write (once) the n-row split as CSV too, converted from its Parquet file batch by batch."""
    import pyarrow.csv as pcsv

    path = out / f"rows_{n}.csv"
    if path.exists():
        return path
    source = pq.ParquetFile(split(n, out))
    tmp = path.with_suffix(".tmp")
    with pcsv.CSVWriter(tmp, source.schema_arrow) as writer:
        for batch in source.iter_batches(batch_size=100_000):
            writer.write_batch(batch)
    tmp.rename(path)
    return path


def model(out: Path = HERE / "build") -> Path:
    """Train (once) a 50 -> 64 -> 32 -> 1 MLP with L2 on 20k rows."""
    path = out / "model.keras"
    if path.exists():
        return path
    import keras

    keras.utils.set_random_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    x, y = _rows(20_000, seed=1)
    net = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(
                64, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)
            ),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    net.compile(optimizer="adam", loss="binary_crossentropy")
    net.fit(x, y, epochs=3, batch_size=256, verbose=0)
    net.save(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--out", type=Path, default=HERE / "build")
    args = parser.parse_args()
    print(model(args.out), split(args.rows, args.out))
