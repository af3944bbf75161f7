"""Which settings a study trains: the control, no penalty, and L1, L2, L1+L2 around the advice."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.loading.architecture import Architecture
from auditor.regularization import REGULARIZABLE, Recommendation, nice
from auditor.study.values import Setting

INCREASE = ("add_l1", "increase_l1", "increase_l2")
DECREASE = ("decrease_regularization", "remove_regularization")
PENALTIES = (("l1", "L1"), ("l2", "L2"), ("l1_l2", "L1+L2"))
DEFAULT_CENTER = 1e-3  # the usual middle of the L1/L2 range, when nothing says otherwise


def studied_layers(rec: Recommendation | None, arch: Architecture) -> tuple[str, ...]:
    """Return the layers whose kernel penalty the study changes.

    The recommendation's layers when it is an L1/L2 change; otherwise the dense layers that carry
    a penalty, or else the hidden dense layers (the output layer when it is the only one).
    """
    if rec is not None and rec.layers and (rec.action in INCREASE or rec.action in DECREASE):
        return tuple(rec.layers)
    dense = [layer for layer in arch.weighted_layers if layer.class_name in REGULARIZABLE]
    penalized = [
        layer.name
        for layer in dense
        if layer.kernel_regularizer is not None and layer.kernel_regularizer.active
    ]
    if penalized:
        return tuple(penalized)
    return tuple(layer.name for layer in (dense[:-1] if len(dense) > 1 else dense))


def current_strengths(arch: Architecture, layers: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Return each studied layer's kernel (l1, l2) as the model has it."""
    found = {}
    by_name = {layer.name: layer for layer in arch.layers}
    for name in layers:
        reg = by_name[name].kernel_regularizer if name in by_name else None
        found[name] = (reg.l1, reg.l2) if reg is not None else (0.0, 0.0)
    return found


def center(rec: Recommendation | None, current: dict[str, tuple[float, float]]) -> float:
    """Return the strength the grid is laid around.

    The recommendation's suggested strength when it raises a penalty; a tenth of the current
    strongest penalty (at most 0.01) when it lowers one; otherwise the current strongest
    penalty, or 1e-3 when the layers carry none.
    """
    strongest = max((max(pair) for pair in current.values()), default=0.0)
    if rec is not None and rec.action in INCREASE:
        key = "l1" if rec.action in ("add_l1", "increase_l1") else "l2"
        suggested = [float(v.get(key, 0.0)) for v in rec.suggested.values()]
        if suggested and max(suggested) > 0:
            return nice(max(suggested))
    if rec is not None and rec.action in DECREASE and strongest > 0:
        return nice(min(strongest / 10, 1e-2))
    return nice(strongest) if strongest > 0 else DEFAULT_CENTER


def settings(
    rec: Recommendation | None, arch: Architecture, layers: Sequence[str]
) -> list[Setting]:
    """Return the settings to train, the control first.

    Then no penalty (when the control has one), then L1, L2 and L1+L2 each at the center / 10,
    the center and the center x 10 (only below the current strength when the advice lowers it).
    """
    current = current_strengths(arch, layers)
    strongest = max((max(pair) for pair in current.values()), default=0.0)
    mid = center(rec, current)
    strengths = sorted({nice(mid / 10), mid, nice(mid * 10)})
    if rec is not None and rec.action in DECREASE:
        strengths = [s for s in strengths if s < strongest]
    chosen = [Setting("current", "control", None)]
    if strongest > 0:
        chosen.append(Setting("no penalty", "none", 0.0))
    for penalty, name in PENALTIES:
        for s in strengths:
            kernel = Setting(f"{name} {s:g}", penalty, s).kernel()
            # A setting equal to the control everywhere is the control: not trained twice.
            if all(current[layer] == kernel for layer in layers):
                continue
            chosen.append(Setting(f"{name} {s:g}", penalty, s))
    return chosen


def total_strength(setting: Setting, current: dict[str, tuple[float, float]]) -> float:
    """Return l1 + l2 summed over the studied layers under SETTING."""
    kernel = setting.kernel()
    if kernel is None:
        return float(sum(l1 + l2 for l1, l2 in current.values()))
    return float(sum(kernel) * len(current))
