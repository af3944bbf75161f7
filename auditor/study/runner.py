"""Runs a study: lays out the settings, trains them over seeds in worker processes, judges them.

Opt-in (`--study`): like the sweep it trains models. The settings' runs are independent, so they
run in worker processes (`python -m auditor.study.worker`; one per CPU by default, each with its
share of the threads, fed the next run as it finishes one), each
retraining a re-initialized clone with the model's optimizer and loss on the training rows the
evaluation sampled, for at most `sweep_epochs` epochs and its share of `sweep_budget` seconds.
"""

from __future__ import annotations

import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from auditor.errors import AuditorError
from auditor.evaluation import Evaluation
from auditor.loading.model import LoadedModel, target_encoder
from auditor.regularization import Recommendation
from auditor.study import grid, worker
from auditor.study.values import PREFER, StudyResult, StudyRun
from auditor.study.verdict import summarize

# (runs done, runs, label of the run just done, its seed); label "done" once every run is over
StudyProgress = Callable[[int, int, str, int], None]
MIN_RUN_SECONDS = 2.0  # below this share of the budget per run, fewer seeds run (at least one)


def studyable(loaded: LoadedModel, evaluation: Evaluation) -> bool:
    """Whether a study can run: a Keras model in memory and sampled train and val rows."""
    return (
        loaded.keras_model is not None
        and "train" in evaluation.rows
        and "val" in evaluation.rows
        and bool(evaluation.architecture.weighted_layers)
    )


def seeds_within(budget: float, workers: int, settings: int, asked: int) -> int:
    """Return the seeds per setting the budget allows.

    ASKED, or fewer (at least one) when each run would get less than MIN_RUN_SECONDS of training.
    """
    fits = math.floor(budget * workers / (settings * MIN_RUN_SECONDS))
    return max(1, min(asked, fits))


def run_study(
    loaded: LoadedModel,
    evaluation: Evaluation,
    recommendation: Recommendation | None,
    *,
    prefer: str,
    seeds: int,
    epochs: int,
    budget_seconds: float,
    seed: int,
    workers: int | None = None,
    unsafe: bool = False,
    progress: StudyProgress | None = None,
    ray_address: str | None = None,
) -> StudyResult | None:
    """Train and judge the study's settings; None when the model or its rows cannot be studied.

    RECOMMENDATION is the audit's first L1/L2 change (None: the study lays its grid around the
    current setting). SEEDS per setting, from SEED on; EPOCHS and BUDGET_SECONDS bound the runs
    (the budget is training time shared by all runs; starting the workers comes on top).
    RAY_ADDRESS: run them as Ray tasks on that cluster instead of in local worker processes.
    """
    if prefer not in PREFER:
        raise AuditorError(f"prefer must be one of {', '.join(PREFER)}, got {prefer!r}")
    if seeds < 1:
        raise AuditorError(f"study seeds must be at least 1, got {seeds}")
    if not studyable(loaded, evaluation):
        return None
    started = time.perf_counter()
    arch = evaluation.architecture
    layers = grid.studied_layers(recommendation, arch)
    if not layers:
        return None
    settings = grid.settings(recommendation, arch, layers)
    current = grid.current_strengths(arch, layers)
    cpus = os.cpu_count() or 1
    chosen_workers = max(1, min(workers or cpus, len(settings) * seeds))
    ran_seeds = seeds_within(budget_seconds, chosen_workers, len(settings), seeds)
    n_runs = len(settings) * ran_seeds
    chosen_workers = min(chosen_workers, n_runs)
    per_run = budget_seconds * chosen_workers / n_runs
    train, val = evaluation.rows["train"], evaluation.rows["val"]
    model = loaded.keras_model
    units = int(model.outputs[0].shape[-1] or 1)
    y_fit = target_encoder(loaded.info.loss, loaded.info.n_classes, units)(train.sample_y)
    batch_size = 32 if len(train.sample_y) <= 5_000 else 256
    classes = tuple(evaluation.classes)
    runs: list[StudyRun] = []
    with tempfile.TemporaryDirectory(prefix="auditor-study-") as folder:
        try:
            model.save(Path(folder) / "model.keras")
        except Exception as exc:  # a model Keras cannot save cannot be sent to the workers
            raise AuditorError(
                f"--study: the model cannot be saved for retraining ({exc})"
            ) from exc
        np.savez(
            Path(folder) / "rows.npz",
            x_train=np.asarray(train.sample_x, dtype=np.float32),
            y_train=np.asarray(train.sample_y),
            y_fit=np.asarray(y_fit),
            x_val=np.asarray(val.sample_x, dtype=np.float32),
            y_val=np.asarray(val.sample_y),
        )
        tasks = [
            worker.Task(
                folder=folder,
                label=s.label,
                kernel=s.kernel(),
                layers=layers,
                seed=seed + i,
                epochs=epochs,
                seconds=per_run,
                batch_size=batch_size,
                threshold=evaluation.threshold,
                default_loss=loaded.info.loss,
                classes=classes,
                unsafe=unsafe,
            )
            for i in range(ran_seeds)
            for s in settings
        ]
        if ray_address is not None:
            runs = _run_on_ray(folder, tasks, ray_address, progress)
        else:
            runs = _run_all(tasks, chosen_workers, max(1, cpus // chosen_workers), progress)
    order = {(t.label, t.seed): i for i, t in enumerate(tasks)}
    runs.sort(key=lambda r: order[(r.setting, r.seed)])
    options: dict[str, Any] = {
        "seeds_asked": seeds,
        "seed": seed,
        "epochs": epochs,
        "budget_seconds": budget_seconds,
        "seconds_per_run": round(per_run, 2),
        "workers": chosen_workers,
        "threads_per_worker": max(1, cpus // chosen_workers),
        "batch_size": batch_size,
        "train_rows": int(len(train.sample_y)),
        "val_rows": int(len(val.sample_y)),
        "recommendation": recommendation.action if recommendation is not None else None,
        "current": {name: {"l1": l1, "l2": l2} for name, (l1, l2) in current.items()},
        "runs": len(runs),
    }
    result = summarize(
        settings,
        runs,
        prefer=prefer,
        seeds=ran_seeds,
        layers=layers,
        classes=classes,
        current=current,
        options=options,
    )
    options["seconds"] = round(time.perf_counter() - started, 2)
    return replace(result, options=options)


def _run_on_ray(
    folder: str, tasks: Sequence[worker.Task], address: str, progress: StudyProgress | None
) -> list[StudyRun]:
    """Run TASKS as Ray tasks; the runs in the order they ended."""
    from auditor.study import on_ray

    done: list[StudyRun] = []

    def heard(run: StudyRun, task: worker.Task) -> None:
        done.append(run)
        if progress is not None:
            progress(len(done), len(tasks), task.label, task.seed)

    on_ray.run_all(folder, tasks, address, heard)
    if progress is not None:
        progress(len(tasks), len(tasks), "done", 0)
    return done


def _run_all(
    tasks: Sequence[worker.Task], workers: int, threads: int, progress: StudyProgress | None
) -> list[StudyRun]:
    """Run TASKS on WORKERS worker processes, each fed the next task as it finishes one."""
    pending: queue.Queue[worker.Task] = queue.Queue()
    for task in tasks:
        pending.put(task)
    done: list[StudyRun] = []
    failures: list[str] = []
    lock = threading.Lock()
    env = dict(os.environ)
    # The workers import this auditor, wherever it was imported from (a clone, an install).
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    def serve() -> None:
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "auditor.study.worker", str(threads)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
                text=True,
            )
            assert process.stdin is not None and process.stdout is not None
            try:
                while not failures:
                    try:
                        task = pending.get_nowait()
                    except queue.Empty:
                        break
                    process.stdin.write(task.to_json() + "\n")
                    process.stdin.flush()
                    line = process.stdout.readline()
                    answer = json.loads(line) if line.strip() else None
                    with lock:
                        if answer is None or "error" in answer:
                            errors.seek(0)
                            said = errors.read().decode("utf-8", "replace").strip().splitlines()
                            why = answer["error"] if answer else (said[-1] if said else "no answer")
                            failures.append(f"{task.label}, seed {task.seed}: {why}")
                            return
                        done.append(StudyRun(**answer))
                        if progress is not None:
                            progress(len(done), len(tasks), task.label, task.seed)
            finally:
                process.stdin.close()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    threads_ = [threading.Thread(target=serve, daemon=True) for _ in range(workers)]
    for thread in threads_:
        thread.start()
    for thread in threads_:
        thread.join()
    if failures:
        raise AuditorError(f"--study: a retraining run failed ({failures[0]})")
    if progress is not None:
        progress(len(tasks), len(tasks), "done", 0)
    return done
