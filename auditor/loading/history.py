"""Reads a training history: a Keras CSVLogger file or a JSON dump of `History.history`."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from auditor.errors import DataError

MAX_EPOCHS = 10_000


def load_history(path: str | Path) -> dict[str, list[float]]:
    """Return metric name -> one value per epoch (CSVLogger's `epoch` column is dropped)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: training history not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DataError(
                f"{path}: expected a JSON object of metric name -> list of numbers "
                "(History.history)"
            )
        history = {str(k): v for k, v in data.items()}
    else:
        rows = list(csv.DictReader(text.splitlines()))
        if not rows:
            raise DataError(f"{path}: the CSV history has no rows; expected a Keras CSVLogger file")
        history = {k: [r[k] for r in rows] for k in rows[0] if k and k != "epoch"}
    cleaned: dict[str, list[float]] = {}
    for name, values in history.items():
        try:
            numbers = [float(v) for v in values[:MAX_EPOCHS]]
        except (TypeError, ValueError):
            raise DataError(f"{path}: history column '{name}' holds non-numbers") from None
        cleaned[name] = [v if math.isfinite(v) else float("nan") for v in numbers]
    if "loss" not in cleaned:
        raise DataError(
            f"{path}: the history has no 'loss' (found: {', '.join(cleaned) or 'nothing'})"
        )
    lengths = {name: len(values) for name, values in cleaned.items()}
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise DataError(
            f"{path}: the history's metrics cover different numbers of epochs ({counts}); "
            "expected one value per epoch for each (History.history, or a CSVLogger file)"
        )
    return cleaned


def summarize(history: dict[str, list[float]]) -> dict[str, object]:
    """Epochs run, final losses, and the epoch where validation loss was lowest."""
    summary: dict[str, object] = {"epochs": len(history["loss"]), "final_loss": history["loss"][-1]}
    val = history.get("val_loss")
    if val:
        finite = [(v, i) for i, v in enumerate(val) if not math.isnan(v)]
        if finite:
            best, epoch = min(finite)
            summary.update(final_val_loss=val[-1], best_val_loss=best, best_epoch=epoch + 1)
    return summary
