"""Facts about the model's weights: norms and sparsity per layer, first-layer mass per feature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.loading.architecture import Architecture

NEAR_ZERO = 0.01  # a weight below 1% of its layer's largest |weight| counts as (near) zero
LOW_MASS = 0.5  # a feature with less than half the equal share of first-layer mass is "ignored"


@dataclass(frozen=True)
class LayerWeights:
    """Norms and sparsity of one layer's kernel."""

    name: str
    n_weights: int
    l1_norm: float
    l2_norm: float
    sum_squares: float
    near_zero_share: float
    max_abs: float

    def to_dict(self) -> dict[str, Any]:
        """Return the layer's statistics as report.json holds them."""
        return {
            "name": self.name,
            "n_weights": self.n_weights,
            "l1_norm": self.l1_norm,
            "l2_norm": self.l2_norm,
            "near_zero_share": self.near_zero_share,
            "max_abs": self.max_abs,
        }


@dataclass(frozen=True)
class WeightAnalysis:
    """Per-layer weight statistics and the first layer's weight mass per input feature."""

    layers: tuple[LayerWeights, ...]
    feature_mass: dict[str, float]
    ignored_features: tuple[str, ...]
    leaned_on_features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the analysis as report.json holds it."""
        return {
            "near_zero_definition": f"|w| < {NEAR_ZERO:g} x the layer's largest |w|",
            "layers": [layer.to_dict() for layer in self.layers],
            "feature_mass": self.feature_mass,
            "ignored_features": list(self.ignored_features),
            "leaned_on_features": list(self.leaned_on_features),
        }


def analyse_weights(arch: Architecture, features: Sequence[str]) -> WeightAnalysis:
    """Compute norms and sparsity of every kernel and the first layer's per-feature weight mass."""
    stats = []
    for layer in arch.weighted_layers:
        w = np.abs(np.asarray(layer.kernel, dtype=np.float64))
        largest = float(w.max()) if w.size else 0.0
        stats.append(
            LayerWeights(
                name=layer.name,
                n_weights=int(w.size),
                l1_norm=float(w.sum()),
                l2_norm=float(np.sqrt((w**2).sum())),
                sum_squares=float((w**2).sum()),
                near_zero_share=float((w < NEAR_ZERO * largest).mean()) if w.size else 0.0,
                max_abs=largest,
            )
        )
    mass: dict[str, float] = {}
    ignored: list[str] = []
    leaned: list[str] = []
    first = arch.weighted_layers[0] if arch.weighted_layers else None
    if first is not None and first.kernel is not None and first.kernel.ndim == 2:
        kernel = np.abs(first.kernel.astype(np.float64))
        if kernel.shape[0] == len(features) and kernel.sum() > 0:
            share = kernel.sum(axis=1) / kernel.sum()
            equal = 1.0 / len(features)
            mass = {f: float(s) for f, s in zip(features, share, strict=True)}
            ignored = [f for f, s in mass.items() if s < LOW_MASS * equal]
            leaned = [f for f, s in mass.items() if s > 2 * equal]
    return WeightAnalysis(tuple(stats), mass, tuple(ignored), tuple(leaned))
