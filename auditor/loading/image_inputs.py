"""Image inputs: the size a model takes, batches shaped for it, and per-image statistics.

The statistics are the numeric table the drift checks read for images: the mean intensity of each
channel, and when the images were read from files, their stored height, width and aspect ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from auditor.errors import DataError
from auditor.loading.inputs import InputSpec


def image_target(spec: InputSpec) -> tuple[int, int, int]:
    """Return the (height, width, channels) of an image input (None, h, w[, c])."""
    per_row = spec.per_row
    height, width = per_row[0], per_row[1]
    channels = per_row[2] if len(per_row) == 3 else 1
    if height is None or width is None or channels is None:
        raise DataError(
            f"the model's image input '{spec.name}' has shape {spec.shape}; auditor reads images "
            "at a fixed size: build the model on keras.Input((height, width, channels))"
        )
    return int(height), int(width), int(channels)


def image_feed(images: np.ndarray, spec: InputSpec, path: Path | str) -> np.ndarray:
    """Return IMAGES (n, h, w[, c]) shaped as the model's input; DataError when they differ."""
    height, width, channels = image_target(spec)
    x = images[..., None] if images.ndim == 3 else images
    if x.shape[1:3] != (height, width) or x.shape[3] != channels:
        got = " x ".join(str(d) for d in x.shape[1:])
        raise DataError(
            f"{path}: the images are {got} (height x width x channels) but the model takes "
            f"{height} x {width} x {channels}; resize them first, or pass an image folder "
            "(resized as keras.utils.image_dataset_from_directory does)"
        )
    return x if len(spec.per_row) == 3 else x[..., 0]


def statistic_names(channels: int, stored_sizes: bool) -> list[str]:
    """Name the per-image statistics: mean intensity per channel, then the stored size."""
    means = (
        ["mean_intensity"]
        if channels == 1
        else [f"mean_intensity_{c}" for c in ("red", "green", "blue", "alpha")[:channels]]
        if channels <= 4
        else [f"mean_intensity_{i}" for i in range(channels)]
    )
    return means + (["height", "width", "aspect_ratio"] if stored_sizes else [])


def statistics(images: np.ndarray, sizes: np.ndarray | None) -> np.ndarray:
    """Return each image's statistics (`statistic_names`) as float32 (n, k)."""
    x = images[..., None] if images.ndim == 3 else images
    means = x.mean(axis=(1, 2), dtype=np.float64)
    if sizes is None:
        return means.astype(np.float32)
    size = np.asarray(sizes, dtype=np.float64)
    aspect = size[:, 1] / np.maximum(size[:, 0], 1)
    return np.column_stack([means, size, aspect]).astype(np.float32)
