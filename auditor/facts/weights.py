"""Facts about the model's weights: norms and sparsity per layer, first-layer mass per feature.

Every layer with a kernel counts (Dense, convolutions, an Embedding's table, a recurrent layer's
input kernel, its recurrent kernel apart). The first layer's mass per feature is computed only
when that layer is a Dense layer fed by named input features: a convolution's or an embedding's
rows are pixels, channels or tokens, not features a reviewer could drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.loading.architecture import Architecture, LayerFacts

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
    recurrent_n_weights: int | None = None
    recurrent_l2_norm: float | None = None
    recurrent_sum_squares: float | None = None

    @property
    def penalized_squares(self) -> float:
        """Sum of squares of the kernel and, for a recurrent layer, of its recurrent kernel."""
        return self.sum_squares + (self.recurrent_sum_squares or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Return the layer's statistics as report.json holds them."""
        return {
            "name": self.name,
            "n_weights": self.n_weights,
            "l1_norm": self.l1_norm,
            "l2_norm": self.l2_norm,
            "near_zero_share": self.near_zero_share,
            "max_abs": self.max_abs,
            "recurrent_n_weights": self.recurrent_n_weights,
            "recurrent_l2_norm": self.recurrent_l2_norm,
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


MASS_CLASSES = ("Dense", "unknown")  # first layers whose kernel rows are the input features


def _layer_weights(layer: LayerFacts) -> LayerWeights:
    w = np.abs(np.asarray(layer.kernel, dtype=np.float64))
    largest = float(w.max()) if w.size else 0.0
    recurrent = (
        np.asarray(layer.recurrent_kernel, dtype=np.float64)
        if layer.recurrent_kernel is not None
        else None
    )
    squares = float((recurrent**2).sum()) if recurrent is not None else None
    return LayerWeights(
        name=layer.name,
        n_weights=int(w.size),
        l1_norm=float(w.sum()),
        l2_norm=float(np.sqrt((w**2).sum())),
        sum_squares=float((w**2).sum()),
        near_zero_share=float((w < NEAR_ZERO * largest).mean()) if w.size else 0.0,
        max_abs=largest,
        recurrent_n_weights=int(recurrent.size) if recurrent is not None else None,
        recurrent_l2_norm=float(np.sqrt(squares)) if squares is not None else None,
        recurrent_sum_squares=squares,
    )


def analyse_weights(arch: Architecture, features: Sequence[str]) -> WeightAnalysis:
    """Compute norms and sparsity of every kernel and the first layer's per-feature weight mass.

    FEATURES are the input features' names, empty when the input has none (images, text).
    """
    stats = [_layer_weights(layer) for layer in arch.weighted_layers]
    mass: dict[str, float] = {}
    ignored: list[str] = []
    leaned: list[str] = []
    first = arch.weighted_layers[0] if arch.weighted_layers else None
    if (
        features
        and first is not None
        and first.class_name in MASS_CLASSES
        and first.kernel is not None
        and first.kernel.ndim == 2
    ):
        kernel = np.abs(first.kernel.astype(np.float64))
        if kernel.shape[0] == len(features) and kernel.sum() > 0:
            share = kernel.sum(axis=1) / kernel.sum()
            equal = 1.0 / len(features)
            mass = {f: float(s) for f, s in zip(features, share, strict=True)}
            ignored = [f for f, s in mass.items() if s < LOW_MASS * equal]
            leaned = [f for f, s in mass.items() if s > 2 * equal]
    return WeightAnalysis(tuple(stats), mass, tuple(ignored), tuple(leaned))
