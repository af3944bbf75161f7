"""NPZ splits: arrays `x` and `y`, optionally `feature_names`; no pickle.

`x` is (rows, features) for a table, or (images, height, width[, channels]) for images.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from auditor.errors import DataError
from auditor.loading.readers._arrays import ArrayShard, ImageArrayShard, is_image_array


class NpzReader:
    """An NPZ file, loaded whole (NPZ cannot be read in part); one shard."""

    format: ClassVar[str] = "npz"
    separate_labels = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._arrays: dict[str, np.ndarray] | None = None

    @property
    def kind(self) -> str:
        """What `x` holds: "image" for (n, height, width[, channels]), else "table"."""
        return "image" if is_image_array(self._load()["x"]) else "table"

    def describe(self) -> str:
        """Say how the split was read, for the report."""
        shape = " x ".join(str(d) for d in self._load()["x"].shape[1:])
        return f"NPZ array x of {shape} images, fed to the model as stored (not resized)"

    def image(self, row: int) -> np.ndarray:
        """Return the image of ROW as stored."""
        return np.asarray(self._load()["x"][row], dtype=np.float32)

    def name(self, row: int) -> str | None:
        """Images of an array have no file name."""
        return None

    def columns(self) -> list[str]:
        """Return `feature_names` if the file has them, else x0, x1, ... (none for images)."""
        x = self._load()["x"]
        if is_image_array(x):
            return []
        names = self._load().get("feature_names")
        if names is not None:
            cols = [str(n) for n in names]
            if len(cols) != x.shape[1]:
                raise DataError(
                    f"{self.path}: feature_names has {len(cols)} names "
                    f"for {x.shape[1]} columns of x"
                )
            return cols
        return [f"x{i}" for i in range(x.shape[1])]

    def shards(
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> list[ArrayShard] | list[ImageArrayShard]:
        """Return the whole file as one shard; DataError when x is not numeric or boolean."""
        if text:
            raise DataError(
                f"{self.path}: the model takes text input(s) {', '.join(text)}, and an NPZ "
                "holds numbers only (auditor loads no pickled objects); use CSV or Parquet"
            )
        arrays = self._load()
        x, y = arrays["x"], arrays["y"]
        if not np.issubdtype(x.dtype, np.number) and x.dtype != np.bool_:
            raise DataError(f"{self.path}: array x has non-numeric dtype {x.dtype}")
        if is_image_array(x):
            return [ImageArrayShard(x, y, batch_rows)]
        columns = self.columns()
        return [ArrayShard(x, y, [columns.index(f) for f in features], batch_rows)]

    def _load(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = self._read()
        return self._arrays

    def _read(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except ValueError as exc:
            if "pickle" in str(exc):
                raise DataError(
                    f"{self.path}: the NPZ holds object arrays that need pickle, which auditor "
                    "refuses to load (it can run code); save plain numeric arrays x and y"
                ) from None
            raise DataError(f"{self.path}: not a readable NPZ file ({exc})") from None
        except (OSError, EOFError) as exc:
            raise DataError(f"{self.path}: not a readable NPZ file ({exc})") from None
        missing = [k for k in ("x", "y") if k not in arrays]
        if missing:
            raise DataError(
                f"{self.path}: the NPZ lacks array(s) {', '.join(missing)}; it holds "
                f"{', '.join(sorted(arrays)) or 'nothing'} (expected x: features, y: labels)"
            )
        x = arrays["x"]
        if x.ndim not in (2, 3, 4):
            raise DataError(
                f"{self.path}: array x has shape {x.shape}; expected (rows, features) or "
                "(images, height, width[, channels])"
            )
        if len(arrays["y"]) != len(x):
            raise DataError(
                f"{self.path}: x has {len(x)} rows but y has {len(arrays['y'])}; they must match"
            )
        return arrays
