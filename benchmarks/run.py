"""auditor's benchmarks: wall time vs predicting alone, peak memory, time per stage, leakage cost.

Usage: python benchmarks/run.py [--quick]    (or: make bench)
--quick uses 100k/200k rows instead of 1M/5M, for a smoke run.
Prints one table per benchmark; benchmarks/README.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import data  # noqa: E402

PY = sys.executable


def _child(
    args: list[str], codes: tuple[int, ...] = (0, 1)
) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a child process; return (wall seconds, peak RSS in MB of that child, result)."""
    code = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter();"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "w = time.perf_counter() - t;"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "print(json.dumps({'wall': w, 'rss': r, 'rc': p.returncode, 'err': p.stderr[-800:]}))"
    )
    done = subprocess.run([PY, "-c", code, *args], capture_output=True, text=True, check=True)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    if info["rc"] not in codes:
        raise SystemExit(f"{args[0]} failed: {info['err']}")
    return info["wall"], info["rss"], done


def _audit_args(model: Path, train: Path, val: Path, out: Path, formats: str = "all") -> list[str]:
    return [
        PY,
        "-m",
        "auditor",
        "audit",
        str(model),
        "--train",
        str(train),
        "--val",
        str(val),
        "--out",
        str(out),
        "--format",
        formats,
        "--quiet",
    ]


def ratio(model: Path, sizes: list[int], repeats: int = 3) -> None:
    print(
        "\n1. Audit wall time vs predicting every row (same model, same files, fresh processes; "
        f"median of {repeats} rounds, each running the three commands one after the other)"
    )
    print(
        f"{'rows (train+val)':>18} {'files':>8} {'predict only s':>15} {'JSON+HTML s':>12} "
        f"{'ratio':>6} {'all five s':>11} {'ratio':>6}"
    )
    for n in sizes:
        for kind, make in (("Parquet", data.split), ("CSV", data.csv_split)):
            train, val = make(n // 2), make(n - n // 2 + 1)
            walls: dict[str, list[float]] = {"floor": [], "json,html": [], "all": []}
            for _ in range(repeats):
                floor = [PY, str(HERE / "predict_only.py"), str(model), str(train), str(val)]
                walls["floor"].append(_child(floor)[0])
                for formats in ("json,html", "all"):
                    with tempfile.TemporaryDirectory() as out:
                        args = _audit_args(model, train, val, Path(out), formats)
                        walls[formats].append(_child(args)[0])
            base, light, full = (statistics.median(w) for w in walls.values())
            print(
                f"{n:>18,} {kind:>8} {base:>15.2f} {light:>12.2f} {light / base:>6.2f} "
                f"{full:>11.2f} {full / base:>6.2f}"
            )


def memory(model: Path, sizes: list[int]) -> None:
    print(
        "\n2. Peak resident memory of an audit (train = val = one N-row x 50-feature Parquet file)"
    )
    print(f"{'rows':>12} {'file MB':>8} {'in memory MB':>13} {'peak RSS MB':>12}")
    peaks = []
    for n in sizes:
        path = data.split(n)
        with tempfile.TemporaryDirectory() as out:
            _, rss, _ = _child(_audit_args(model, path, path, Path(out)))
        peaks.append(rss)
        print(f"{n:>12,} {path.stat().st_size / 1e6:>8.0f} {n * 51 * 4 / 1e6:>13.0f} {rss:>12.0f}")
    if len(sizes) == 2:
        per_row = (peaks[1] - peaks[0]) * 1e6 / (2 * (sizes[1] - sizes[0]))
        print(
            f"   growth: {per_row:.0f} bytes per row audited (the 50 float32 features of a row "
            "are 200 bytes)"
        )


def stages(model: Path, n: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from auditor.api import audit
    from auditor.loading import keras_env

    keras_env.FREEZE_AFTER_IMPORT = True  # as the command does: TensorFlow's objects frozen
    from auditor.report.plots import evaluation_figures
    from auditor.report.writer import write_reports

    train, val = data.split(n // 2), data.split(n - n // 2 + 1)
    started = time.perf_counter()
    result = audit(model, train=train, val=val)
    total = time.perf_counter() - started
    timings = dict(result.timings)
    t = time.perf_counter()
    evaluation_figures(result.evaluation, result.history)
    timings["figures"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as out:
        for fmt in ("json", "html", "pdf", "junit", "md"):
            t = time.perf_counter()
            write_reports(result, out, (fmt,))
            timings[f"report_{fmt}"] = time.perf_counter() - t
        sizes = {p.name: p.stat().st_size for p in Path(out).iterdir()}
    print(f"\n3. Time per stage, {n:,} rows (train + val), in one process, one after the other")
    for key, value in timings.items():
        print(f"{key:>16} {value:8.2f} s")
    print(f"{'audit total':>16} {total:8.2f} s (figures and reports not included)")
    print(
        "   The command overlaps some of these: it draws the figures in a forked process while "
        "the rules run,\n   and report_html/report_pdf above each draw the figures again."
    )
    print(
        "   report sizes: " + ", ".join(f"{k} {v / 1e3:,.0f} KB" for k, v in sorted(sizes.items()))
    )
    facts = timings.get("data_facts", 0) + timings.get("leakage_rules", 0)
    hashing, matching = timings.get("row_facts", 0), timings.get("row_matches", 0)
    leakage = hashing + matching + facts
    per_row = 1e6 / n
    print(
        f"\n4. Leakage checks vs prediction, {n:,} rows: "
        f"hashing and statistics {hashing:.2f} s ({hashing * per_row:.2f} us a row) "
        f"+ matching the hash buckets {matching:.2f} s ({matching * per_row:.2f} us a row) "
        f"+ data facts and leakage rules {facts:.2f} s (on samples: the same at any size) "
        f"= {leakage:.2f} s, predicting {timings['predict']:.2f} s "
        f"({timings['predict'] * per_row:.2f} us a row): ratio {leakage / timings['predict']:.2f}"
    )


def input_error(model: Path, repeats: int = 5) -> None:
    """Time from the command's start to an input error that needs no model (a wrong --label)."""
    split = data.split(100_000)
    walls = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            args = _audit_args(model, split, split, Path(out)) + ["--label", "no_such_column"]
            walls.append(_child(args, codes=(2,))[0])
    print(
        f"\n5. Time to an input error that needs no model (a wrong --label), median of {repeats}: "
        f"{statistics.median(walls):.2f} s (TensorFlow is not imported)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    small, large, huge = (
        (100_000, 200_000, 200_000) if args.quick else (200_000, 1_000_000, 5_000_000)
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    model = data.model()
    ratio(model, [small, large])
    memory(model, [large, huge])
    stages(model, large)
    input_error(model)
    return 0


if __name__ == "__main__":
    resource.setrlimit  # noqa: B018  (resource is used by the child processes' code)
    sys.exit(main())
