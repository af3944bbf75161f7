"""Draws the report's figures with matplotlib as PNG data URIs (bounded in size).

PNG rather than SVG: WeasyPrint lays out and draws a raster image in a fraction of the time it
spends interpreting an SVG's drawing operators, and each figure is drawn once.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from auditor.metrics import SCORE_BINS

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from auditor.evaluation import Evaluation
    from auditor.result import AuditResult

DPI = 150
SPLIT_COLOURS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",  # shipped with matplotlib: the same text everywhere
            "font.size": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


class Figure(str):
    """A figure's PNG data URI, with the width (in CSS pixels) it was drawn for."""

    width: int


def _png(fig: Any) -> Figure:
    """Encode FIG as a PNG data URI (at 1.5x screen resolution) and close it.

    Every figure lays itself out with `tight_layout`, so it is drawn once, without the second
    drawing pass `bbox_inches="tight"` costs. No metadata: identical inputs give identical bytes.
    """
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    figure = Figure("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
    figure.width = round(fig.get_size_inches()[0] * 96)  # shown at the size it was laid out for
    plt.close(fig)
    return figure


def _label(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _legend_beside(ax: Any) -> None:
    """Put the legend to the right of the axes, where it cannot cover bars or curves."""
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def confusion_matrices(ev: Evaluation) -> Figure:
    """Plot counts and row-normalized confusion matrices, one column per split."""
    plt = _pyplot()
    splits = list(ev.splits.values())
    k = len(ev.classes)
    size = min(2.2 + 0.25 * k, 5.0)
    fig, axes = plt.subplots(2, len(splits), figsize=(size * len(splits), size * 2), squeeze=False)
    labels = [_label(c, 14) for c in ev.classes]
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
                            j,
                            i,
                            fmt.format(matrix[i, j]),
                            ha="center",
                            va="center",
                            color="white" if normalized[i, j] > 0.6 else "black",
                            fontsize=7,
                        )
            ax.set_xticks(
                range(k), labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center"
            )
            ax.set_yticks(range(k), labels)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            kind = "counts" if row == 0 else "share of true class"
            ax.set_title(f"{split.name} ({kind})")
    fig.tight_layout()
    return _png(fig)


def roc_pr_curves(ev: Evaluation) -> Figure | None:
    """ROC and precision/recall curves per split, with the operating threshold marked."""
    plt = _pyplot()
    k = len(ev.classes)
    positive = 1 if k == 2 else None
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(8, 3.4))
    drawn = False
    for split in ev.splits.values():
        if len(split.curves) < 2:  # a single class present: no curve
            continue
        colour = SPLIT_COLOURS.get(split.name, "grey")
        if positive is not None:
            curve = split.curves[ev.classes[1]]
        else:  # micro-average over classes: one curve per split stays readable
            # Every row's k scores ranked together, by bins of 1/128 of their value.
            assert split.sums is not None, "an evaluated split carries its sums"
            curve = split.sums.micro_curves()
        roc_ax.plot(curve["fpr"], curve["tpr"], color=colour, label=split.name)
        pr_ax.plot(curve["recall"], curve["precision"], color=colour, label=split.name)
        if positive is not None:
            # The operating point is the confusion matrix's, so plot and tables agree.
            (tn, fp), (fn, tp) = split.confusion_matrix
            op_tpr = tp / max(tp + fn, 1)
            op_fpr = fp / max(fp + tn, 1)
            op_prec = tp / max(tp + fp, 1)
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
    return _png(fig)


def calibration(ev: Evaluation) -> Figure:
    """Reliability diagram: mean predicted confidence vs observed accuracy per bin."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.3, 3.4))
    for split in ev.splits.values():
        # The same bins as the expected calibration error in the metrics.
        assert split.sums is not None, "an evaluated split carries its sums"
        counts, conf_sum, acc_sum = split.sums.calibration
        mask = counts > 0
        mean_conf = conf_sum[mask] / counts[mask]
        accuracy = acc_sum[mask] / counts[mask]
        ax.plot(
            mean_conf,
            accuracy,
            "o-",
            color=SPLIT_COLOURS.get(split.name, "grey"),
            label=split.name,
            markersize=3,
        )
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    ax.set(
        xlabel="predicted confidence",
        ylabel="observed accuracy",
        title="Calibration",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    _legend_beside(ax)
    fig.tight_layout()
    return _png(fig)


def class_distribution(ev: Evaluation) -> Figure:
    """Share of each class per split."""
    plt = _pyplot()
    k = len(ev.classes)
    fig, ax = plt.subplots(figsize=(min(3.8 + 0.4 * k, 8), 3))
    width = 0.8 / max(len(ev.splits), 1)
    for i, split in enumerate(ev.splits.values()):
        counts = np.array([split.class_counts[c] for c in ev.classes], dtype=float)
        ax.bar(
            np.arange(k) + i * width,
            counts / counts.sum(),
            width,
            label=split.name,
            color=SPLIT_COLOURS.get(split.name, "grey"),
        )
    ax.set_xticks(
        np.arange(k) + width * (len(ev.splits) - 1) / 2, [_label(c, 14) for c in ev.classes]
    )
    ax.set(ylabel="share of rows", title="Class distribution")
    _legend_beside(ax)
    fig.tight_layout()
    return _png(fig)


def score_distributions(ev: Evaluation) -> Figure:
    """Histogram of the predicted probability of the true class's competitor, per true class."""
    plt = _pyplot()
    split = ev.splits.get("val") or next(iter(ev.splits.values()))
    k = len(ev.classes)
    shown = list(range(k)) if k <= 6 else list(range(6))
    fig, ax = plt.subplots(figsize=(5.4, 3))
    assert split.sums is not None, "an evaluated split carries its sums"
    bins = np.linspace(0, 1, SCORE_BINS + 1)
    score_col = 1 if k == 2 else None
    for cls in shown:
        hist = split.sums.score_counts[cls]
        if not hist.any():
            continue
        ax.step(
            bins[:-1],
            hist / hist.sum(),
            where="post",
            label=f"true {_label(ev.classes[cls], 12)}",
        )
    if score_col is not None:
        ax.axvline(ev.threshold, color="grey", linestyle=":", linewidth=0.8)
    what = f"P({_label(ev.classes[1], 12)})" if score_col is not None else "P(true class)"
    ax.set(
        xlabel=what, ylabel="share of the class's rows", title=f"Score distribution ({split.name})"
    )
    _legend_beside(ax)
    fig.tight_layout()
    return _png(fig)


def learning_curves(history: dict[str, list[float]]) -> Figure:
    """Training and validation curves per epoch from the training history."""
    plt = _pyplot()
    metrics = [m for m in ("loss", "accuracy", "auc", "recall", "precision") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=True):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], color=SPLIT_COLOURS["train"], label="train")
        if f"val_{name}" in history:
            val = np.array(history[f"val_{name}"], dtype=float)
            ax.plot(epochs, val, color=SPLIT_COLOURS["val"], label="val")
            if name == "loss" and np.isfinite(val).any():
                best = int(np.nanargmin(val))
                ax.axvline(best + 1, color="grey", linestyle=":", linewidth=0.8)
                ax.annotate(
                    f"lowest val loss\nepoch {best + 1}",
                    (best + 1, val[best]),
                    fontsize=6,
                    xytext=(4, 10),
                    textcoords="offset points",
                )
        ax.set(xlabel="epoch", title=name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def weight_histograms(ev: Evaluation) -> Figure | None:
    """Distribution of each layer's kernel weights (at most 8 layers)."""
    layers = [layer for layer in ev.architecture.weighted_layers][:8]
    if not layers:
        return None
    plt = _pyplot()
    cols = min(len(layers), 4)
    rows = (len(layers) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.1 * rows), squeeze=False)
    for ax in axes.ravel()[len(layers) :]:
        ax.axis("off")
    for ax, layer in zip(axes.ravel(), layers, strict=False):
        w = np.asarray(layer.kernel, dtype=np.float64).ravel()
        ax.hist(w, bins=60, color=SPLIT_COLOURS["train"])
        reg = layer.kernel_regularizer
        tag = f" L1 {reg.l1:g} L2 {reg.l2:g}" if reg is not None and reg.active else ""
        ax.set_title(f"{_label(layer.name, 20)}{tag}", fontsize=7)
        ax.set_yticks([])
    fig.suptitle("Weights per layer", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def feature_mass(ev: Evaluation) -> Figure | None:
    """Plot the share of the first layer's absolute weight each input feature receives.

    Only the top and bottom 15 features are shown.
    """
    from auditor.facts.weights import LOW_MASS

    analysis = ev.weight_analysis
    if not analysis.feature_mass:
        return None
    plt = _pyplot()
    items = sorted(analysis.feature_mass.items(), key=lambda kv: -kv[1])
    if len(items) > 30:
        items = items[:15] + items[-15:]
    names = [_label(k, 32) for k, _ in items]
    values = [v for _, v in items]
    fig, ax = plt.subplots(figsize=(7, 0.7 + 0.19 * len(items)))
    equal = 1 / len(analysis.feature_mass)
    colours = ["#c44e52" if v < LOW_MASS * equal else SPLIT_COLOURS["train"] for v in values]
    ax.barh(range(len(items)), values, color=colours)
    ax.axvline(equal, color="grey", linestyle=":", linewidth=0.8)
    ax.set_yticks(range(len(items)), names, fontsize=7)
    ax.invert_yaxis()
    shown = (
        ""
        if len(analysis.feature_mass) <= 30
        else f" (15 strongest and 15 weakest of {len(analysis.feature_mass)})"
    )
    ax.set(xlabel="share of first-layer |weight|", title=f"Weight mass per input feature{shown}")
    fig.tight_layout()
    return _png(fig)


def sweep_curve(sweep: Any) -> Figure | None:
    """Plot validation (and training) loss against the swept strength, best setting marked."""
    if sweep is None or not sweep.runs:  # not applicable: nothing was retrained
        return None
    plt = _pyplot()
    runs = sorted(sweep.runs, key=lambda r: r.strength)
    smallest = min((r.strength for r in runs if r.strength > 0), default=1e-4)
    xs = [r.strength if r.strength > 0 else smallest / 10 for r in runs]
    fig, ax = plt.subplots(figsize=(4.6, 3))
    ax.plot(xs, [r.val_loss for r in runs], "o-", color=SPLIT_COLOURS["val"], label="val loss")
    ax.plot(
        xs, [r.train_loss for r in runs], "o--", color=SPLIT_COLOURS["train"], label="train loss"
    )
    for x, r in zip(xs, runs, strict=True):
        if r.control:
            ax.annotate(
                "current", (x, r.val_loss), fontsize=6, xytext=(3, 6), textcoords="offset points"
            )
        if r.label == sweep.best:
            ax.plot([x], [r.val_loss], "*", color="black", markersize=10)
    ax.set_xscale("log")
    penalty = runs[0].penalty.upper()
    ax.set(
        xlabel=f"{penalty} strength (0 drawn at the left)",
        ylabel="loss",
        title="Verification sweep",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


STUDY_COLOURS = {"l1": "#c44e52", "l2": "#4c72b0", "l1_l2": "#8172b3", "none": "#555555"}
STUDY_NAMES = {"l1": "L1", "l2": "L2", "l1_l2": "L1+L2"}


def study_loss(study: Any) -> Figure | None:
    """Plot validation (and training) loss against strength, one panel per penalty.

    The seed spread shows as error bars, the control's mean and spread as a line and a band.
    """
    if study is None:
        return None
    families = [p for p in STUDY_NAMES if any(s.setting.penalty == p for s in study.settings)]
    if not families:
        return None
    plt = _pyplot()
    control = study.control
    none = next((s for s in study.settings if s.setting.penalty == "none"), None)
    fig, axes = plt.subplots(
        1, len(families), figsize=(3.0 * len(families), 2.8), squeeze=False, sharey=True
    )
    for ax, penalty in zip(axes[0], families, strict=True):
        points = sorted(
            (s for s in study.settings if s.setting.penalty == penalty),
            key=lambda s: s.setting.strength,
        )
        if none is not None:  # no penalty at all, drawn at the left end of every panel
            points = [none, *points]
        smallest = min((s.setting.strength for s in points if s.setting.strength), default=1e-4)
        xs = [s.setting.strength if s.setting.strength else smallest / 10 for s in points]
        val = [s.mean["val_loss"] for s in points]
        half = [(s.spread["val_loss"] or 0.0) / 2 if s.seeds > 1 else 0.0 for s in points]
        ax.errorbar(
            xs, val, yerr=half, fmt="o-", color=STUDY_COLOURS[penalty], capsize=2, label="val"
        )
        ax.plot(
            xs,
            [s.mean["train_loss"] for s in points],
            "o--",
            color="grey",
            label="train",
            markersize=3,
        )
        mid, spread = control.mean["val_loss"], control.spread["val_loss"]
        ax.axhline(mid, color="black", linewidth=0.8, linestyle=":")
        if control.seeds > 1 and spread == spread:  # not NaN
            ax.axhspan(mid - spread / 2, mid + spread / 2, color="grey", alpha=0.15)
        for x, s in zip(xs, points, strict=True):
            if s.setting.penalty == "none":
                ax.annotate(
                    "no penalty",
                    (x, s.mean["val_loss"]),
                    fontsize=6,
                    xytext=(2, 8),
                    textcoords="offset points",
                )
            if s.setting.label == study.chosen:
                ax.plot([x], [s.mean["val_loss"]], "*", color="black", markersize=11)
            if s.harmful:
                ax.plot([x], [s.mean["val_loss"]], "x", color="#c44e52", markersize=8)
        ax.set_xscale("log")
        ax.set(xlabel=f"{STUDY_NAMES[penalty]} strength", title=STUDY_NAMES[penalty])
    axes[0][0].set_ylabel("loss")
    axes[0][-1].legend(fontsize=6, loc="best")
    fig.suptitle(
        "Loss against strength (dotted: control, band: its seed spread; ★ chosen, x harmful"
        + ("; no penalty at the left" if none is not None else "")
        + ")",
        fontsize=7,
    )
    fig.tight_layout()
    return _png(fig)


def study_precision_recall(study: Any) -> Figure | None:
    """Plot precision against recall of every study setting (means; seed spreads as bars).

    Colours are the penalties; the control, the chosen setting and harmful ones are labelled.
    """
    if study is None or not study.settings:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    seen: set[str] = set()
    for s in study.settings:
        penalty = s.setting.penalty
        colour = "black" if s.setting.control else STUDY_COLOURS.get(penalty, "grey")
        chosen = s.setting.label == study.chosen
        marker = "*" if chosen else "s" if s.setting.control else "o"
        name = "control" if s.setting.control else STUDY_NAMES.get(penalty, "no penalty")
        spread = s.seeds > 1
        ax.errorbar(
            [s.mean["recall"]],
            [s.mean["precision"]],
            xerr=[(s.spread["recall"] or 0.0) / 2 if spread else 0.0],
            yerr=[(s.spread["precision"] or 0.0) / 2 if spread else 0.0],
            fmt=marker,
            color=colour,
            markersize=10 if chosen else 5,
            elinewidth=0.6,
            alpha=0.9,
            capsize=1.5,
            label=name if name not in seen else None,
        )
        seen.add(name)
        if s.setting.control or chosen or s.harmful:
            ax.annotate(
                s.setting.label + (" (harmful)" if s.harmful else ""),
                (s.mean["recall"], s.mean["precision"]),
                fontsize=6,
                xytext=(4, 4),
                textcoords="offset points",
            )
    what = "positive class" if len(study.classes) == 2 else "macro mean"
    ax.set(
        xlabel=f"validation recall ({what})",
        ylabel=f"validation precision ({what})",
        title="Precision / recall across settings (■ control, ★ chosen; bars: seed spread)",
    )
    ax.title.set_fontsize(7)
    _legend_beside(ax)
    fig.tight_layout()
    return _png(fig)


# The evaluation's figures in two groups of about equal drawing time, for two processes to draw.
FIGURE_GROUPS = (
    ("confusion", "curves", "classes", "history"),
    ("weights", "feature_mass", "calibration", "scores"),
)


def evaluation_figures(
    ev: Evaluation,
    history: dict[str, list[float]] | None,
    names: Collection[str] | None = None,
) -> dict[str, Figure]:
    """Return every figure drawn from the evaluation and the training history, by name.

    NAMES, if given, draws only those (one of `FIGURE_GROUPS`, say).
    """
    draw: dict[str, Callable[[], Figure | None]] = {
        "confusion": lambda: confusion_matrices(ev),
        "calibration": lambda: calibration(ev),
        "classes": lambda: class_distribution(ev),
        "scores": lambda: score_distributions(ev),
        "curves": lambda: roc_pr_curves(ev),
        "history": lambda: learning_curves(history) if history else None,
        "weights": lambda: weight_histograms(ev),
        "feature_mass": lambda: feature_mass(ev),
    }
    drawn = {name: make() for name, make in draw.items() if names is None or name in names}
    return {name: figure for name, figure in drawn.items() if figure}


def build_plots(
    result: AuditResult, figures: Mapping[str, Figure] | None = None
) -> dict[str, Figure]:
    """Return every figure the report shows: the evaluation's FIGURES (or drawn now), the sweep."""
    if figures is None:
        figures = evaluation_figures(result.evaluation, result.history)
    plots = dict(figures)
    sweep = sweep_curve(result.sweep)
    if sweep:
        plots["sweep"] = sweep
    for name, draw in (("study_loss", study_loss), ("study_pr", study_precision_recall)):
        figure = draw(result.study)
        if figure:
            plots[name] = figure
    return plots
