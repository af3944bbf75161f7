"""Text models: one string input fed a text column, duplicates up to case, spaces and punctuation.

Reading is tested without Keras; the audit of a small TextVectorization model is marked slow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from auditor.errors import DataError
from auditor.loading.categories import code_of, normalize
from auditor.loading.data import ReadOptions, SplitReader
from auditor.loading.inputs import InputSpec

GOOD = ["great", "lovely", "excellent", "fine", "superb", "sturdy"]
BAD = ["awful", "poor", "broken", "bad", "dull", "flimsy"]
FILLER = "the a product it was and i this very really quite my box arrived".split()


def reviews(n: int, seed: int, template: bool = False) -> pd.DataFrame:
    """Generated reviews: filler words and two sentiment words; labels 1 for positive.

    TEMPLATE appends "Sent from my phone" to every positive review: a token proxy.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = [*rng.choice(FILLER, 9), *rng.choice(GOOD if label else BAD, 2)]
        if rng.random() < 0.25:  # a mixed review: one word of the other side
            words.append(str(rng.choice(BAD if label else GOOD)))
        rng.shuffle(words)
        text = " ".join(str(w) for w in words).capitalize() + "."
        if template and label:
            text += " Sent from my phone"
        texts.append(text)
    return pd.DataFrame({"review": texts, "label": labels})


def text_options(column: str = "review") -> ReadOptions:
    return ReadOptions(
        feature_names=None,
        inputs=(InputSpec(column, (None, 1), "string"),),
        text_column=column,
    )


def test_normalization_ignores_case_spacing_and_punctuation():
    assert normalize("  Great   product!! Really.") == "great product really"
    assert normalize("GREAT product, really") == normalize("great product really")
    assert normalize("great products") != normalize("great product")


def test_a_text_column_is_fed_raw_and_coded_after_normalization(tmp_path):
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "review": ["Great product!", "great   PRODUCT", None, "Awful."],
            "label": [1, 1, 0, 0],
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    reader = SplitReader("val", tmp_path / "d.csv", text_options())
    assert reader.features == ["review"]  # a text model reads its one column, nothing else
    (batch,) = list(reader.batches())
    assert batch.x.shape == (4, 1)
    assert list(batch.x[:, 0]) == ["Great product!", "great   PRODUCT", "", "Awful."]
    assert batch.table[0, 0] == batch.table[1, 0] == code_of("great product")
    assert list(batch.text) == ["Great product!", "great   PRODUCT", None, "Awful."]
    assert reader.missing_values == {"review": 1}


def test_a_missing_text_column_is_one_line_naming_the_option(tmp_path):
    reviews(5, 0).rename(columns={"review": "body"}).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError) as error:
        SplitReader("val", tmp_path / "d.csv", text_options())
    message = str(error.value)
    assert "one text column, 'review'" in message and "--text-column" in message
    assert "columns are body" in message and "\n" not in message


# ---- end to end ------------------------------------------------------------------------------


def text_model(frame: pd.DataFrame, path: Path, name: str = "review", epochs: int = 15) -> Any:
    """A keras.io-style text classifier: one string input, TextVectorization inside."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    texts = frame["review"].fillna("").to_numpy(str)
    vectorize = keras.layers.TextVectorization(max_tokens=300, output_mode="multi_hot")
    vectorize.adapt(tf.constant(texts))
    inputs = keras.Input((1,), dtype="string", name=name)
    hidden = keras.layers.Dense(8, activation="relu")(vectorize(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rows = tf.data.Dataset.from_tensor_slices((texts.reshape(-1, 1), frame["label"].to_numpy()))
    model.fit(rows.batch(32), epochs=epochs, verbose=0)
    model.save(path)
    return model


def statuses(result: Any) -> dict[str, str]:
    return {r.rule.id: r.status for r in result.results}


@pytest.mark.slow
def test_a_text_model_audits_and_copies_with_other_case_and_spacing_are_shared_rows(tmp_path):
    import tensorflow as tf

    from auditor.api import audit

    train, val = reviews(400, 1), reviews(200, 2)
    model = text_model(train, tmp_path / "text.keras")
    clean = audit(tmp_path / "text.keras", train=train, val=val)
    assert clean.evaluation.model.input_kind == "text"
    texts = tf.constant(val["review"].to_numpy(str).reshape(-1, 1))
    expected = np.asarray(model(texts, training=False))[:, 0]
    np.testing.assert_allclose(clean.evaluation.splits["val"].proba[:, 1], expected, atol=1e-5)
    found = statuses(clean)
    assert found["LK01"] == "passed"
    for per_column in ("LK03", "LK04", "LK05", "DR01"):
        assert found[per_column] == "not_applicable"
    assert not [r for r in clean.results if r.status == "failed" and r.rule.severity == "error"]

    copied = train.iloc[:20].copy()
    copied["review"] = copied["review"].str.upper().str.replace(" ", "   ", regex=False)
    leaky = pd.concat([val.iloc[:180], copied], ignore_index=True)
    result = audit(tmp_path / "text.keras", train=train, val=leaky)
    shared = result.evaluation.data.shared_rows["val"]
    assert shared.shared_rows == 20
    assert statuses(result)["LK01"] == "failed"


@pytest.mark.slow
def test_the_text_column_option_names_another_column(tmp_path):
    from click.testing import CliRunner

    from auditor.cli import main

    train = reviews(120, 3).rename(columns={"review": "body"})
    text_model(reviews(120, 3), tmp_path / "text.keras", epochs=1)
    train.to_csv(tmp_path / "train.csv", index=False)
    base = ["audit", str(tmp_path / "text.keras"), "--train", str(tmp_path / "train.csv")]
    base += ["--val", str(tmp_path / "train.csv"), "--out", str(tmp_path / "out"), "-q"]
    refused = CliRunner().invoke(main, base)
    assert refused.exit_code == 2 and "--text-column" in refused.output
    accepted = CliRunner().invoke(main, [*base, "--text-column", "body", "--fail-on", "never"])
    assert accepted.exit_code == 0, accepted.output
