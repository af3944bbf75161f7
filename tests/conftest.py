"""Shared fixtures: tiny Keras models trained in the test session, saved in every format."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class TinyModel:
    """A trained tiny model, its splits as arrays, and the same splits written in each format."""

    model: object
    folder: Path
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    names: list[str]

    def path(self, fmt: str) -> Path:
        return {
            "keras": self.folder / "model.keras",
            "h5": self.folder / "model.h5",
            "savedmodel": self.folder / "saved",
        }[fmt]

    def split(self, name: str, fmt: str = "csv") -> Path:
        return self.folder / f"{name}.{fmt}"


def write_splits(
    folder: Path, names: list[str], splits: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    """Write each split as CSV, Parquet and NPZ with a `label` column / `y` array."""
    import pandas as pd

    for split, (x, y) in splits.items():
        frame = pd.DataFrame(x, columns=names)
        frame["label"] = y
        frame.to_csv(folder / f"{split}.csv", index=False)
        frame.to_parquet(folder / f"{split}.parquet", index=False)
        np.savez(folder / f"{split}.npz", x=x, y=y, feature_names=np.array(names))


def _data(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    if k == 2:
        y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.7, size=n) > 0).astype(np.int64)
    else:
        y = np.digitize(x[:, 0] + 0.3 * rng.normal(size=n), [-0.5, 0.5]).astype(np.int64)
    return x, y


def _tiny(folder: Path, k: int) -> TinyModel:
    import keras

    keras.utils.set_random_seed(7)
    x_train, y_train = _data(400, k, 1)
    x_val, y_val = _data(200, k, 2)
    names = ["alpha", "beta", "gamma", "delta"]
    inputs = keras.Input((4,), name="features")
    h = keras.layers.Dense(
        8,
        activation="relu",
        kernel_regularizer=keras.regularizers.L1L2(l1=1e-3, l2=1e-2),
        name="hidden",
    )(inputs)
    h = keras.layers.Dropout(0.25, name="drop")(h)
    if k == 2:
        out = keras.layers.Dense(1, activation="sigmoid", name="out")(h)
        loss = "binary_crossentropy"
    else:
        out = keras.layers.Dense(k, activation="softmax", name="out")(h)
        loss = "sparse_categorical_crossentropy"
    model = keras.Model(inputs, out, name=f"tiny{k}")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    model.export(str(folder / "saved"), verbose=False)
    write_splits(folder, names, {"train": (x_train, y_train), "val": (x_val, y_val)})
    return TinyModel(model, folder, x_train, y_train, x_val, y_val, names)


@pytest.fixture(scope="session")
def tiny_binary(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return _tiny(tmp_path_factory.mktemp("tiny_binary"), 2)


@pytest.fixture(scope="session")
def tiny_multiclass(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return _tiny(tmp_path_factory.mktemp("tiny_multiclass"), 3)
