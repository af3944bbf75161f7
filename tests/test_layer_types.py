"""Regularization reading and advice for layers beyond Dense: convolutions, embeddings, RNNs."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import evaluation, split_with_metrics

from auditor.facts.weights import analyse_weights
from auditor.loading.architecture import Architecture, LayerFacts, Penalty
from auditor.regularization import nice, recommend
from auditor.rules import load_rule_set, run_rules


def _kernel(shape, seed=0):
    return np.random.default_rng(seed).normal(scale=0.3, size=shape).astype(np.float32)


def _overfit(arch, features=("a", "b", "c")):
    ev = evaluation(
        {
            "train": split_with_metrics("train", loss=0.10),
            "val": split_with_metrics("val", loss=0.60),
        },
        arch=arch,
    )
    ev = type(ev)(**{**ev.__dict__, "features": tuple(features)})
    results = run_rules(ev, load_rule_set())
    assert any(r.rule.id == "OF01" and r.status == "failed" for r in results)
    return recommend(ev, results)


def _out(units_in):
    return LayerFacts("out", "Dense", units=1, activation="sigmoid", kernel=_kernel((units_in, 1)))


def _squares(*arrays):
    return float(sum((a.astype(np.float64) ** 2).sum() for a in arrays))


CONV = LayerFacts(
    "conv",
    "Conv2D",
    activation="relu",
    filters=4,
    kernel_size=(3, 3),
    kernel=_kernel((3, 3, 1, 4)),
)
HIDDEN = LayerFacts("hidden", "Dense", units=8, activation="relu", kernel=_kernel((36, 8), 1))


def test_overfit_cnn_gets_l2_on_conv_and_hidden_dense_with_spatial_dropout():
    arch = Architecture(
        layers=(CONV, LayerFacts("flat", "Flatten"), HIDDEN, _out(8)), config_readable=True
    )
    recs = _overfit(arch)
    top = recs[0]
    assert top.action == "increase_l2"
    assert top.layers == ("conv", "hidden")  # the output layer is left alone
    from_gap = 0.5 * 0.5 / _squares(CONV.kernel, HIDDEN.kernel)
    l2 = nice(from_gap)
    assert top.suggested == {"conv": {"l1": 0.0, "l2": l2}, "hidden": {"l1": 0.0, "l2": l2}}
    strength = f"{l2:.0e}".replace("e-0", "e-") if l2 < 0.1 else f"{l2:g}"
    assert top.snippet == (
        "import keras\n\n"
        'keras.layers.Conv2D(4, (3, 3), activation="relu", name="conv",\n'
        f"    kernel_regularizer=keras.regularizers.L1L2(l1=0, l2={strength}))\n"
        'keras.layers.Dense(8, activation="relu", name="hidden",\n'
        f"    kernel_regularizer=keras.regularizers.L1L2(l1=0, l2={strength}))"
    )
    assert "SpatialDropout2D(0.1-0.2) after the convolution blocks" in top.reason
    assert "Dropout(0.2-0.5) after the hidden dense layers" in top.reason


def test_conv1d_and_conv3d_snippets_name_their_class_and_kernel_size():
    c1 = LayerFacts("c1", "Conv1D", filters=6, kernel_size=(5,), kernel=_kernel((5, 2, 6)))
    c3 = LayerFacts(
        "c3", "Conv3D", filters=2, kernel_size=(2, 2, 2), kernel=_kernel((2, 2, 2, 1, 2))
    )
    for layer, call in (
        (c1, 'keras.layers.Conv1D(6, 5, name="c1",\n    kernel_regularizer='),
        (c3, 'keras.layers.Conv3D(2, (2, 2, 2), name="c3",\n    kernel_regularizer='),
    ):
        arch = Architecture(layers=(layer, HIDDEN, _out(8)), config_readable=True)
        top = _overfit(arch)[0]
        assert call in top.snippet
        assert f"SpatialDropout{layer.class_name[-2:]}(0.1-0.2)" in top.reason


def test_embedding_is_regularized_through_embeddings_regularizer():
    emb = LayerFacts(
        "emb", "Embedding", input_dim=50, output_dim=4, kernel=_kernel((50, 4)), dropout_rate=None
    )
    drop = LayerFacts("drop", "Dropout", dropout_rate=0.3)
    arch = Architecture(
        layers=(emb, LayerFacts("pool", "GlobalAveragePooling1D"), drop, HIDDEN, _out(8)),
        config_readable=True,
    )
    top = _overfit(arch)[0]
    assert top.layers == ("emb", "hidden")
    assert 'keras.layers.Embedding(50, 4, name="emb",\n    embeddings_regularizer=' in top.snippet
    assert "kernel_regularizer=keras.regularizers" not in top.snippet.split("\n")[3]
    assert "no dropout" not in top.reason  # the Dropout layer counts


def test_lstm_gets_kernel_and_recurrent_l2_and_rnn_dropout():
    lstm = LayerFacts(
        "lstm",
        "LSTM",
        units=8,
        activation="tanh",
        kernel=_kernel((4, 32)),
        recurrent_kernel=_kernel((8, 32), 2),
        recurrent_dropout=0.0,
        dropout_rate=0.0,
    )
    arch = Architecture(layers=(lstm, _out(8)), config_readable=True)
    top = _overfit(arch)[0]
    # One weighted layer before the output: it alone is regularized (and not by feature mass).
    assert top.layers == ("lstm",)
    l2 = nice(0.5 * 0.5 / _squares(lstm.kernel, lstm.recurrent_kernel))
    assert top.suggested == {"lstm": {"l1": 0.0, "l2": l2, "recurrent_l2": l2}}
    strength = f"{l2:.0e}".replace("e-0", "e-") if l2 < 0.1 else f"{l2:g}"
    assert top.snippet == (
        "import keras\n\n"
        'keras.layers.LSTM(8, name="lstm",\n'
        f"    kernel_regularizer=keras.regularizers.L1L2(l1=0, l2={strength}),\n"
        f"    recurrent_regularizer=keras.regularizers.L1L2(l1=0, l2={strength}),\n"
        "    dropout=0.2, recurrent_dropout=0.2)"
    )
    assert "dropout=0.2 and recurrent_dropout=0.2 on the recurrent layers" in top.reason
    assert "recurrent kernel of 'lstm'" in top.reason


@pytest.mark.parametrize("cls", ["GRU", "SimpleRNN"])
def test_gru_and_simplernn_with_dropout_get_no_dropout_advice(cls):
    rnn = LayerFacts(
        "rnn",
        cls,
        units=3,
        kernel=_kernel((2, 9)),
        recurrent_kernel=_kernel((3, 9)),
        dropout_rate=0.1,
        recurrent_dropout=0.25,
    )
    top = _overfit(Architecture(layers=(rnn, _out(3)), config_readable=True))[0]
    assert top.snippet.startswith(f'import keras\n\nkeras.layers.{cls}(3, name="rnn",')
    assert "recurrent_dropout=" not in top.snippet and "no dropout" not in top.reason


def test_underfit_rnn_with_strong_recurrent_penalty_is_decreased_on_both_kernels():
    rnn = LayerFacts(
        "gru",
        "GRU",
        units=3,
        kernel_regularizer=Penalty(l2=0.5),
        recurrent_regularizer=Penalty(l1=0.02, l2=2.0),
        kernel=_kernel((2, 9)),
        recurrent_kernel=_kernel((3, 9)),
    )
    arch = Architecture(layers=(rnn, _out(3)), config_readable=True)
    base = split_with_metrics("train")
    near = base.baseline["log_loss"] * 0.98
    splits = {
        "train": split_with_metrics("train", loss=near, log_loss=near),
        "val": split_with_metrics("val", loss=near, log_loss=near),
    }
    ev = evaluation(splits, arch=arch, penalty=0.05)
    results = run_rules(ev, load_rule_set())
    top = recommend(ev, results)[0]
    assert top.action == "decrease_regularization"
    assert top.current == {"gru": {"l1": 0.0, "l2": 0.5, "recurrent_l1": 0.02, "recurrent_l2": 2.0}}
    assert top.suggested == {
        "gru": {"l1": 0.0, "l2": 0.01, "recurrent_l1": 2e-3, "recurrent_l2": 0.01}
    }
    assert "'gru' L2 0.5 → 1e-2, recurrent L1 2e-2 → 2e-3, recurrent L2 2 → 1e-2" in top.reason
    assert "recurrent_regularizer=keras.regularizers.L1L2(l1=2e-3, l2=1e-2)" in top.snippet


def test_over_regularization_sees_a_recurrent_only_penalty():
    rnn = LayerFacts(
        "gru",
        "GRU",
        units=3,
        recurrent_regularizer=Penalty(l2=5.0),
        kernel=_kernel((2, 9)),
        recurrent_kernel=_kernel((3, 9)),
    )
    arch = Architecture(layers=(rnn, _out(3)), config_readable=True)
    ev = evaluation(
        {"train": split_with_metrics("train"), "val": split_with_metrics("val")},
        arch=arch,
        penalty=0.01,
    )
    result = next(r for r in run_rules(ev, load_rule_set()) if r.rule.kind == "over_regularization")
    assert "no L1/L2 weight penalty" not in result.message


def test_feature_mass_only_for_a_dense_first_layer_on_named_features():
    dense = LayerFacts("d", "Dense", units=2, kernel=np.array([[1.0, 0], [3.0, 0]], np.float32))
    emb = LayerFacts("e", "Embedding", kernel=np.ones((2, 2), np.float32))
    named = analyse_weights(Architecture((dense,), True), ("a", "b"))
    assert named.feature_mass == {"a": 0.25, "b": 0.75}
    # The same matrix as an Embedding's table: its rows are tokens, not features.
    assert analyse_weights(Architecture((emb,), True), ("a", "b")).feature_mass == {}
    # Pixels or tokens without names: no mass either.
    assert analyse_weights(Architecture((dense,), True), ()).feature_mass == {}


def test_weight_analysis_of_a_recurrent_layer_counts_both_kernels():
    kernel = np.array([[3.0, -4.0]], np.float32)
    recurrent = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    rnn = LayerFacts("r", "SimpleRNN", units=2, kernel=kernel, recurrent_kernel=recurrent)
    conv = LayerFacts("c", "Conv2D", kernel=np.full((2, 2, 1, 1), 0.5, np.float32))
    stats = {w.name: w for w in analyse_weights(Architecture((rnn, conv), True), ()).layers}
    assert (stats["r"].n_weights, stats["r"].l2_norm, stats["r"].l1_norm) == (2, 5.0, 7.0)
    assert (stats["r"].recurrent_n_weights, stats["r"].recurrent_l2_norm) == (4, 1.0)
    assert stats["r"].penalized_squares == 26.0
    assert (stats["c"].n_weights, stats["c"].l1_norm, stats["c"].recurrent_n_weights) == (
        4,
        2.0,
        None,
    )


def _reg(l1, l2):
    import keras

    return keras.regularizers.L1L2(l1=l1, l2=l2)


def _models():
    """Small models of each layer type with distinct regularizer strengths, and what to read."""
    import keras

    models = []
    for cls, shape, args in (
        ("Conv1D", (12, 2), (3, 3)),
        ("Conv2D", (6, 6, 1), (4, (3, 2))),
        ("Conv3D", (4, 4, 4, 1), (2, (2, 2, 2))),
    ):
        inputs = keras.Input(shape)
        h = getattr(keras.layers, cls)(
            *args,
            activation="relu",
            name="conv",
            kernel_regularizer=_reg(1e-4, 2e-3),
            bias_regularizer=_reg(0, 3e-5),
            activity_regularizer=_reg(4e-6, 0),
        )(inputs)
        out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(h))
        models.append((cls, keras.Model(inputs, out)))
    inputs = keras.Input((7,), dtype="int32")
    h = keras.layers.Embedding(
        30,
        5,
        name="conv",
        embeddings_regularizer=_reg(1e-4, 2e-3),
        activity_regularizer=_reg(4e-6, 0),
    )(inputs)
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling1D()(h))
    models.append(("Embedding", keras.Model(inputs, out)))
    for cls in ("LSTM", "GRU", "SimpleRNN"):
        inputs = keras.Input((5, 3))
        h = getattr(keras.layers, cls)(
            4,
            name="conv",
            kernel_regularizer=_reg(1e-4, 2e-3),
            recurrent_regularizer=_reg(7e-5, 6e-3),
            bias_regularizer=_reg(0, 3e-5),
            activity_regularizer=_reg(4e-6, 0),
            dropout=0.15,
            recurrent_dropout=0.35,
        )(inputs)
        models.append((cls, keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))))
    return models


@pytest.mark.slow
def test_regularizers_of_every_layer_type_read_back_exactly_from_a_keras_file(tmp_path):
    import keras

    from auditor.loading.architecture import read_architecture

    for cls, model in _models():
        path = tmp_path / f"{cls}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        layer = next(f for f in read_architecture(loaded).layers if f.name == "conv")
        original = model.get_layer("conv")
        assert layer.class_name == cls
        assert (layer.kernel_regularizer.l1, layer.kernel_regularizer.l2) == pytest.approx(
            (1e-4, 2e-3), rel=1e-6
        ), cls
        if cls == "SimpleRNN":  # Keras 3 drops SimpleRNN's activity_regularizer argument
            assert original.activity_regularizer is None and layer.activity_regularizer is None
        else:
            assert layer.activity_regularizer.l1 == pytest.approx(4e-6, rel=1e-6), cls
        if cls == "Embedding":
            assert (layer.input_dim, layer.output_dim) == (30, 5)
            np.testing.assert_array_equal(layer.kernel, original.embeddings.numpy())
            continue
        assert layer.bias_regularizer.l2 == pytest.approx(3e-5, rel=1e-6), cls
        if cls.startswith("Conv"):
            assert layer.filters == original.filters
            assert layer.kernel_size == tuple(original.kernel_size)
            assert layer.recurrent_regularizer is None and layer.recurrent_kernel is None
            np.testing.assert_array_equal(layer.kernel, original.kernel.numpy())
            continue
        rec = layer.recurrent_regularizer
        assert (rec.l1, rec.l2) == pytest.approx((7e-5, 6e-3), rel=1e-6), cls
        assert (layer.dropout_rate, layer.recurrent_dropout) == pytest.approx((0.15, 0.35))
        assert layer.units == 4
        np.testing.assert_array_equal(layer.kernel, original.cell.kernel.numpy())
        np.testing.assert_array_equal(
            layer.recurrent_kernel, original.cell.recurrent_kernel.numpy()
        )
        as_json = layer.to_dict()
        assert as_json["recurrent_regularizer"]["l2"] == pytest.approx(6e-3)
        assert as_json["recurrent_kernel_shape"] == list(original.cell.recurrent_kernel.shape)


def test_optimizer_is_named_by_its_class_with_its_learning_rate(tmp_path):
    import keras

    from auditor.loading.architecture import read_architecture

    read = []
    for lr, decay in ((0.01, None), (3e-4, 0.004)):  # the second instance is Keras' "adamw_1"
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
        model.compile(keras.optimizers.AdamW(lr, weight_decay=decay or 0.0), "binary_crossentropy")
        model.save(tmp_path / "m.keras")
        read.append(read_architecture(keras.saving.load_model(tmp_path / "m.keras")))
    assert [(a.optimizer, a.learning_rate) for a in read] == [
        ("AdamW", pytest.approx(0.01)),
        ("AdamW", pytest.approx(3e-4)),
    ]
    assert read[0].weight_decay is None and read[1].weight_decay == pytest.approx(0.004)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    model.compile(keras.optimizers.SGD(schedule), "binary_crossentropy")
    assert read_architecture(model).to_dict()["learning_rate"] is None
    assert read_architecture(model).optimizer == "SGD"
