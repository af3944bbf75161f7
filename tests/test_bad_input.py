"""Hostile and broken input: each case exits 2, one `Error:` line names the culprit, no report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from auditor.cli import main

pytestmark = pytest.mark.slow


def _csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _frame(tiny, split="val") -> pd.DataFrame:
    return pd.read_csv(tiny.split(split))


# Each builder gets (tiny model, folder) and returns (cli args after 'audit', expected fragments).
Builder = Callable[[object, Path], tuple[list[str], list[str]]]


def missing_model(t, d):
    return [str(d / "nope.keras"), *t.splits], ["nope.keras: model file not found"]


def truncated_keras(t, d):
    data = t.path("keras").read_bytes()
    (d / "cut.keras").write_bytes(data[: len(data) // 2])
    return [str(d / "cut.keras"), *t.splits], ["cut.keras: not a readable Keras model"]


def text_as_keras(t, d):
    (d / "text.keras").write_text("this is not a model")
    return [str(d / "text.keras"), *t.splits], ["text.keras: not a readable Keras model"]


def garbage_h5(t, d):
    (d / "g.h5").write_bytes(b"\x00" * 100)
    return [str(d / "g.h5"), *t.splits], ["g.h5: not a readable Keras model"]


def unknown_model_suffix(t, d):
    (d / "m.pkl").write_bytes(b"x")
    return [str(d / "m.pkl"), *t.splits], ["m.pkl: unknown model format '.pkl'", ".keras, .h5"]


def lambda_layer(t, d):
    import keras

    inputs = keras.Input((4,))
    out = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Lambda(lambda v: v + 1.0)(inputs)
    )
    keras.Model(inputs, out).save(d / "lambda.keras")
    return [str(d / "lambda.keras"), *t.splits], ["lambda.keras", "Lambda layer", "--unsafe"]


def custom_layer(t, d):
    import keras

    @keras.saving.register_keras_serializable(package="evil")
    class Sneaky(keras.layers.Layer):
        def call(self, v):
            return v

    inputs = keras.Input((4,))
    out = keras.layers.Dense(1, activation="sigmoid")(Sneaky()(inputs))
    keras.Model(inputs, out).save(d / "custom.keras")
    keras.saving.get_custom_objects().clear()
    return [str(d / "custom.keras"), *t.splits], [
        "custom.keras",
        "custom object 'Sneaky'",
        "not part of the file",
    ]


def regression_model(t, d):
    import keras

    keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]).save(d / "reg.keras")
    return [str(d / "reg.keras"), *t.splits], ["reg.keras", "activation 'linear'", "sigmoid"]


def missing_split(t, d):
    return [str(t.path("keras")), "--train", str(d / "none.csv"), "--val", str(t.split("val"))], [
        "none.csv: train split not found"
    ]


def extra_feature(t, d):
    frame = _frame(t)
    frame.insert(0, "extra", 1.0)
    frame.to_csv(d / "val.csv", index=False)
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.csv")], [
        "val.csv: 5 feature columns but the model takes 4",
        "extra",
        "--ignore",
    ]


def label_missing(t, d):
    return [str(t.path("keras")), *t.splits, "--label", "target"], [
        "train.csv: label column 'target' not found; columns are alpha, beta, gamma, delta, label"
    ]


def label_outside_classes(t, d):
    frame = _frame(t)
    frame.loc[3, "label"] = 2
    frame.to_csv(d / "val.csv", index=False)
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.csv")], [
        "val.csv: label(s) 2.0 in column 'label' are not class indices 0..1"
    ]


def text_labels(t, d):
    frame = _frame(t)
    frame["label"] = np.where(frame["label"] == 1, "fraud", "ok")
    frame.to_csv(d / "val.csv", index=False)
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.csv")], [
        "val.csv: label column 'label' holds text",
        "--classes",
    ]


def non_numeric_feature(t, d):
    frame = _frame(t).astype({"beta": object})
    frame.loc[7, "beta"] = "twelve"
    frame.to_csv(d / "val.csv", index=False)
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.csv")], [
        "val.csv: column 'beta' holds the non-numeric value 'twelve'",
        "--ignore beta",
    ]


def nan_features(t, d):
    frame = _frame(t)
    frame.loc[[4, 9, 11], "gamma"] = np.nan
    frame.to_csv(d / "val.csv", index=False)
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.csv")], [
        "val.csv: 3 row(s) have NaN or infinite feature values (first: row 4, column 'gamma')",
        "--drop-invalid-rows",
    ]


def inf_features(t, d):
    x = np.load(t.split("val", "npz"))
    bad = x["x"].copy()
    bad[5, 1] = np.inf
    np.savez(d / "val.npz", x=bad, y=x["y"], feature_names=x["feature_names"])
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.npz")], [
        "val.npz: 1 row(s) have NaN or infinite feature values (first: row 5, column 'beta')"
    ]


def empty_split(t, d):
    path = _csv(d, "val.csv", "alpha,beta,gamma,delta,label\n")
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(path)], [
        "val.csv: the val split has no rows"
    ]


def empty_file(t, d):
    path = _csv(d, "val.csv", "")
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(path)], [
        "val.csv: the file is empty"
    ]


def single_class(t, d):
    frame = _frame(t)
    frame = frame[frame["label"] == 1]
    frame.to_csv(d / "val.csv", index=False)
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.csv")], [
        "val.csv: the val split holds only class '1'"
    ]


def ragged_csv(t, d):
    text = t.split("val").read_text().splitlines()
    text[6] = "1.0,2.0"
    path = _csv(d, "val.csv", "\n".join(text) + "\n")
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(path)], [
        "val.csv: ragged CSV row (Expected 5 columns, got 2"
    ]


def pickled_npz(t, d):
    np.savez(d / "val.npz", x=np.array([{"a": 1}] * 3, dtype=object), y=np.array([0, 1, 0]))
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.npz")], [
        "val.npz: the NPZ holds object arrays that need pickle, which auditor refuses"
    ]


def npz_without_y(t, d):
    np.savez(d / "val.npz", x=np.zeros((3, 4)))
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(d / "val.npz")], [
        "val.npz: the NPZ lacks array(s) y"
    ]


def truncated_parquet(t, d):
    data = t.split("val", "parquet").read_bytes()
    (d / "val.parquet").write_bytes(data[: len(data) // 2])
    return [
        str(t.path("keras")),
        "--train",
        str(t.split("train")),
        "--val",
        str(d / "val.parquet"),
    ], ["val.parquet: not a readable Parquet file"]


def unknown_data_suffix(t, d):
    path = _csv(d, "val.xlsx", "x")
    return [str(t.path("keras")), "--train", str(t.split("train")), "--val", str(path)], [
        "val.xlsx: unknown data format '.xlsx'"
    ]


def _rules(d, body):
    path = d / "team.yaml"
    path.write_text("extends: default\nrules:\n" + body)
    return path


def rule_unknown_kind(t, d):
    path = _rules(
        d,
        "  - id: TT01\n    kind: vibes\n    severity: error\n"
        "    summary: s\n    why: w\n    what_to_do: x\n",
    )
    return [str(t.path("keras")), *t.splits, "--rules", str(path)], [
        "team.yaml: rule TT01: unknown kind 'vibes'"
    ]


def rule_bad_threshold(t, d):
    path = _rules(d, "  - id: OF01\n    params: {max_gap: high}\n")
    return [str(t.path("keras")), *t.splits, "--rules", str(path)], [
        "team.yaml: rule OF01: params.max_gap must be a number >= 0, got 'high'"
    ]


def rule_duplicate_id(t, d):
    path = _rules(d, "  - id: OF01\n    severity: warning\n  - id: OF01\n    severity: info\n")
    return [str(t.path("keras")), *t.splits, "--rules", str(path)], [
        "team.yaml: rule OF01: duplicate id"
    ]


def rule_unknown_extends(t, d):
    path = d / "team.yaml"
    path.write_text("extends: strict-ish\nrules: []\n")
    return [str(t.path("keras")), *t.splits, "--rules", str(path)], [
        "team.yaml: extends: strict-ish: rule set not found"
    ]


def ragged_history(t, d):
    path = _csv(d, "history.json", '{"loss": [1.0, 0.5], "val_loss": [1.0]}')
    return [str(t.path("keras")), *t.splits, "--history", str(path)], [
        "history.json: the history's metrics cover different numbers of epochs (loss 2, val_loss 1)"
    ]


def study_on_savedmodel(t, d):
    return [str(t.path("savedmodel")), *t.splits, "--study"], [
        "--study retrains the model, which needs a Keras model file (.keras or .h5)"
    ]


def output_not_writable(t, d):
    (d / "taken").write_text("a file where the output folder should be")
    return [str(t.path("keras")), *t.splits, "--out", str(d / "taken" / "out")], [
        "cannot create the output folder"
    ]


def nan_predictions(t, d):
    import keras

    model = keras.saving.load_model(t.path("keras"))
    weights = model.get_layer("out").get_weights()
    weights[0][:] = np.nan
    model.get_layer("out").set_weights(weights)
    model.save(d / "nan.keras")
    return [str(d / "nan.keras"), *t.splits], ["the model predicted NaN or infinity for 400 row(s)"]


CASES: dict[str, Builder] = {
    f.__name__: f
    for f in (
        missing_model,
        truncated_keras,
        text_as_keras,
        garbage_h5,
        unknown_model_suffix,
        lambda_layer,
        custom_layer,
        regression_model,
        missing_split,
        extra_feature,
        label_missing,
        label_outside_classes,
        text_labels,
        non_numeric_feature,
        nan_features,
        inf_features,
        empty_split,
        empty_file,
        single_class,
        ragged_csv,
        pickled_npz,
        npz_without_y,
        truncated_parquet,
        unknown_data_suffix,
        rule_unknown_kind,
        rule_bad_threshold,
        rule_duplicate_id,
        rule_unknown_extends,
        output_not_writable,
        nan_predictions,
        ragged_history,
        study_on_savedmodel,
    )
}


@pytest.fixture
def tiny(tiny_binary):
    tiny_binary.splits = [
        "--train",
        str(tiny_binary.split("train")),
        "--val",
        str(tiny_binary.split("val")),
    ]
    return tiny_binary


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_clear_line(case, tiny, tmp_path):
    args, fragments = CASES[case](tiny, tmp_path)
    out = tmp_path / "report"
    if "--out" in args:
        out = Path(args[args.index("--out") + 1])
    else:
        args += ["--out", str(out)]
    result = CliRunner().invoke(main, ["audit", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert not out.exists(), "no report folder, not even an empty or partial one"


def test_drop_invalid_rows_counts_them_and_goes_on(tiny, tmp_path):
    args, _ = nan_features(tiny, tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "audit",
            *args,
            "--drop-invalid-rows",
            "--format",
            "json",
            "--out",
            str(tmp_path / "r"),
            "--fail-on",
            "never",
        ],
    )
    assert result.exit_code == 0, result.output
    report = pd.read_json(tmp_path / "r" / "report.json", typ="series")
    assert report["splits"]["val"]["dropped_rows"] == 3
    assert report["splits"]["val"]["n_rows"] == 197


def test_unsafe_flag_loads_the_lambda_model(tiny, tmp_path):
    args, _ = lambda_layer(tiny, tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "audit",
            *args,
            "--unsafe",
            "--format",
            "json",
            "--out",
            str(tmp_path / "r"),
            "--fail-on",
            "never",
        ],
    )
    assert result.exit_code == 0, result.output


def test_cases_cover_the_issue_list():
    assert len(CASES) == 32
