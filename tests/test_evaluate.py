"""Evaluation against Keras and scikit-learn on tiny models: every format, every metric."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from auditor.errors import DataError, ModelLoadError
from auditor.evaluate import evaluate
from auditor.loading.model import load_model
from auditor.options import AuditOptions

pytestmark = pytest.mark.slow


def _paths(tiny, fmt="csv"):
    return {"train": str(tiny.split("train", fmt)), "val": str(tiny.split("val", fmt))}


def test_binary_metrics_equal_sklearn_on_the_same_predictions(tiny_binary):
    ev = evaluate(load_model(tiny_binary.path("keras")), _paths(tiny_binary))
    val = ev.splits["val"]
    np.testing.assert_array_equal(val.y, tiny_binary.y_val)
    # The stored probabilities are the model's own predictions.
    expected = tiny_binary.model.predict(tiny_binary.x_val, verbose=0)[:, 0]
    np.testing.assert_allclose(val.proba[:, 1], expected, atol=1e-5)

    y, p = val.y, val.proba.astype(np.float64)
    pred = (p[:, 1] >= 0.5).astype(int)
    m = val.metrics
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-9)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=1e-9)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0), abs=1e-9)
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-9)
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-9)
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-9)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p[:, 1]), abs=1e-9)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p[:, 1]), abs=1e-9)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-9)
    assert m["brier_score_loss"] == pytest.approx(skm.brier_score_loss(y, p[:, 1]), abs=1e-9)
    assert val.confusion_matrix == skm.confusion_matrix(y, pred).tolist()
    assert val.class_counts == {"0": int((y == 0).sum()), "1": int((y == 1).sum())}


@pytest.mark.parametrize("fixture", ["tiny_binary", "tiny_multiclass"])
def test_loss_plus_penalty_equals_model_evaluate(fixture, request):
    tiny = request.getfixturevalue(fixture)
    loaded = load_model(tiny.path("keras"))
    ev = evaluate(loaded, _paths(tiny))
    assert ev.regularization_penalty is not None and ev.regularization_penalty > 0
    for name, x, y in (("train", tiny.x_train, tiny.y_train), ("val", tiny.x_val, tiny.y_val)):
        keras_loss = tiny.model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)[
            "loss"
        ]
        total = ev.splits[name].metrics["loss"] + ev.regularization_penalty
        assert total == pytest.approx(keras_loss, abs=1e-5)


def test_multiclass_metrics_equal_sklearn(tiny_multiclass):
    ev = evaluate(load_model(tiny_multiclass.path("keras")), _paths(tiny_multiclass))
    assert ev.task == "multiclass" and ev.classes == ("0", "1", "2")
    val = ev.splits["val"]
    y, p = val.y, val.proba.astype(np.float64)
    pred = p.argmax(axis=1)
    m = val.metrics
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-9)
    assert m["recall_macro"] == pytest.approx(skm.recall_score(y, pred, average="macro"), abs=1e-9)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr"), abs=1e-9)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), abs=1e-9)
    for c in range(3):
        per = m["per_class"][str(c)]
        assert per["recall"] == pytest.approx(skm.recall_score(y == c, pred == c), abs=1e-9)


@pytest.mark.parametrize("fmt", ["h5", "savedmodel"])
def test_every_model_format_gives_the_same_predictions(tiny_binary, fmt):
    reference = evaluate(load_model(tiny_binary.path("keras")), _paths(tiny_binary))
    other = evaluate(load_model(tiny_binary.path(fmt)), _paths(tiny_binary))
    assert other.model.format == fmt
    np.testing.assert_allclose(other.splits["val"].proba, reference.splits["val"].proba, atol=1e-5)
    assert other.splits["val"].metrics["accuracy"] == reference.splits["val"].metrics["accuracy"]


def test_savedmodel_says_what_it_cannot_read(tiny_binary):
    loaded = load_model(tiny_binary.path("savedmodel"))
    assert not loaded.architecture.config_readable
    assert "regularizers" in loaded.architecture.note
    assert loaded.info.parameter_count is None
    assert loaded.architecture.weighted_layers, "the weights of a SavedModel are still analysed"


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_every_data_format_gives_the_same_metrics(tiny_binary, fmt):
    reference = evaluate(load_model(tiny_binary.path("keras")), _paths(tiny_binary))
    other = evaluate(load_model(tiny_binary.path("keras")), _paths(tiny_binary, fmt))
    assert other.features == reference.features == tuple(tiny_binary.names)
    for name in ("train", "val"):
        ours, theirs = dict(other.splits[name].metrics), dict(reference.splits[name].metrics)
        ours.pop("per_class"), theirs.pop("per_class")
        assert ours == pytest.approx(theirs, abs=1e-6)
        for cls, values in other.splits[name].metrics["per_class"].items():
            assert values == pytest.approx(
                reference.splits[name].metrics["per_class"][cls], abs=1e-6
            )


def test_small_batches_stream_to_the_same_result(tiny_binary):
    whole = evaluate(load_model(tiny_binary.path("keras")), _paths(tiny_binary))
    model = load_model(tiny_binary.path("keras"))
    sizes: list[int] = []
    predict = model.predict_raw
    model.predict_raw = lambda x: sizes.append(len(x)) or predict(x)  # type: ignore[method-assign]
    streamed = evaluate(model, _paths(tiny_binary), AuditOptions(batch_rows=7))
    # 400 train rows then 200 val rows, seven at a time: the batches really were small.
    assert sizes == [7] * 57 + [1] + [7] * 28 + [4]
    np.testing.assert_allclose(streamed.splits["val"].proba, whole.splits["val"].proba, atol=1e-6)
    for name in ("train", "val"):
        ours, theirs = dict(streamed.splits[name].metrics), dict(whole.splits[name].metrics)
        ours_classes, theirs_classes = ours.pop("per_class"), theirs.pop("per_class")
        assert ours == pytest.approx(theirs, abs=1e-6)
        for cls, values in ours_classes.items():
            assert values == pytest.approx(theirs_classes[cls], abs=1e-6)


def test_named_inputs_are_matched_to_columns_by_name(tmp_path):
    import keras
    import pandas as pd

    keras.utils.set_random_seed(3)
    inputs = [keras.Input((1,), name=n) for n in ("income", "age")]
    h = keras.layers.Concatenate()(inputs)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inputs, out)
    model.compile(loss="binary_crossentropy")
    path = tmp_path / "named.keras"
    model.save(path)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.normal(size=50),
            "extra": 1.0,
            "income": rng.normal(size=50),
            "label": rng.integers(0, 2, 50),
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    ev = evaluate(
        load_model(path), {"train": str(tmp_path / "d.csv"), "val": str(tmp_path / "d.csv")}
    )
    assert ev.features == ("income", "age")
    expected = model.predict(
        {"income": frame[["income"]].to_numpy(), "age": frame[["age"]].to_numpy()}, verbose=0
    )[:, 0]
    np.testing.assert_allclose(ev.splits["val"].proba[:, 1], expected, atol=1e-6)


def test_logits_with_from_logits_loss_are_supported(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    path = tmp_path / "logits.keras"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    y = np.arange(30) % 3
    np.savez(tmp_path / "d.npz", x=x, y=y)
    loaded = load_model(path)
    assert loaded.info.output == "logits" and loaded.info.task == "multiclass"
    ev = evaluate(loaded, {"train": str(tmp_path / "d.npz"), "val": str(tmp_path / "d.npz")})
    logits = model.predict(x, verbose=0)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ev.splits["val"].proba, expected, atol=1e-6)
    keras_loss = model.evaluate(x, y, verbose=0)
    assert ev.splits["val"].metrics["loss"] == pytest.approx(keras_loss, abs=1e-5)


def test_unsupported_output_is_a_clear_error(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="relu")])
    path = tmp_path / "regressor.keras"
    model.save(path)
    with pytest.raises(ModelLoadError, match=r"activation 'relu' .* supports a sigmoid output"):
        load_model(path)
    linear = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    linear.compile(loss="mse")
    linear.save(tmp_path / "linear.keras")
    with pytest.raises(ModelLoadError, match=r"'linear' with 1 unit\(s\) \(a regression model\?\)"):
        load_model(tmp_path / "linear.keras")


def test_lambda_layer_needs_unsafe(tmp_path):
    import keras

    inputs = keras.Input((2,))
    out = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    )
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, out).save(path)
    with pytest.raises(ModelLoadError, match="pass --unsafe"):
        load_model(path)
    assert load_model(path, unsafe=True).info.task == "binary"


def test_trusted_lambda_may_use_keras_ops_and_numpy(tmp_path):
    """keras.io writes `Lambda(lambda t: keras.ops.tanh(t))`; loaded back, the bytecode finds no
    `keras`, the model cannot be built, and Keras calls it unbuilt. Under --unsafe it loads and
    predicts as the model in memory does."""
    import keras
    import numpy as np

    # Written at a script's top level, where `keras` and `np` are globals of the lambda's code
    # (inside this test they would be closure cells, which Keras stores otherwise).
    scope = {"keras": keras, "np": np}
    tanh, double = (
        eval("lambda t: keras.ops.tanh(t)", scope),
        eval("lambda t: t * np.float32(2)", scope),
    )
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    sequential = keras.Sequential([keras.layers.Lambda(tanh), keras.layers.Dense(1, "sigmoid")])
    sequential.build((None, 3))
    inputs = keras.Input((3,))
    functional = keras.Model(
        inputs,
        keras.layers.Dense(1, "sigmoid")(keras.layers.Lambda(double)(inputs)),
    )
    for name, model in (("sequential", sequential), ("functional", functional)):
        path = tmp_path / f"{name}.keras"
        model.save(path)
        loaded = load_model(path, unsafe=True)
        assert loaded.info.task == "binary", name
        np.testing.assert_allclose(
            loaded.keras_model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
        )


def test_feature_count_mismatch_names_the_columns(tiny_binary, tmp_path):
    import pandas as pd

    frame = pd.read_csv(tiny_binary.split("val"))
    frame["surplus"] = 0.0
    frame.to_csv(tmp_path / "val.csv", index=False)
    with pytest.raises(
        DataError, match=r"5 feature columns but the model takes 4 .*surplus.*--ignore"
    ):
        evaluate(
            load_model(tiny_binary.path("keras")),
            {"train": str(tiny_binary.split("train")), "val": str(tmp_path / "val.csv")},
        )


def test_a_missing_column_is_named_and_not_sent_to_ignore(tiny_binary, tmp_path):
    import pandas as pd

    frame = pd.read_csv(tiny_binary.split("val")).drop(columns=["gamma"])
    frame.to_csv(tmp_path / "val.csv", index=False)
    with pytest.raises(DataError) as caught:
        evaluate(
            load_model(tiny_binary.path("keras")),
            {"train": str(tiny_binary.split("train")), "val": str(tmp_path / "val.csv")},
        )
    message = str(caught.value)
    assert "3 feature columns but the model takes 4 features: missing gamma" in message
    assert "--ignore" not in message


def test_pandas_index_column_is_recognised_and_takes_pandas_name(tiny_binary, tmp_path):
    import pandas as pd

    for split in ("train", "val"):  # to_csv writes the index by default, without a name
        pd.read_csv(tiny_binary.split(split)).to_csv(tmp_path / f"{split}.csv")
    paths = {split: str(tmp_path / f"{split}.csv") for split in ("train", "val")}
    model = load_model(tiny_binary.path("keras"))
    with pytest.raises(
        DataError, match=r"column 'Unnamed: 0' has no name .* --ignore 'Unnamed: 0'"
    ):
        evaluate(model, paths)
    ignored = evaluate(model, paths, AuditOptions(ignore=["Unnamed: 0"]))
    reference = evaluate(model, _paths(tiny_binary))
    assert ignored.features == reference.features
    assert ignored.splits["train"].metrics == reference.splits["train"].metrics


def test_a_truncated_model_file_says_what_is_wrong(tiny_binary, tmp_path):
    for fmt, message in (("keras", "not a whole .keras archive"), ("h5", "truncated file")):
        cut = tmp_path / f"cut.{fmt}"
        cut.write_bytes(tiny_binary.path(fmt).read_bytes()[:2000])
        with pytest.raises(ModelLoadError, match=message):
            load_model(cut)
    other = tmp_path / "notes.h5"
    other.write_text("not a model at all")
    with pytest.raises(ModelLoadError, match="not an HDF5 file"):
        load_model(other)


def test_a_subclassed_model_is_refused_in_one_clear_line():
    import keras

    from auditor.api import audit

    class ChurnNet(keras.Model):
        def __init__(self):
            super().__init__()
            self.out = keras.layers.Dense(1, activation="sigmoid")

        def call(self, x):
            return self.out(x)

    data = (np.zeros((10, 3), np.float32), np.zeros(10, int))
    with pytest.raises(ModelLoadError, match="no defined inputs and outputs .* keras.Input"):
        audit(ChurnNet(), train=data, val=data)
