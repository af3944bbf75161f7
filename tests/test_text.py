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


# ---- the text checks, on row facts gathered as the audit gathers them --------------------------


def text_evaluation(frames: dict[str, pd.DataFrame], tmp_path: Path) -> Any:
    """Read each split's texts as the audit does, gather row facts, compute every fact."""
    import dataclasses

    from helpers import architecture, model_info, split_from_predictions

    from auditor.evaluate import Evaluation, add_facts
    from auditor.facts.data import FAMILIES
    from auditor.facts.rows import RowFacts, near_grid

    rows, splits, scale = {}, {}, None
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        reader = SplitReader(name, tmp_path / f"{name}.csv", text_options())
        batches = list(reader.batches())
        if scale is None:
            scale = near_grid(np.concatenate([b.table for b in batches]), reader.categorical)
        facts = RowFacts(scale=scale)
        for batch in batches:
            facts.update(batch.table, batch.y, batch.rows, batch.text)
        rows[name] = facts.freeze(("review",), reader.categorical)
        y = np.concatenate([b.y for b in batches])
        splits[name] = split_from_predictions(name, y, np.full((len(y), 2), 0.5), ("0", "1"))
    info = dataclasses.replace(model_info(2), inputs=(InputSpec("review", (None, 1), "string"),))
    ev = Evaluation(
        model=info,
        classes=("0", "1"),
        features=("review",),
        text_features=("review",),
        splits=splits,
        architecture=architecture(),
        rows=rows,
    )
    return add_facts(ev, [(family, name) for family in FAMILIES for name in frames])


def judged(ev: Any, rule_id: str) -> Any:
    from auditor.rules.kinds import KINDS
    from auditor.rules.loader import load_rule_set

    rule = load_rule_set().get(rule_id)
    assert rule is not None
    return KINDS[rule.kind].fn(ev, rule.params)


def test_clean_reviews_pass_every_text_check(tmp_path):
    ev = text_evaluation({"train": reviews(400, 4), "val": reviews(200, 5)}, tmp_path)
    for rule_id in ("TX01", "TX02", "TX03"):
        outcome = judged(ev, rule_id)
        assert outcome.status == "passed", (rule_id, outcome.message)


def test_near_copies_of_training_texts_are_found_and_shown_escaped_later(tmp_path):
    train, val = reviews(400, 6), reviews(200, 7)
    # Twenty validation texts are training texts with one word added at the end.
    copies = [text + " indeed." for text in train["review"].iloc[:20]]
    val.loc[:19, "review"] = copies
    ev = text_evaluation({"train": train, "val": val}, tmp_path)
    facts = ev.data.text["val"]
    assert facts.near_copies == 20
    outcome = judged(ev, "TX01")
    assert outcome.status == "failed" and "20 of 200 sampled val texts" in outcome.message
    example = outcome.evidence["near_copies"][0]
    assert example["similarity"] >= 0.8 and example["text"].endswith("indeed.")
    assert len(example["train_text"]) <= 80


def test_a_template_line_on_one_class_is_a_token_proxy(tmp_path):
    ev = text_evaluation(
        {"train": reviews(400, 8, template=True), "val": reviews(200, 9, template=True)}, tmp_path
    )
    outcome = judged(ev, "TX02")
    assert outcome.status == "failed"
    assert outcome.evidence["tokens"][0]["token"] in ("sent", "from", "phone")
    assert outcome.evidence["tokens"][0]["class"] == "1"
    assert outcome.evidence["tokens"][0]["score"] == pytest.approx(1.0)


def test_texts_from_elsewhere_drift_in_vocabulary_and_length(tmp_path):
    rng = np.random.default_rng(10)
    foreign = [
        " ".join(f"w{int(v)}" for v in rng.integers(0, 5000, rng.integers(25, 40)))
        for _ in range(200)
    ]
    val = reviews(200, 11)
    val["review"] = foreign
    ev = text_evaluation({"train": reviews(400, 10), "val": val}, tmp_path)
    outcome = judged(ev, "TX03")
    assert outcome.status == "failed"
    assert "never occur in the training texts" in outcome.message
    assert "words long (median)" in outcome.message
    assert outcome.observed["oov_share"] > 0.9 and outcome.observed["train_oov_share"] < 0.05


def test_text_checks_do_not_apply_to_tables(tmp_path):
    from helpers import evaluation, split_from_predictions

    y = np.arange(100) % 2
    ev = evaluation({"val": split_from_predictions("val", y, np.full((100, 2), 0.5), ("0", "1"))})
    for rule_id in ("TX01", "TX02", "TX03"):
        outcome = judged(ev, rule_id)
        assert outcome.status == "not_applicable" and "not text" in outcome.message


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
