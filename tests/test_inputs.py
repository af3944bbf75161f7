"""Model inputs by name, shape and dtype; the input kind; and the batches that feed them."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.loading.data import ReadOptions, SplitReader
from auditor.loading.inputs import InputSpec, dtype_name, input_kind, table_feed


@pytest.mark.parametrize(
    ("specs", "kind"),
    [
        ([InputSpec("x", (None, 4))], "table"),
        ([InputSpec("a", (None, 1)), InputSpec("b", (None, 1), "string")], "table"),
        ([InputSpec("pixels", (None, 8, 8, 1))], "image"),
        ([InputSpec("pixels", (None, 28, 28))], "image"),
        ([InputSpec("review", (None,), "string")], "text"),
        ([InputSpec("review", (None, 1), "string")], "text"),
        ([InputSpec("code", (None, 1), "int64")], "table"),
    ],
)
def test_input_kind_follows_shape_and_dtype(specs, kind):
    assert input_kind(specs) == kind


def test_dtype_names_are_plain():
    assert dtype_name("float32") == "float32"
    assert dtype_name("string") == "string"
    assert dtype_name(np.dtype("int64")) == "int64"


def test_table_feed_gives_one_column_per_named_input_in_its_dtype():
    table = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
    specs = (InputSpec("c", (None, 1), "int64"), InputSpec("a", (None,)))
    feed = table_feed(table, ("a", "b", "c"), specs, named=True)
    assert set(feed) == {"a", "c"}
    assert feed["c"].dtype == np.int64 and feed["c"].shape == (2, 1)
    np.testing.assert_array_equal(feed["c"][:, 0], [3, 6])
    assert feed["a"].shape == (2,)  # a (None,) input takes one value per row, unwrapped
    assert table_feed(table, ("a", "b", "c"), specs, named=False) is table


def test_batches_carry_the_model_feed_and_the_numeric_table(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("age,income,label\n1,10,0\n2,20,1\n3,30,0\n")
    specs = (InputSpec("income", (None, 1)), InputSpec("age", (None, 1)))
    options = ReadOptions(feature_names=("income", "age"), inputs=specs, named_inputs=True)
    (batch,) = list(SplitReader("val", path, options).batches())
    assert len(batch) == 3
    np.testing.assert_array_equal(batch.table, [[10, 1], [20, 2], [30, 3]])
    np.testing.assert_array_equal(batch.x["income"], [[10], [20], [30]])
    np.testing.assert_array_equal(batch.x["age"], [[1], [2], [3]])
    np.testing.assert_array_equal(batch.rows, [0, 1, 2])


@pytest.mark.slow
def test_loading_describes_image_and_named_inputs_and_a_table_for_images_is_refused(tmp_path):
    import keras

    from auditor.errors import DataError
    from auditor.evaluate import evaluate
    from auditor.loading.model import load_model

    image = keras.Sequential(
        [
            keras.Input((8, 8, 1), name="pixels"),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    image.save(tmp_path / "cnn.keras")
    loaded = load_model(tmp_path / "cnn.keras")
    facts = loaded.info.to_dict()
    assert facts["input_kind"] == "image"
    assert facts["input_shape"] == [None, 8, 8, 1]
    assert facts["input_dtypes"] == {"pixels": "float32"}
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 64), np.float32), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"takes images of shape \(None, 8, 8, 1\), but the train"):
        evaluate(loaded, {"train": tmp_path / "d.npz", "val": tmp_path / "d.npz"})

    inputs = [
        keras.Input((1,), name="age"),
        keras.Input((1,), name="city", dtype="string"),
        keras.Input((1,), name="rooms", dtype="int64"),
    ]
    city = keras.layers.StringLookup(vocabulary=["Oslo", "Rome"], output_mode="one_hot")
    rooms = keras.layers.IntegerLookup(vocabulary=[1, 2, 3], output_mode="one_hot")
    joined = keras.layers.Concatenate()([inputs[0], city(inputs[1]), rooms(inputs[2])])
    named = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(joined))
    named.save(tmp_path / "named.keras")
    info = load_model(tmp_path / "named.keras").info
    assert info.input_kind == "table" and info.named_inputs
    assert info.input_dtypes == {"age": "float32", "city": "string", "rooms": "int64"}
    assert info.to_dict()["input_names"] == ["age", "city", "rooms"]
