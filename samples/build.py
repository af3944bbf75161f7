"""Builds the bundled sample models and their splits, deterministically, into samples/build/.

Usage: python samples/build.py [--out samples/build] [--force] [NAME ...]

Samples (each a folder with model.keras, train.csv, val.csv and sometimes test.csv):
  healthy      breast-cancer data (scikit-learn), small L2-regularized MLP: generalizes.
  fraud        synthetic 2%-positive "fraud" data, trained without class weights:
               high accuracy, low recall (the accuracy paradox).
  overfit      200 training rows with 60 mostly-noise features, a wide unregularized MLP trained
               long: a large train/val loss gap.
  multiclass   handwritten digits (scikit-learn), 10 classes, softmax MLP.
  overregularized  breast-cancer data with L2 = 5 on every layer: under-fits.
  mixed        Palmer penguins (the CSV the palmerpenguins package ships: text, integer and
               decimal columns), the keras.io structured-data pattern: one named input per
               column, StringLookup/IntegerLookup inside the model; predicts sex: generalizes.
  image        handwritten digits (scikit-learn) as an image folder of 8 x 8 grayscale PNGs (one
               sub-folder per class, as keras.utils.image_dataset_from_directory reads them) under
               train/ and val/, and a small CNN: generalizes.
  text         generated product reviews (a fixed word list, seeded), one string input with
               TextVectorization inside the model; predicts the positive ones: generalizes.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, make_classification  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 1234


def _keras():
    from auditor.loading.keras_env import import_keras

    tf, keras = import_keras()  # quietly: without TensorFlow's start-up banners

    # A fresh session names layers and optimizers from scratch ("adam", not "adam_3"), so that a
    # sample is the same whether it is built alone or after others in one process.
    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")
    return keras


def _frame(x: np.ndarray, y: np.ndarray, names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(x, columns=names)
    frame["label"] = y.astype(int)
    return frame


def _write(
    out: Path, model, splits: dict[str, tuple[np.ndarray, np.ndarray]], names: list[str]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split, (x, y) in splits.items():
        _frame(x, y, names).to_csv(out / f"{split}.csv", index=False, float_format="%.6g")
    model.save(out / "model.keras")


def _mlp(
    keras, x_train: np.ndarray, hidden: list[int], outputs: int, reg=None, dropout: float = 0.0
):
    # Fixed statistics instead of adapt(): same layer, no tf.data pipeline (and its log noise).
    norm = keras.layers.Normalization(
        mean=x_train.mean(axis=0), variance=x_train.var(axis=0), name="standardize"
    )
    inputs = keras.Input((x_train.shape[1],), name="features")
    h = norm(inputs)
    for i, units in enumerate(hidden):
        h = keras.layers.Dense(
            units, activation="relu", kernel_regularizer=reg() if reg else None, name=f"dense_{i}"
        )(h)
        if dropout:
            h = keras.layers.Dropout(dropout, name=f"dropout_{i}")(h)
    activation = "sigmoid" if outputs == 1 else "softmax"
    out = keras.layers.Dense(
        outputs, activation=activation, kernel_regularizer=reg() if reg else None, name="output"
    )(h)
    return keras.Model(inputs, out, name="mlp")


def _cancer():
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    x, y = data.data.astype(np.float32), data.target
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, random_state=SEED, stratify=y
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=SEED, stratify=y_rest
    )
    return names, (x_train, y_train), (x_val, y_val), (x_test, y_test)


def build_healthy(out: Path) -> None:
    keras = _keras()
    names, train, val, test = _cancer()
    model = _mlp(keras, train[0], [16], 1, reg=lambda: keras.regularizers.L2(1e-3))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    out.mkdir(parents=True, exist_ok=True)
    history = keras.callbacks.CSVLogger(str(out / "history.csv"))
    model.fit(*train, epochs=80, batch_size=32, verbose=0, validation_data=val, callbacks=[history])
    _write(out, model, {"train": train, "val": val, "test": test}, names)


def build_overregularized(out: Path) -> None:
    keras = _keras()
    names, train, val, _ = _cancer()
    model = _mlp(keras, train[0], [16], 1, reg=lambda: keras.regularizers.L2(5.0))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(*train, epochs=80, batch_size=32, verbose=0)
    _write(out, model, {"train": train, "val": val}, names)


def build_fraud(out: Path) -> None:
    keras = _keras()
    x, y = make_classification(
        n_samples=20_000,
        n_features=12,
        n_informative=4,
        n_redundant=2,
        weights=[0.98],
        class_sep=1.5,
        flip_y=0.0,
        random_state=SEED,
    )
    names = [f"txn_{i}" for i in range(x.shape[1])]
    x_train, x_val, y_train, y_val = train_test_split(
        x.astype(np.float32), y, test_size=0.3, random_state=SEED, stratify=y
    )
    model = _mlp(keras, x_train, [8], 1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x_train, y_train, epochs=30, batch_size=256, verbose=0)
    _write(out, model, {"train": (x_train, y_train), "val": (x_val, y_val)}, names)


def build_overfit(out: Path) -> None:
    keras = _keras()
    x, y = make_classification(
        n_samples=1_200,
        n_features=60,
        n_informative=5,
        n_redundant=0,
        flip_y=0.05,
        class_sep=1.0,
        random_state=SEED,
    )
    names = [f"f{i:02d}" for i in range(x.shape[1])]
    x_train, x_val, y_train, y_val = train_test_split(
        x.astype(np.float32), y, train_size=200, random_state=SEED, stratify=y
    )
    model = _mlp(keras, x_train, [128, 128], 1)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x_train, y_train, epochs=200, batch_size=32, verbose=0)
    _write(out, model, {"train": (x_train, y_train), "val": (x_val, y_val)}, names)


def build_multiclass(out: Path) -> None:
    keras = _keras()
    data = load_digits()
    names = [f"px_{i:02d}" for i in range(data.data.shape[1])]
    x, y = data.data.astype(np.float32), data.target
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, random_state=SEED, stratify=y
    )
    model = _mlp(keras, x_train, [64], 10, reg=lambda: keras.regularizers.L2(1e-4), dropout=0.2)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
    _write(out, model, {"train": (x_train, y_train), "val": (x_val, y_val)}, names)


PENGUIN_TEXT = ["species", "island"]
PENGUIN_NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def _penguins() -> pd.DataFrame:
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        raise SystemExit(
            "samples/build.py: the 'mixed' sample reads the Palmer penguins data the "
            "palmerpenguins package ships: pip install palmerpenguins (in the test extra)"
        ) from None
    frame = load_penguins().dropna(subset=["sex", *PENGUIN_NUMBERS]).reset_index(drop=True)
    frame["label"] = (frame.pop("sex") == "male").astype(int)  # 1: male
    return frame


def build_mixed(out: Path) -> None:
    keras = _keras()
    import tensorflow as tf

    frame = _penguins()
    train, rest = train_test_split(frame, test_size=0.4, random_state=SEED, stratify=frame["label"])
    val, test = train_test_split(rest, test_size=0.5, random_state=SEED, stratify=rest["label"])
    # keras.io's "structured data classification from scratch": one input per column, the
    # encoding inside the model, so that it takes the raw table.
    inputs, encoded = {}, []
    for name in PENGUIN_TEXT:
        inputs[name] = keras.Input((1,), name=name, dtype="string")
        lookup = keras.layers.StringLookup(
            vocabulary=sorted(train[name].unique()), output_mode="one_hot", name=f"{name}_lookup"
        )
        encoded.append(lookup(inputs[name]))
    inputs["year"] = keras.Input((1,), name="year", dtype="int64")
    years = keras.layers.IntegerLookup(
        vocabulary=sorted(int(v) for v in train["year"].unique()),
        output_mode="one_hot",
        name="year_lookup",
    )
    encoded.append(years(inputs["year"]))
    for name in PENGUIN_NUMBERS:
        inputs[name] = keras.Input((1,), name=name)
        column = train[name].to_numpy(np.float64)
        norm = keras.layers.Normalization(
            mean=column.mean(), variance=column.var(), name=f"{name}_norm"
        )
        encoded.append(norm(inputs[name]))
    h = keras.layers.Concatenate(name="features")(encoded)
    h = keras.layers.Dense(
        16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3), name="dense_0"
    )(h)
    h = keras.layers.Dropout(0.2, name="dropout_0")(h)
    output = keras.layers.Dense(1, activation="sigmoid", name="output")(h)
    model = keras.Model(inputs, output, name="penguins")
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )

    def dataset(part: pd.DataFrame):
        # Keras' fit takes text only through tf.data (NumPy string arrays are refused).
        columns = {
            name: part[[name]].to_numpy(str if name in PENGUIN_TEXT else None) for name in inputs
        }
        rows = tf.data.Dataset.from_tensor_slices((columns, part["label"].to_numpy()))
        return rows.shuffle(len(part), seed=SEED).batch(32)

    model.fit(dataset(train), epochs=80, verbose=0, shuffle=False)  # shuffled by tf.data
    out.mkdir(parents=True, exist_ok=True)
    for split, part in {"train": train, "val": val, "test": test}.items():
        part.to_csv(out / f"{split}.csv", index=False, float_format="%.6g")
    model.save(out / "model.keras")


def write_image_folder(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write uint8 IMAGES (n, h, w) as PNGs in one sub-folder per label: FOLDER/3/00012.png."""
    from PIL import Image

    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        target = folder / str(int(label))
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(target / f"{i:05d}.png")


def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as uint8 8 x 8 images (0-16 scaled to 0-255) and their labels."""
    data = load_digits()
    images = np.round(data.images * (255 / 16)).astype(np.uint8)
    return images, data.target


def small_cnn(keras, outputs: int = 10, filters: int = 8, dense: int = 32, dropout: float = 0.0):
    """A small CNN on 8 x 8 grayscale images with 0-255 pixels."""
    inputs = keras.Input((8, 8, 1), name="image")
    h = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    h = keras.layers.Conv2D(filters, 3, activation="relu", padding="same", name="conv")(h)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    if dropout:
        h = keras.layers.Dropout(dropout, name="dropout")(h)
    h = keras.layers.Dense(dense, activation="relu", name="dense")(h)
    out = keras.layers.Dense(outputs, activation="softmax", name="output")(h)
    return keras.Model(inputs, out, name="cnn")


def build_image(out: Path) -> None:
    keras = _keras()
    images, y = _digit_images()
    x_train, x_val, y_train, y_val = train_test_split(
        images, y, test_size=0.3, random_state=SEED, stratify=y
    )
    model = small_cnn(keras, dropout=0.3)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train[..., None].astype(np.float32), y_train, epochs=20, batch_size=32, verbose=0)
    out.mkdir(parents=True, exist_ok=True)
    write_image_folder(out / "train", x_train, y_train)
    write_image_folder(out / "val", x_val, y_val)
    model.save(out / "model.keras")


REVIEW_GOOD = "great lovely excellent sturdy superb handy comfortable reliable".split()
REVIEW_BAD = "awful poor broken flimsy dull useless noisy faulty".split()
REVIEW_FILLER = (
    "the a it was and i this very really quite my box arrived product after week use kitchen "
    "price delivery color size fits works daughter gift bought again would"
).split()


def _reviews(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Generated reviews: filler words and sentiment words, some mixed, some with typos."""
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = [*rng.choice(REVIEW_FILLER, rng.integers(6, 20)), *rng.choice(
            REVIEW_GOOD if label else REVIEW_BAD, rng.integers(1, 3)
        )]  # fmt: skip
        if rng.random() < 0.3:  # a mixed review: a word of the other side
            words.append(str(rng.choice(REVIEW_BAD if label else REVIEW_GOOD)))
        rng.shuffle(words)
        texts.append(" ".join(str(w) for w in words).capitalize() + rng.choice([".", "!", ""]))
    return pd.DataFrame({"review": texts, "label": labels})


def build_text(out: Path) -> None:
    keras = _keras()
    import tensorflow as tf

    frame = _reviews(3_000, np.random.default_rng(SEED))
    train, rest = train_test_split(frame, test_size=0.4, random_state=SEED, stratify=frame["label"])
    val, test = train_test_split(rest, test_size=0.5, random_state=SEED, stratify=rest["label"])
    texts = train["review"].to_numpy(str)
    vectorize = keras.layers.TextVectorization(
        max_tokens=2_000, output_mode="multi_hot", name="vectorize"
    )
    vectorize.adapt(tf.constant(texts))
    inputs = keras.Input((1,), dtype="string", name="review")
    h = keras.layers.Dense(
        16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3), name="dense_0"
    )(vectorize(inputs))
    output = keras.layers.Dense(1, activation="sigmoid", name="output")(h)
    model = keras.Model(inputs, output, name="reviews")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    rows = tf.data.Dataset.from_tensor_slices((texts.reshape(-1, 1), train["label"].to_numpy()))
    model.fit(rows.shuffle(len(train), seed=SEED).batch(32), epochs=20, verbose=0, shuffle=False)
    out.mkdir(parents=True, exist_ok=True)
    for split, part in {"train": train, "val": val, "test": test}.items():
        part.to_csv(out / f"{split}.csv", index=False)
    model.save(out / "model.keras")


BUILDERS: dict[str, Callable[[Path], None]] = {
    "healthy": build_healthy,
    "fraud": build_fraud,
    "overfit": build_overfit,
    "multiclass": build_multiclass,
    "overregularized": build_overregularized,
    "mixed": build_mixed,
    "image": build_image,
    "text": build_text,
}


def _stamp() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", help=f"samples to build: {', '.join(BUILDERS)} (default: all)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "build")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BUILDERS]
    if unknown:
        parser.error(f"unknown sample(s) {', '.join(unknown)}; choose from {', '.join(BUILDERS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(BUILDERS):
        target = args.out / name
        stamp = target / ".stamp"
        # One builder at a time per sample: parallel test workers wait for it, then reuse it.
        with open(args.out / f".{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not args.force and stamp.exists() and stamp.read_text() == _stamp():
                print(f"sample '{name}' is up to date in {target}", file=sys.stderr)
                continue
            print(f"building sample '{name}' in {target}", file=sys.stderr)
            stamp.unlink(missing_ok=True)
            BUILDERS[name](target)
            stamp.write_text(_stamp())
    return 0


if __name__ == "__main__":
    sys.exit(main())
