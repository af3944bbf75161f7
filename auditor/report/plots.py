"""Draws the report's figures with matplotlib as compact SVG data URIs (bounded in size)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from auditor.api import AuditResult

CURVE_POINTS = 300  # curves are resampled to this many points whatever the number of rows
SPLIT_COLOURS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            # Text stays text (DejaVu Sans, which matplotlib ships): 40% smaller SVG than outlines,
            # and WeasyPrint lays it out twice as fast.
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "svg.hashsalt": "auditor",  # stable ids, so identical inputs give identical files
            "font.size": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _svg(fig: Any) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _label(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def confusion_matrices(result: AuditResult) -> str:
    """Counts and row-normalized confusion matrices, one column per split."""
    plt = _pyplot()
    ev = result.evaluation
    splits = list(ev.splits.values())
    k = len(ev.classes)
    size = min(2.2 + 0.25 * k, 5.0)
    fig, axes = plt.subplots(2, len(splits), figsize=(size * len(splits), size * 2), squeeze=False)
    labels = [_label(c, 10) for c in ev.classes]
    for col, split in enumerate(splits):
        counts = np.array(split.confusion_matrix, dtype=float)
        rows = counts.sum(axis=1, keepdims=True)
        normalized = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
        for row, (matrix, fmt) in enumerate(((counts, "{:,.0f}"), (normalized, "{:.2f}"))):
            ax = axes[row][col]
            ax.imshow(normalized, cmap="Blues", vmin=0, vmax=1)
            if k <= 12:
                for i in range(k):
                    for j in range(k):
                        ax.text(
                            j, i, fmt.format(matrix[i, j]), ha="center", va="center",
                            color="white" if normalized[i, j] > 0.6 else "black", fontsize=7,
                        )
            ax.set_xticks(range(k), labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
            ax.set_yticks(range(k), labels)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            kind = "counts" if row == 0 else "share of true class"
            ax.set_title(f"{split.name} ({kind})")
    fig.tight_layout()
    return _svg(fig)


def _resample(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= CURVE_POINTS:
        return x, y
    index = np.linspace(0, len(x) - 1, CURVE_POINTS).round().astype(int)
    return x[index], y[index]


def roc_pr_curves(result: AuditResult) -> str | None:
    """ROC and precision/recall curves per split, with the operating threshold marked."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    ev = result.evaluation
    k = len(ev.classes)
    positive = 1 if k == 2 else None
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(8, 3.4))
    drawn = False
    for split in ev.splits.values():
        if len(np.unique(split.y)) < 2:
            continue
        colour = SPLIT_COLOURS.get(split.name, "grey")
        if positive is not None:
            truth, score = (split.y == 1).astype(int), split.proba[:, 1]
        else:  # micro-average over classes: one curve per split stays readable
            truth = (split.y[:, None] == np.arange(k)).astype(int).ravel()
            score = split.proba.ravel()
        fpr, tpr, _ = roc_curve(truth, score)
        roc_ax.plot(*_resample(fpr, tpr), color=colour, label=split.name)
        precision, recall, _ = precision_recall_curve(truth, score)
        pr_ax.plot(*_resample(recall, precision), color=colour, label=split.name)
        if positive is not None:
            pred = score >= ev.threshold
            tp = float((pred & (truth == 1)).sum())
            op_tpr = tp / max(truth.sum(), 1)
            op_fpr = float((pred & (truth == 0)).sum()) / max((truth == 0).sum(), 1)
            op_prec = tp / max(pred.sum(), 1)
            roc_ax.plot([op_fpr], [op_tpr], "o", color=colour, markersize=5)
            pr_ax.plot([op_tpr], [op_prec], "o", color=colour, markersize=5)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    roc_ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision / recall curve", ylim=(0, 1.02))
    suffix = f" (dots: threshold {ev.threshold:g})" if positive is not None else " (micro-average)"
    roc_ax.legend(title=suffix.strip(" ()"), loc="lower right", fontsize=7)
    fig.tight_layout()
    return _svg(fig)


def calibration(result: AuditResult) -> str:
    """Reliability diagram: mean predicted confidence vs observed accuracy per bin."""
    plt = _pyplot()
    ev = result.evaluation
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    bins = np.linspace(0, 1, 11)
    for split in ev.splits.values():
        confidence = split.proba.max(axis=1)
        correct = np.argmax(split.proba, axis=1) == split.y
        index = np.clip(np.digitize(confidence, bins[1:-1]), 0, 9)
        counts = np.bincount(index, minlength=10)
        mask = counts > 0
        mean_conf = np.bincount(index, weights=confidence, minlength=10)[mask] / counts[mask]
        accuracy = np.bincount(index, weights=correct, minlength=10)[mask] / counts[mask]
        ax.plot(mean_conf, accuracy, "o-", color=SPLIT_COLOURS.get(split.name, "grey"), label=split.name, markersize=3)
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    ax.set(xlabel="predicted confidence", ylabel="observed accuracy", title="Calibration", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig)


def class_distribution(result: AuditResult) -> str:
    """Share of each class per split."""
    plt = _pyplot()
    ev = result.evaluation
    k = len(ev.classes)
    fig, ax = plt.subplots(figsize=(min(3 + 0.4 * k, 8), 3))
    width = 0.8 / max(len(ev.splits), 1)
    for i, split in enumerate(ev.splits.values()):
        counts = np.array([split.class_counts[c] for c in ev.classes], dtype=float)
        ax.bar(np.arange(k) + i * width, counts / counts.sum(), width, label=split.name, color=SPLIT_COLOURS.get(split.name, "grey"))
    ax.set_xticks(np.arange(k) + width * (len(ev.splits) - 1) / 2, [_label(c, 10) for c in ev.classes])
    ax.set(ylabel="share of rows", title="Class distribution")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig)


def score_distributions(result: AuditResult) -> str:
    """Histogram of the predicted probability of the true class's competitor, per true class."""
    plt = _pyplot()
    ev = result.evaluation
    split = ev.splits.get("val") or next(iter(ev.splits.values()))
    k = len(ev.classes)
    shown = list(range(k)) if k <= 6 else list(range(6))
    fig, ax = plt.subplots(figsize=(4.6, 3))
    bins = np.linspace(0, 1, 41)
    score_col = 1 if k == 2 else None
    for cls in shown:
        rows = split.y == cls
        if not rows.any():
            continue
        scores = split.proba[rows, score_col if score_col is not None else cls]
        hist, _ = np.histogram(scores, bins=bins)
        ax.step(bins[:-1], hist / max(rows.sum(), 1), where="post", label=f"true {_label(ev.classes[cls], 12)}")
    if score_col is not None:
        ax.axvline(ev.threshold, color="grey", linestyle=":", linewidth=0.8)
    what = f"P({_label(ev.classes[1], 12)})" if score_col is not None else "P(true class)"
    ax.set(xlabel=what, ylabel="share of the class's rows", title=f"Score distribution ({split.name})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig)


def build_plots(result: AuditResult) -> dict[str, str]:
    """Return every figure the report shows, by name."""
    plots = {
        "confusion": confusion_matrices(result),
        "calibration": calibration(result),
        "classes": class_distribution(result),
        "scores": score_distributions(result),
    }
    curves = roc_pr_curves(result)
    if curves:
        plots["curves"] = curves
    return plots
