"""Mixed-type tables: text columns read for named string inputs, coded for the data checks.

The readers and checks are tested without Keras: splits are written as CSV/Parquet (or given as
DataFrames), read by `SplitReader` with the inputs of a keras.io-style model (one named input per
column, strings for the text ones), and the batches' tables go through `RowFacts` as the local
engine feeds them. The end-to-end audit with a real model is marked slow.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import architecture, model_info, split_from_predictions

from auditor.errors import DataError
from auditor.evaluate import SPLIT_ORDER, Evaluation, add_facts
from auditor.facts.data import FAMILIES, category_drift
from auditor.facts.rows import RowFacts, matched, near_grid
from auditor.loading.categories import MISSING, code_of, encode
from auditor.loading.data import ReadOptions, SplitReader
from auditor.loading.inputs import InputSpec
from auditor.rules.kinds import KINDS
from auditor.rules.loader import load_rule_set

BINARY = ("0", "1")


def specs_of(frame: pd.DataFrame, label: str = "label") -> tuple[InputSpec, ...]:
    """One named input per column, as the keras.io structured-data example builds them."""
    kinds = {"O": "string", "i": "int64", "b": "string", "f": "float32"}
    return tuple(
        InputSpec(str(c), (None, 1), kinds.get(frame[c].dtype.kind, "string"))
        for c in frame.columns
        if c != label
    )


def options_for(frame: pd.DataFrame, **extra: Any) -> ReadOptions:
    specs = specs_of(frame)
    return ReadOptions(
        feature_names=tuple(s.name for s in specs), inputs=specs, named_inputs=True, **extra
    )


def read(source: Any, options: ReadOptions, name: str = "val") -> tuple[SplitReader, list[Any]]:
    reader = SplitReader(name, source, options)
    return reader, list(reader.batches())


def evaluation_of(
    frames: Mapping[str, pd.DataFrame], tmp_path: Path, batch_rows: int = 64
) -> Evaluation:
    """Write each split as CSV, read it as the audit does, gather row facts, compute every fact."""
    order = sorted(frames, key=SPLIT_ORDER.index)
    options = options_for(frames[order[0]], batch_rows=batch_rows)
    rows, evaluated, scale, readers, keys = {}, {}, None, {}, {}
    for name in order:
        path = tmp_path / f"{name}.csv"
        frames[name].to_csv(path, index=False)
        reader, batches = read(path, options, name)
        readers[name] = reader
        table = np.concatenate([b.table for b in batches])
        if scale is None:
            scale = near_grid(table, reader.categorical)
        facts = RowFacts(scale=scale)
        for batch in batches:
            facts.update(batch.table, batch.y, batch.rows)
        report = reader.shards()[0]
        list(report.batches())
        rows[name] = facts.freeze(
            tuple(reader.features), reader.categorical, report.report.vocabulary
        )
        y = np.concatenate([b.y for b in batches])
        keys[name] = [facts.take_keys(y, 0)]  # one bucket, as the local engine keeps them
        uniform = np.full((len(y), 2), 0.5)
        evaluated[name] = split_from_predictions(name, y, uniform, BINARY)
    ev = Evaluation(
        model=model_info(2),
        classes=BINARY,
        features=tuple(readers[order[0]].features),
        text_features=readers[order[0]].text_features,
        splits=evaluated,
        architecture=architecture(),
        rows=matched(rows, keys, 2),
    )
    return add_facts(ev, [(family, name) for family in FAMILIES for name in order])


def judge(rule_id: str, ev: Evaluation) -> Any:
    rule = load_rule_set().get(rule_id)
    assert rule is not None
    return KINDS[rule.kind].fn(ev, rule.params)


def rule_of(kind: str, split: str = "val") -> str:
    """The id of the default rule set's rule of KIND (for SPLIT, when it has one)."""
    for rule in load_rule_set().rules:
        if rule.kind == kind and rule.params.get("split", split) == split:
            return rule.id
    raise AssertionError(kind)


def stores(n: int, seed: int, leak: bool = False, shift: bool = False) -> pd.DataFrame:
    """Rows with a 5-value store code, a colour, a room count, a size and a binary label.

    LEAK makes `status` a text copy of the label; SHIFT draws the colours with other shares.
    """
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    label = (size + rng.normal(scale=1.0, size=n) > 0).astype(int)
    colours = ["red", "green", "blue"]
    shares = [0.7, 0.2, 0.1] if shift else [0.34, 0.33, 0.33]
    frame = pd.DataFrame(
        {
            "store_id": rng.choice(["S1", "S2", "S3", "S4", "S5"], n),
            "colour": rng.choice(colours, n, p=shares),
            "rooms": rng.integers(1, 5, n),
            "size": size,
        }
    )
    frame["status"] = (
        np.where(label == 1, "approved", "declined") if leak else rng.choice(["new", "old"], n)
    )
    frame["label"] = label
    return frame


# ---- codes -----------------------------------------------------------------------------------


def test_codes_are_stable_whole_float32_numbers_and_missing_is_apart():
    values = np.array(["Oslo", None, "Rome", "Oslo", ""], dtype=object)
    codes, missing, vocabulary = encode(values)
    assert codes.dtype == np.float32
    np.testing.assert_array_equal(missing, [False, True, False, False, False])
    assert codes[0] == codes[3] == code_of("Oslo") and codes[1] == MISSING
    assert codes[2] != codes[0] and codes[4] == code_of("")  # "" read as text is a value
    assert all(float(c) == int(c) for c in codes)  # exact in float32
    assert vocabulary[code_of("Rome")] == "Rome"
    again, _, _ = encode(np.array(["Rome"], dtype=object))  # another batch, another process
    assert again[0] == codes[2]


# ---- reading ---------------------------------------------------------------------------------


def test_csv_text_columns_feed_named_string_inputs_raw_and_are_coded_in_the_table(tmp_path):
    frame = pd.DataFrame(
        {
            "city": ["Oslo", "Rome", None, "Oslo"],
            "rooms": [1, 2, 3, 4],
            "size": [0.5, 1.5, 2.5, 3.5],
            "label": [0, 1, 0, 1],
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    reader, (batch,) = read(tmp_path / "d.csv", options_for(frame))
    assert reader.text_features == ("city",)
    assert list(reader.categorical) == [True, False, False]
    assert batch.x["city"].shape == (4, 1)
    assert list(batch.x["city"][:, 0]) == ["Oslo", "Rome", "", "Oslo"]  # missing fed as ""
    assert batch.x["rooms"].dtype == np.int64 and list(batch.x["rooms"][:, 0]) == [1, 2, 3, 4]
    assert batch.table.dtype == np.float32
    assert batch.table[0, 0] == batch.table[3, 0] == code_of("Oslo")
    assert batch.table[2, 0] == MISSING
    assert reader.missing_values == {"city": 1}


def test_parquet_string_and_dictionary_columns_are_read_as_text(tmp_path):
    frame = pd.DataFrame(
        {
            "city": pd.Categorical(["Oslo", "Rome", "Oslo", None]),
            "flag": ["yes", "no", None, "yes"],
            "size": [0.5, 1.5, 2.5, 3.5],
            "label": [0, 1, 0, 1],
        }
    )
    frame.to_parquet(tmp_path / "d.parquet")
    specs = (
        InputSpec("city", (None, 1), "string"),
        InputSpec("flag", (None, 1), "string"),
        InputSpec("size", (None, 1)),
    )
    options = ReadOptions(feature_names=("city", "flag", "size"), inputs=specs, named_inputs=True)
    reader, (batch,) = read(tmp_path / "d.parquet", options)
    assert list(batch.x["city"][:, 0]) == ["Oslo", "Rome", "Oslo", ""]
    assert list(batch.x["flag"][:, 0]) == ["yes", "no", "", "yes"]
    assert reader.missing_values == {"city": 1, "flag": 1}
    np.testing.assert_array_equal(batch.table[:, 2], [0.5, 1.5, 2.5, 3.5])


def test_dataframes_with_text_and_dicts_of_arrays_are_read_alike():
    frame = pd.DataFrame(
        {"city": ["Oslo", "Rome", np.nan], "size": [1.0, 2.0, 3.0], "label": [0, 1, 1]}
    )
    options = options_for(frame)
    reader, (batch,) = read(frame, options)
    assert list(batch.x["city"][:, 0]) == ["Oslo", "Rome", ""]
    assert reader.missing_values == {"city": 1}
    arrays = {"city": np.array(["Oslo", "Rome", None], dtype=object), "size": [[1.0], [2.0], [3.0]]}
    _, (from_dict,) = read((arrays, np.array([0, 1, 1])), options)
    np.testing.assert_array_equal(from_dict.table, batch.table)
    assert list(from_dict.x["city"][:, 0]) == ["Oslo", "Rome", ""]


def test_a_vector_input_model_names_every_text_column(tmp_path):
    frame = stores(30, 0)
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError) as error:
        read(tmp_path / "d.csv", ReadOptions(n_features=5))
    message = str(error.value)
    assert "store_id, colour, status hold text" in message
    assert "named string input" in message and "\n" not in message
    frame.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(DataError, match="columns store_id, colour, status hold text"):
        read(tmp_path / "d.parquet", ReadOptions(n_features=5))
    with pytest.raises(DataError, match="store_id, colour, status hold text"):
        read(frame, ReadOptions(n_features=5))


# ---- data checks on text columns -------------------------------------------------------------


def test_duplicates_hash_every_column_text_included(tmp_path):
    train = stores(200, 1)
    val = stores(100, 2)
    copied = train.iloc[:10].copy()
    val = pd.concat([val.iloc[:90], copied], ignore_index=True)
    # Same numbers and store as a train row, another colour: not a copy.
    other = train.iloc[10:20].copy()
    other["colour"] = np.where(other["colour"] == "red", "green", "red")
    val = pd.concat([val, other], ignore_index=True)
    ev = evaluation_of({"train": train, "val": val}, tmp_path)
    shared = ev.data.shared_rows["val"]
    assert shared.shared_rows == 10
    assert shared.near_duplicate_rows == 0  # a category differs: not near either
    outcome = judge(rule_of("leakage_duplicates"), ev)
    assert outcome.status == "failed"


def test_a_categorical_column_that_leaks_the_label_is_a_proxy_and_its_clean_twin_is_not(tmp_path):
    leaky = evaluation_of(
        {"train": stores(400, 3, leak=True), "val": stores(300, 4, leak=True)}, tmp_path
    )
    outcome = judge(rule_of("leakage_target_proxy"), leaky)
    assert outcome.status == "failed"
    assert outcome.features == ("status",)
    assert "'status'" in outcome.message
    clean = evaluation_of({"train": stores(400, 3), "val": stores(300, 4)}, tmp_path)
    assert judge(rule_of("leakage_target_proxy"), clean).status == "passed"
    scores = dict(clean.data.signal["val"])
    assert scores["status"] < 0.6 and scores["size"] > 0.65


def test_text_identifiers_are_unique_values_not_low_cardinality_codes(tmp_path):
    train = stores(300, 5)
    train.insert(0, "order_ref", [str(uuid.UUID(int=int(i) * 7919 + 1)) for i in range(300)])
    val = stores(100, 6)
    val.insert(0, "order_ref", [str(uuid.UUID(int=10**6 + i)) for i in range(100)])
    ev = evaluation_of({"train": train, "val": val}, tmp_path)
    columns = {c.feature: c for c in ev.data.identifiers["train"].columns}
    assert set(columns) == {"order_ref"}  # store_id is named like one, but has 5 values
    assert columns["order_ref"].kind == "text" and columns["order_ref"].pattern == "UUID"
    assert columns["order_ref"].unique_share == 1.0
    found = [
        judge(rule.id, ev)
        for rule in load_rule_set().rules
        if rule.kind == "leakage_identifier" and not rule.params["require_predictive"]
    ]
    assert found and all(o.status == "failed" and o.features == ("order_ref",) for o in found)
    assert "100% of its text values are distinct" in found[0].message
    assert "its values are UUIDs" in found[0].message
    # The identifier is left out of drift: its values form no distribution.
    assert "order_ref" not in [d["feature"] for d in ev.data.drift["val"].features]


def test_category_shares_that_move_are_drift_and_unseen_values_are_counted(tmp_path):
    train = stores(600, 7)
    val = stores(400, 8, shift=True)
    val.loc[:39, "store_id"] = "S9"  # a store training never saw
    ev = evaluation_of({"train": train, "val": val}, tmp_path)
    entries = {d["feature"]: d for d in ev.data.drift["val"].features}
    colour, store = entries["colour"], entries["store_id"]
    assert colour["test"] == "chi-square" and colour["pvalue"] < 1e-6
    assert colour["shifted_categories"][0]["value"] == "red"
    assert store["unseen_share"] == pytest.approx(40 / 400)
    assert any(c["value"] == "S9" and c["train_share"] == 0 for c in store["shifted_categories"])
    outcome = judge(rule_of("split_drift"), ev)
    assert outcome.status == "failed" and "colour" in outcome.features
    assert "unseen in train" in outcome.message
    same = evaluation_of({"train": stores(600, 7), "val": stores(400, 9)}, tmp_path)
    assert judge(rule_of("split_drift"), same).status == "passed"


def test_category_drift_by_hand():
    train = np.array([1.0] * 50 + [2.0] * 50)
    other = np.array([1.0] * 50 + [2.0] * 40 + [3.0] * 10)
    found = category_drift(train, other, {1.0: "a", 2.0: "b"})
    assert found is not None
    assert found["unseen_share"] == pytest.approx(0.1)
    assert found["categories"] == 3
    from scipy.stats import chi2_contingency

    expected = chi2_contingency(np.array([[50, 50, 0], [50, 40, 10]]))
    assert found["chi2_pvalue"] == pytest.approx(expected[1])
    assert found["shifted_categories"][0]["value"] == "(code 3)"  # no name known: its code
    unique = np.arange(100, dtype=float)
    assert category_drift(unique, unique[:50], {}) is None  # identifier-like


# ---- end to end, with a keras.io-style model --------------------------------------------------


def keras_io_model(frame: pd.DataFrame, epochs: int = 20) -> Any:
    """One named input per column, StringLookup/IntegerLookup/Normalization inside the model."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs, encoded = {}, []
    for spec in specs_of(frame):
        column = frame[spec.name]
        inputs[spec.name] = keras.Input((1,), name=spec.name, dtype=spec.dtype)
        if spec.dtype == "string":
            vocabulary = sorted(column.dropna().astype(str).unique())
            layer: Any = keras.layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot")
        elif spec.dtype == "int64":
            vocabulary = sorted(int(v) for v in column.unique())
            layer = keras.layers.IntegerLookup(vocabulary=vocabulary, output_mode="one_hot")
        else:
            layer = keras.layers.Normalization(mean=column.mean(), variance=column.var())
        encoded.append(layer(inputs[spec.name]))
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()(encoded))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rows = tf.data.Dataset.from_tensor_slices((model_feed(frame), frame["label"].to_numpy()))
    model.fit(rows.batch(32), epochs=epochs, verbose=0)
    return model


def model_feed(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns as Keras takes them: text as str (missing as ""), the rest as numbers."""
    feed = {}
    for spec in specs_of(frame):
        column = frame[[spec.name]]
        feed[spec.name] = (
            column.fillna("").to_numpy(str) if spec.dtype == "string" else column.to_numpy()
        )
    return feed


@pytest.mark.slow
def test_a_keras_io_structured_data_model_audits_from_files_and_dataframes(tmp_path):
    import json

    from jsonschema import Draft202012Validator

    from auditor.api import audit, audit_and_write
    from auditor.resources import schema_path

    train, val = stores(400, 11), stores(300, 12, shift=True)
    val.loc[:29, "store_id"] = "<b>S9</b>"  # unseen in training, and markup
    val.loc[30:44, "colour"] = None  # missing text values
    model = keras_io_model(train)
    path = tmp_path / "stores.keras"
    model.save(path)
    train.to_csv(tmp_path / "train.csv", index=False)
    val.to_csv(tmp_path / "val.csv", index=False)

    result, written = audit_and_write(
        path, train=tmp_path / "train.csv", val=tmp_path / "val.csv", out=tmp_path / "out",
        formats=("json", "html"),
    )  # fmt: skip
    import tensorflow as tf

    # Keras' predict takes no NumPy text; the model called on tensors is the reference.
    feed = {name: tf.constant(values) for name, values in model_feed(val).items()}
    expected = np.asarray(model(feed, training=False))[:, 0]
    np.testing.assert_allclose(result.evaluation.splits["val"].proba[:, 1], expected, atol=1e-5)
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert not list(Draft202012Validator(schema).iter_errors(doc))
    assert doc["model"]["input_kind"] == "table"
    assert doc["model"]["input_dtypes"]["colour"] == "string"
    assert doc["model"]["input_dtypes"]["rooms"] == "int64"
    assert doc["text_features"] == ["colour", "status", "store_id"]  # the model's input order
    assert doc["splits"]["val"]["missing_values"] == {"colour": 15}
    assert "missing_values" not in doc["splits"]["train"]
    drift = next(r for r in doc["results"] if r["kind"] == "split_drift")
    assert drift["status"] == "failed"
    store = next(
        d for d in drift["evidence"]["most_drifted_features"] if d["feature"] == "store_id"
    )
    assert store["unseen_share"] == pytest.approx(30 / 300)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "&lt;b&gt;S9&lt;/b&gt;" in page and "<b>S9</b>" not in page
    assert "Missing text values in val: colour 15" in page

    # The same splits as DataFrames give the same evaluation.
    again = audit(path, train=train, val=val)
    np.testing.assert_allclose(
        again.evaluation.splits["val"].proba, result.evaluation.splits["val"].proba, atol=1e-6
    )
    assert again.evaluation.splits["val"].missing_values == {"colour": 15}


@pytest.mark.slow
def test_a_vector_model_on_a_table_with_text_is_one_line_and_exit_2(tmp_path):
    import keras
    from click.testing import CliRunner

    from auditor.cli import main

    frame = stores(40, 13)
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    model.save(tmp_path / "vector.keras")
    outcome = CliRunner().invoke(
        main,
        ["audit", str(tmp_path / "vector.keras"), "--train", str(tmp_path / "d.csv"),
         "--val", str(tmp_path / "d.csv"), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert outcome.exit_code == 2
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "store_id, colour, status hold text" in lines[0]
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.slow
def test_the_sweep_is_not_applicable_to_string_inputs_and_says_why(tmp_path):
    from auditor.evaluate import evaluate
    from auditor.loading.model import from_keras_model
    from auditor.regularization import Recommendation
    from auditor.sweep import run_sweep

    train = stores(200, 14)
    loaded = from_keras_model(keras_io_model(train, epochs=2))
    ev = evaluate(loaded, {"train": train, "val": stores(100, 15)})
    rec = Recommendation(
        "increase_l2",
        ("dense",),
        {},
        {"dense": {"l1": 0.0, "l2": 1e-3}},
        "overfits",
        (),
        "less gap",
    )
    swept = run_sweep(loaded, ev, rec, epochs=1, budget_seconds=5, seed=0)
    assert swept is not None and swept.status == "not_applicable" and not swept.runs
    assert swept.conclusion.startswith("Not applicable: the model reads text column(s) colour")
    assert swept.to_dict()["status"] == "not_applicable"
