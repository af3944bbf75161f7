"""The Ray engine against the local one on a sharded dataset: wall time, driver and worker memory.

Usage: python benchmarks/ray_engine.py [--rows 10000000] [--files 40] [--repeat 1]

Writes (once) ROWS x 50 float32 features in FILES Parquet files under benchmarks/build/ (the first
80% of the files are the train split's folder, the rest the validation split's), then audits them
as fresh processes (JSON report only): the local engine, and the Ray engine with 1 and 2 workers
on a local Ray instance the command starts. Memory is each process's peak resident set (VmHWM,
read from /proc while it runs): the auditing process (the driver) and the Ray workers (processes
named ray::ShardWorker). Last, a scaling model from the measured costs (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import data  # noqa: E402

PY = sys.executable
GROUP_ROWS = 125_000


def dataset(rows: int, files: int, out: Path = HERE / "build") -> tuple[Path, Path]:
    """Write (once) ROWS rows in FILES files: train/part-*.parquet and val/part-*.parquet."""
    import numpy as np  # noqa: F401  (data's generator)
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = out / f"dataset_{rows}_{files}"
    train, val = folder / "train", folder / "val"
    if (folder / "done").exists():
        return train, val
    names = [f"f{i:02d}" for i in range(data.FEATURES)]
    schema = pa.schema([(name, pa.float32()) for name in names] + [("label", pa.int64())])
    per = rows // files
    n_train = round(files * 0.8)
    for i in range(files):
        target = (train if i < n_train else val) / f"part-{i:03d}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(target, schema) as writer:
            for start in range(0, per, GROUP_ROWS):
                x, y = data._rows(min(GROUP_ROWS, per - start), seed=i * per + start + 1)
                columns = [pa.array(x[:, j]) for j in range(data.FEATURES)] + [pa.array(y)]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    (folder / "done").write_text("")
    return train, val


def _status_kib(pid: int, field: str) -> int:
    """A /proc/PID/status figure in KiB: VmHWM (peak RSS), RssAnon (private memory now), ..."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


def _workers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::ShardWorker"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def audit(model: Path, train: Path, val: Path, engine: list[str]) -> dict:
    """Run one audit as a fresh process; its wall time, report and peak memories (MiB)."""
    out = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    args = [PY, "-m", "auditor", "audit", str(model), "--train", str(train), "--val", str(val)]
    args += ["--format", "json", "--no-progress", "--out", str(out), *engine]
    peaks: dict[int, int] = {}
    anon = [0]  # the driver's private memory at its highest: RSS without the object store's pages
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pid in [process.pid, *_workers()]:
                peaks[pid] = max(peaks.get(pid, 0), _peak_kib(pid))
            anon[0] = max(anon[0], _status_kib(process.pid, "RssAnon"))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = process.communicate()
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"audit failed ({process.returncode}): {err.decode()[-800:]}")
    report = json.loads((out / "report.json").read_text())
    workers = [kib for pid, kib in peaks.items() if pid != process.pid]
    return {
        "wall": wall,
        "driver_mib": peaks.get(process.pid, 0) / 1024,
        "driver_anon_mib": anon[0] / 1024,
        "worker_mib": max(workers, default=0) / 1024,
        "timings": report["timings"],
        "engine": report["engine"],
        "stderr": err.decode().strip(),
    }


def scaling(measured: dict, workers: tuple[int, ...] = (8, 64, 512)) -> list[tuple]:
    """Predict wall time and efficiency on N workers from one measured Ray run (see README).

    T(N) = driver + start + max(c * ceil(shards / N), d * shards) + m / N. `driver` is the serial
    work on the driver (its process start, TensorFlow, the model, the head rows, the metrics from
    merged sums, data facts on samples, rules and the report: none of it grows with the rows),
    `start` the cluster's and workers' start-up (in parallel on a real cluster), `c` one shard's
    wall time on one worker (read, predict, sums and row facts, the last on a second thread), `d`
    the driver's time to fetch and merge one shard's facts (serial, overlapping the workers), `m`
    the matching of the row hashes (duplicates, shared rows) and the ranking of the scores (exact
    AUCs, curves, thresholds), bucket by bucket on the workers (4 buckets per worker). Efficiency
    is T(1) / (N * T(N)). For a dataset SCALE times larger, the shards and `m` grow SCALE times.
    """
    import math

    t = measured["timings"]
    shards = measured["engine"]["shards"]
    c = t["worker_shards"] / shards  # a shard's wall time on its worker
    d = t.get("driver_collect", 0.0) / shards  # the driver's own time per shard
    start = t.get("engine_start", 0.0)
    # On the workers, bucket by bucket: the row hashes' matching and the scores' ranking.
    matching = t.get("row_matches", 0.0) + t.get("ranking", 0.0)
    driver = measured["wall"] - t["evaluate"] + t.get("metrics", 0.0)
    rows = []
    for scale in (1, 100):
        total = shards * scale
        one = driver + start + c * total + d * total + matching * scale
        for n in workers:
            # The driver collects shard by shard: its part is serial, whatever N.
            predicted = driver + start + max(c * math.ceil(total / n), d * total)
            predicted += matching * scale / n
            rows.append(
                (total, n, predicted, one / (n * predicted), driver, start, c, d, matching * scale)
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.perf_counter()
    model = data.model()
    train, val = dataset(args.rows, args.files)
    print(f"data: {args.rows:,} rows in {args.files} files ({time.perf_counter() - started:.0f} s)")
    configs = {
        "local": [],
        "ray, 1 worker": ["--engine", "ray", "--workers", "1"],
        "ray, 2 workers": ["--engine", "ray", "--workers", "2"],
    }
    results: dict[str, list[dict]] = {name: [] for name in configs}
    for _ in range(args.repeat):
        for name, engine in configs.items():
            results[name].append(audit(model, train, val, engine))
    print(
        "| engine | wall (s) | evaluate (s) | read+predict+row facts (s, summed) "
        "| row matching (s) | ranking (s) | driver peak (MiB) | driver private peak (MiB) "
        "| worker peak (MiB) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        run = min(runs, key=lambda r: r["wall"])
        t = run["timings"]
        work = t["read"] + t["predict"] + t["row_facts"]
        print(
            f"| {name} | {run['wall']:.1f} | {t['evaluate']:.1f} | {work:.1f} | "
            f"{t.get('row_matches', float('nan')):.1f} | {t.get('ranking', float('nan')):.1f} | "
            f"{run['driver_mib']:.0f} | {run['driver_anon_mib']:.0f} | "
            f"{run['worker_mib'] or float('nan'):.0f} |"
        )
        if run["stderr"]:
            print(f"  stderr: {run['stderr'][:300]}")
    one = min(results["ray, 1 worker"], key=lambda r: r["wall"])
    print("\nscaling model (from the 1-worker Ray run):")
    for shards, n, predicted, efficiency, driver, start, c, d, m in scaling(one):
        print(
            f"  {shards} shards, {n} workers: {predicted:.1f} s, efficiency {efficiency:.2f} "
            f"(driver {driver:.1f} s, start {start:.1f} s, {c:.2f} s a shard on a worker, "
            f"{d * 1000:.0f} ms on the driver, matching {m:.1f} s / N)"
        )
    (HERE / "build" / "ray_engine.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
