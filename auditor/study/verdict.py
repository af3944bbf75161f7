"""Judges a study's runs: means and seed spreads, better beyond the noise, harmful, the choice."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from auditor.numbers import significant
from auditor.study.grid import total_strength
from auditor.study.values import (
    LOWER_IS_BETTER,
    METRICS,
    PREFER,
    Setting,
    SettingSummary,
    StudyResult,
    StudyRun,
)

NAMES = {
    "val_loss": "val loss",
    "train_loss": "train loss",
    "val_accuracy": "val accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
}


def signed(value: float) -> str:
    """Write a change with its sign, a true minus for decreases: +0.04, −0.12, +0.004, ±0."""
    size = abs(value)
    if math.isnan(value):
        return "nan"
    if size == 0:
        return "±0"
    if size >= 0.01:
        text = f"{size:.2f}"
    elif size >= 0.001:
        text = f"{size:.3f}"
    else:
        text = significant(size, 2)
    return ("−" if value < 0 else "+") + text


def _stats(runs: Sequence[StudyRun]) -> tuple[dict[str, float], dict[str, float]]:
    mean, spread = {}, {}
    for metric in METRICS:
        values = [r.value(metric) for r in runs if math.isfinite(r.value(metric))]
        mean[metric] = sum(values) / len(values) if values else math.nan
        spread[metric] = max(values) - min(values) if len(values) > 1 else math.nan
    return mean, spread


def _gain(metric: str, delta: float) -> float:
    """Return the change in METRIC's good direction (a lower loss is a positive gain)."""
    return -delta if metric in LOWER_IS_BETTER else delta


def summarize(
    settings: Sequence[Setting],
    runs: Sequence[StudyRun],
    *,
    prefer: str,
    seeds: int,
    layers: Sequence[str],
    classes: Sequence[str],
    current: dict[str, tuple[float, float]],
    options: dict[str, Any] | None = None,
) -> StudyResult:
    """Summarize RUNS per setting against the control (SETTINGS[0]) and choose under PREFER.

    A setting is better when its mean change on the preferred metric exceeds the spread (max -
    min) of the control's seeds, and its own, in the metric's good direction; harmful when its
    mean validation accuracy falls below the control's by more than the control's accuracy
    spread. With fewer than
    two control seeds there is no spread, and nothing is called better. The chosen setting is the
    best better one that is not harmful; the control when there is none.
    """
    metric = PREFER[prefer]
    control_setting = settings[0]
    by_label = {s.label: [r for r in runs if r.setting == s.label] for s in settings}
    control_mean, control_spread = _stats(by_label[control_setting.label])
    noise = {m: control_spread[m] for m in METRICS}
    measured = len(by_label[control_setting.label]) >= 2
    summaries = []
    for setting in settings:
        own = by_label[setting.label]
        if not own:
            continue
        mean, spread = _stats(own)
        delta = {m: mean[m] - control_mean[m] for m in METRICS}
        near_zero = {
            layer: sum(r.near_zero.get(layer, 0.0) for r in own) / len(own)
            for layer in own[0].near_zero
        }
        # The noise a change must beat: the control's seed spread, or the setting's own when
        # that is wider (one unlucky seed is not an effect).
        bar = max(noise[metric], spread[metric] if len(own) > 1 else 0.0)
        better = (
            not setting.control
            and measured
            and math.isfinite(delta[metric])
            and _gain(metric, delta[metric]) > bar
        )
        harmful = (
            not setting.control
            and math.isfinite(delta["val_accuracy"])
            and -delta["val_accuracy"] > (noise["val_accuracy"] if measured else 0.0)
        )
        summaries.append(
            SettingSummary(
                setting=setting,
                seeds=len(own),
                mean=mean,
                spread=spread,
                delta=delta,
                near_zero=near_zero,
                better=better,
                harmful=harmful,
                regularization=total_strength(setting, current),
            )
        )
    control = summaries[0]
    candidates = [s for s in summaries if s.better and not s.harmful]
    rank = lambda s: _gain(metric, s.delta[metric])  # noqa: E731
    chosen = max(candidates, key=rank) if candidates else control
    others = [s for s in summaries if not s.setting.control and math.isfinite(s.delta[metric])]
    closest = max(others, key=rank) if others else None
    harmed = tuple(s.setting.label for s in summaries if s.harmful)
    direction = _direction(chosen, control)
    return StudyResult(
        prefer=prefer,
        seeds=seeds,
        layers=tuple(layers),
        classes=tuple(classes),
        settings=tuple(summaries),
        runs=tuple(runs),
        chosen=chosen.setting.label,
        direction=direction,
        conclusion=_conclusion(prefer, chosen, control, closest, noise, measured, seeds, harmed),
        trade_off=trade_off(chosen if not chosen.setting.control else closest, layers),
        harmful=harmed,
        noise=noise,
        options=dict(options or {}),
    )


def _direction(chosen: SettingSummary, control: SettingSummary) -> str:
    if chosen.setting.control:
        return "none"
    if math.isclose(chosen.regularization, control.regularization, rel_tol=1e-9):
        return "same"
    return "less" if chosen.regularization < control.regularization else "more"


def trade_off(summary: SettingSummary | None, layers: Sequence[str]) -> str:
    """Write the setting against the control in the course note's terms.

    "L1 0.001: val loss 0.410 (−0.12), precision +0.04, recall −0.02, 38% of first-layer weights
    near zero" — the first studied layer's weights.
    """
    if summary is None:
        return ""
    m, d = summary.mean, summary.delta
    parts = [
        f"val loss {significant(m['val_loss'])} ({signed(d['val_loss'])})",
        f"val accuracy {signed(d['val_accuracy'])}",
        f"precision {signed(d['precision'])}",
        f"recall {signed(d['recall'])}",
    ]
    first = layers[0] if layers else next(iter(summary.near_zero), None)
    if first is not None and first in summary.near_zero:
        parts.append(f"{summary.near_zero[first]:.0%} of first-layer weights near zero")
    return f"{summary.setting.label}: " + ", ".join(parts)


def _conclusion(
    prefer: str,
    chosen: SettingSummary,
    control: SettingSummary,
    closest: SettingSummary | None,
    noise: dict[str, float],
    measured: bool,
    seeds: int,
    harmful: tuple[str, ...],
) -> str:
    metric = PREFER[prefer]
    name = NAMES[metric]
    runs = f"{seeds} seed{'s' if seeds != 1 else ''} per setting"
    if not measured:
        text = (
            f"With {runs} the noise between retrainings cannot be measured, so no setting is "
            "called better than the control"
        )
        if closest is not None:
            text += f" (the best {name}: {closest.setting.label}, {signed(closest.delta[metric])})"
        text += "."
    elif chosen.setting.control:
        text = (
            f"No setting beats the control (the current setting) beyond the noise on {name} "
            f"({runs}; the control's seeds differ by {significant(noise[metric])})"
        )
        if closest is not None:
            text += (
                f": the best, {closest.setting.label}, changes it by "
                f"{signed(closest.delta[metric])}"
            )
        text += "."
    else:
        direction = {
            "less": "less regularization than the current setting helps",
            "more": "more regularization than the current setting helps",
            "same": "another penalty at the current strength helps",
        }[_direction(chosen, control)]
        text = (
            f"Preferring {prefer}: {chosen.setting.label} beats the control beyond the noise "
            f"({name} {signed(chosen.delta[metric])}, more than the control's seed spread of "
            f"{significant(noise[metric])}; {runs}): {direction}."
        )
    if harmful:
        shown = ", ".join(harmful[:6]) + (", …" if len(harmful) > 6 else "")
        text += f" Harmful (validation accuracy drops against the control): {shown}."
    return text
