"""Entities and time: group and temporal leakage, from the columns' values to the verdict.

Planted cases on real values: rows of one patient on both sides of a random split against a
group split (GroupShuffleSplit), and a random split against a time-ordered one. The kinds' exact
messages are in test_rule_kinds.py's table, built with `with_context`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from helpers import architecture, model_info, split_from_predictions

from auditor.evaluate import add_facts
from auditor.evaluation import Evaluation
from auditor.facts.context import group_overlap, seconds, temporal
from auditor.loading.data import parse_times
from auditor.options import AuditOptions
from auditor.rules import load_rule_set, run_rules

BINARY = ("0", "1")


def with_context(
    train: Mapping[str, np.ndarray],
    val: Mapping[str, np.ndarray],
    y_train: np.ndarray,
    y_val: np.ndarray,
    group_columns: Sequence[str] = (),
    time_column: str | None = None,
) -> Evaluation:
    """A train/val evaluation whose context columns are TRAIN and VAL, with their facts added."""
    splits = {}
    for name, y in (("train", y_train), ("val", y_val)):
        y = np.asarray(y, dtype=np.int64)
        splits[name] = split_from_predictions(name, y, np.full((len(y), 2), 0.5), BINARY)
    ev = Evaluation(
        model=model_info(),
        classes=BINARY,
        features=("a",),
        splits=splits,
        architecture=architecture(),
        context={"train": dict(train), "val": dict(val)},
    )
    options = AuditOptions(group_columns=group_columns, time_column=time_column)
    return add_facts(ev, [("groups", "val"), ("temporal", "val")], options)


def _patients(seed: int, n_patients: int = 200, visits: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Patient ids with several visits each, and a label that depends on the patient."""
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"P{i:04d}" for i in range(n_patients)], visits)
    risk = np.repeat(rng.normal(size=n_patients), visits)
    y = (risk + rng.normal(scale=0.5, size=len(ids)) > 0).astype(np.int64)
    return ids, y


def _judge(ev: Evaluation, rule_id: str):
    rules = load_rule_set()
    one = rules.__class__(rules.name, rules.version, rules.source, (rules.get(rule_id),))
    (result,) = run_rules(ev, one)
    return result


def test_patients_on_both_sides_of_a_random_split_fail_as_an_error():
    ids, y = _patients(1)
    order = np.random.default_rng(2).permutation(len(ids))
    train, val = order[:800], order[800:]  # by row: most patients land on both sides
    ev = with_context({"patient": ids[train]}, {"patient": ids[val]}, y[train], y[val], ["patient"])
    result = _judge(ev, "LK06")
    assert (result.rule.category, result.rule.severity, result.status) == (
        "leakage_group",
        "error",
        "failed",
    )
    seen = result.observed["patient"]
    shared = np.isin(ids[val], ids[train])
    assert seen["shared_rows"] == int(shared.sum()) and seen["rows"] == 200
    assert seen["shared_groups"] == len(set(ids[val]) & set(ids[train]))
    assert seen["groups"] == len(set(ids[val]))
    assert result.message.startswith(f"{shared.sum()} of 200 val rows ({shared.mean():.0%})")
    assert "GroupShuffleSplit" in result.message
    (first, *_) = result.evidence["shared_groups"]
    assert first["column"] == "patient" and first["group"] in set(ids[train])
    assert first["val_rows"] == max(np.sum(ids[val] == g) for g in set(ids[val]) & set(ids[train]))
    assert result.features == ("patient",)


def test_a_group_split_passes():
    from sklearn.model_selection import GroupShuffleSplit

    ids, y = _patients(1)
    train, val = next(GroupShuffleSplit(test_size=0.2, random_state=0).split(ids, y, ids))
    ev = with_context({"patient": ids[train]}, {"patient": ids[val]}, y[train], y[val], ["patient"])
    result = _judge(ev, "LK06")
    assert result.status == "passed", result.message
    assert result.observed["patient"]["shared_rows"] == 0


def test_numeric_groups_and_missing_values():
    train = np.array([1, 2, 3, np.nan, 4.0])
    other = np.array([3, 3, 5, np.nan, np.nan])
    found = group_overlap("device", train, other)
    assert (found.groups, found.shared_groups, found.rows, found.shared_rows) == (2, 1, 3, 2)
    assert found.missing_rows == 2 and found.train_groups == 4
    assert found.examples == ({"group": 3, "rows": 2, "train_rows": 1},)
    # Ids read as text in one split and as numbers in the other still compare, as text.
    mixed = group_overlap("device", np.array(["3", "7"], dtype=object), np.array([3, 8]))
    assert (mixed.shared_groups, mixed.shared_rows) == (1, 1)
    text = group_overlap("who", np.array(["a", "", None], dtype=object), np.array(["a", "b"]))
    assert (text.train_groups, text.shared_rows) == (1, 1)
    # Integer ids read as floats (a blank cell in the CSV) and as text ("X3" in the other split).
    floats = group_overlap("id", np.array([1.0, 2.0, np.nan]), np.array(["1", "X3"], dtype=object))
    assert (floats.shared_groups, floats.shared_rows) == (1, 1)


def _dated(n: int, start: str, days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    first = np.datetime64(start, "D")
    return np.sort(first + rng.integers(0, days, n)).astype("datetime64[ns]")


def test_a_random_split_in_time_fails_and_a_time_ordered_one_passes():
    dates = _dated(1000, "2024-01-01", 365, 3)
    rng = np.random.default_rng(4)
    # The label rate rises over the year: evidence of drift that a random split hides.
    y = (rng.uniform(size=1000) < np.linspace(0.1, 0.6, 1000)).astype(np.int64)
    shuffled = rng.permutation(1000)
    train, val = shuffled[:800], shuffled[800:]
    ev = with_context({"day": dates[train]}, {"day": dates[val]}, y[train], y[val], (), "day")
    result = _judge(ev, "LK07")
    assert (result.rule.category, result.rule.severity, result.status) == (
        "leakage_temporal",
        "error",
        "failed",
    )
    earlier = int(np.sum(dates[val] < dates[train].max()))
    assert result.observed["earlier_rows"] == earlier and earlier > 190
    assert result.observed["train_range"][0] == str(dates[train].min())[:10]
    assert result.observed["val_range"][1] == str(dates[val].max())[:10]
    assert "earlier than the latest training row" in result.message
    rates = result.evidence["label_rate_over_time"]
    assert len(rates) == 10 and sum(b["rows"] for b in rates) == 1000
    assert rates[0]["rate"] < 0.3 < 0.4 < rates[-1]["rate"]  # the drift is shown, not judged
    assert rates[0]["start"] == str(dates.min())[:10]

    ordered = with_context({"day": dates[:800]}, {"day": dates[800:]}, y[:800], y[800:], (), "day")
    clean = _judge(ordered, "LK07")
    # Rows of the cut-off day itself are not earlier than it: ties are allowed.
    assert clean.status == "passed", clean.message
    assert clean.observed["earlier_rows"] == 0


def test_times_as_numbers_text_and_bad_values():
    assert seconds(np.array(["2024-01-02"], dtype="datetime64[ns]"))[0] == 1704153600.0
    parsed = parse_times(
        np.array(["2024-01-02", "2024-01-03T12:00:00", ""], dtype=object), "v.csv", "t"
    )
    assert parsed.dtype.kind == "M" and np.isnat(parsed[2])
    assert parse_times(np.array([3, 1, 2]), "v.csv", "t").tolist() == [3, 1, 2]
    with pytest.raises(Exception, match="v.csv: --time-column 't' holds 'soon', which is neither"):
        parse_times(np.array(["2024-01-02", "soon"], dtype=object), "v.csv", "t")
    # Day-first dates: 12/01/2024 is the 12th of January or the 1st of December; never guessed.
    with pytest.raises(Exception, match="holds '12/01/2024', which reads as two dates"):
        parse_times(np.array(["13/01/2024", "12/01/2024"], dtype=object), "v.csv", "t")
    spelled = parse_times(np.array(["Jan 5, 2026", "13/01/2024"], dtype=object), "v.csv", "t")
    assert [str(d)[:10] for d in spelled] == ["2026-01-05", "2024-01-13"]
    found = temporal(
        "step",
        np.arange(10.0),
        np.array([5.0, 12.0, np.nan]),
        np.arange(10) % 2,
        np.array([0, 1, 0]),
        BINARY,
    )
    assert (found.rows, found.earlier_rows, found.missing_rows) == (2, 1, 1)
    assert found.shown(found.train_end) == "9" and not found.dates
    # A split without any time: nothing to compare, the rule says so (no raised error).
    empty = temporal(
        "step", np.arange(3.0), np.full(2, np.nan), np.arange(3) % 2, np.zeros(2, int), BINARY
    )
    assert (empty.rows, empty.missing_rows) == (0, 2)


def _shuffled(n: int) -> np.ndarray:
    return np.random.default_rng(2).permutation(n)


def test_rows_without_a_group_or_a_time_are_counted_apart_in_the_messages():
    ids, y = _patients(1)
    uncounted = "(50 more val rows without a 'patient' value, not counted)"
    for order, status in ((np.arange(1000), "passed"), (_shuffled(1000), "failed")):
        train, val = ids[order[:800]], ids[order[800:]].astype(object)
        val[:50] = None  # 50 validation rows without a patient id: not in the 150 judged
        ev = with_context({"patient": train}, {"patient": val}, y[:800], y[800:], ["patient"])
        group = _judge(ev, "LK06")
        assert group.status == status and group.observed["patient"]["missing_rows"] == 50
        counted = "0 of 150 rows " if status == "passed" else " of 150 val rows ("
        assert counted in group.message and uncounted in group.message
    times = np.arange(1000.0)
    later = times[800:].copy()
    later[:1] = np.nan
    ev = with_context({"t": times[:800]}, {"t": later}, y[:800], y[800:], time_column="t")
    result = _judge(ev, "LK07")
    assert result.status == "passed" and "0 of 199 val rows (0%) (1 more val row without a 't'" in (
        result.message
    )


def test_dates_in_one_split_and_numbers_in_the_other_are_an_error_not_a_comparison():
    days = np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="'t' holds dates in train and numbers in the other"):
        temporal("t", days, np.array([5.0, 6.0]), np.array([0, 1]), np.array([0, 1]), BINARY)
    ev = with_context(
        {"t": days.repeat(10)},
        {"t": np.arange(20.0)},
        np.arange(20) % 2,
        np.arange(20) % 2,
        time_column="t",
    )
    result = _judge(ev, "LK07")
    assert result.status == "error" and "holds dates in train and numbers" in result.message


def test_without_the_columns_the_rules_are_not_applicable():
    ev = with_context({}, {}, np.array([0, 1] * 10), np.array([0, 1] * 5))
    for rule_id, reason in (("LK06", "no group column was given"), ("LK07", "no time column")):
        result = _judge(ev, rule_id)
        assert result.status == "not_applicable" and reason in result.message


# ---- the command line, on the tiny model's splits with a patient and a visit date -------------


def _with_columns(tiny, folder, *, group_split: bool, time_ordered: bool):
    """The tiny model's splits as CSV, with 'patient' and 'visit' columns beside the features."""
    import pandas as pd

    folder.mkdir()
    paths = {}
    for name, x, y in (("train", tiny.x_train, tiny.y_train), ("val", tiny.x_val, tiny.y_val)):
        frame = pd.DataFrame(x, columns=tiny.names)
        frame.insert(
            0, "patient", [f"{name if group_split else 'p'}-{i // 4}" for i in range(len(x))]
        )
        start = np.datetime64("2025-01-01" if name == "train" or not time_ordered else "2026-01-01")
        visits = start + (np.arange(len(x)) * 7 if not time_ordered else np.arange(len(x)) // 2)
        frame["visit"] = visits.astype("datetime64[D]").astype(str)
        frame["label"] = y
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _audit(tiny, paths, out, *extra):
    import json

    from click.testing import CliRunner

    from auditor.cli import main

    args = ["audit", str(tiny.path("keras")), "--train", str(paths["train"])]
    args += ["--val", str(paths["val"]), "--out", str(out), "--format", "json,md,html", *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    report = json.loads((out / "report.json").read_text()) if result.exit_code in (0, 1) else None
    return result, report


def test_the_command_reads_group_and_time_columns_as_context_not_features(tiny_binary, tmp_path):
    leaky = _with_columns(tiny_binary, tmp_path / "leaky", group_split=False, time_ordered=False)
    result, report = _audit(
        tiny_binary, leaky, tmp_path / "r1", "--group-column", "patient", "--time-column", "visit"
    )
    assert result.exit_code == 1, result.output
    assert report["features"] == tiny_binary.names  # the model takes four features, not six
    by_id = {r["rule_id"]: r for r in report["results"]}
    assert by_id["LK06"]["status"] == "failed" and by_id["LK06"]["category"] == "leakage_group"
    assert by_id["LK06"]["observed"]["patient"]["shared_groups"] == 50  # val patients p-0..p-49
    assert by_id["LK07"]["status"] == "failed" and by_id["LK07"]["category"] == "leakage_temporal"
    assert by_id["LK07"]["observed"]["train_range"] == ["2025-01-01", "2032-08-25"]
    assert set(report["summary"]["blocking"]) >= {"LK06", "LK07"}
    assert report["summary"]["metrics_trustworthy"] is False
    assert [r["action"] for r in report["recommendations"]] == ["none"]
    assert "  ! The metrics are not trustworthy: LK06, LK07 found leakage" in result.output
    assert "not trustworthy" in (tmp_path / "r1" / "summary.md").read_text()
    page = (tmp_path / "r1" / "report.html").read_text()
    assert "<h3>shared groups</h3>" in page and "<h3>label rate over time</h3>" in page
    assert "p-0" in page  # a shared patient, in the evidence table

    clean = _with_columns(tiny_binary, tmp_path / "clean", group_split=True, time_ordered=True)
    result, report = _audit(
        tiny_binary, clean, tmp_path / "r2", "--group-column", "patient", "--time-column", "visit"
    )
    by_id = {r["rule_id"]: r for r in report["results"]}
    assert (by_id["LK06"]["status"], by_id["LK07"]["status"]) == ("passed", "passed")
    assert report["summary"]["metrics_trustworthy"] is True
    assert not [
        r for r in report["results"] if r["status"] == "failed" and r["severity"] == "error"
    ]


def test_a_rule_set_names_the_group_column(tiny_binary, tmp_path):
    leaky = _with_columns(tiny_binary, tmp_path / "leaky", group_split=False, time_ordered=True)
    rules = tmp_path / "rules.yaml"
    rules.write_text("extends: default\nrules:\n  - id: LK06\n    params: {columns: [patient]}\n")
    result, report = _audit(
        tiny_binary, leaky, tmp_path / "r", "--rules", str(rules), "--ignore", "visit"
    )
    assert report["features"] == tiny_binary.names
    (lk06,) = [r for r in report["results"] if r["rule_id"] == "LK06"]
    assert lk06["status"] == "failed" and "'patient' groups" in lk06["message"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--group-column", "nurse"), "--group-column names an unknown column 'nurse'"),
        (("--time-column", "label"), "--time-column is the label column 'label'"),
    ],
)
def test_an_unknown_context_column_is_one_line_and_exit_2(tiny_binary, tmp_path, extra, message):
    paths = _with_columns(tiny_binary, tmp_path / "d", group_split=True, time_ordered=True)
    result, _ = _audit(tiny_binary, paths, tmp_path / "r", *extra)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {paths['train']}: {message}; columns are patient, alpha, beta, gamma, delta, "
        "visit, label"
    ]
    assert not (tmp_path / "r" / "report.json").exists()


def test_a_bad_time_value_is_one_line_and_exit_2(tiny_binary, tmp_path):
    paths = _with_columns(tiny_binary, tmp_path / "d", group_split=True, time_ordered=True)
    text = paths["val"].read_text().splitlines()
    text[3] = text[3].rsplit(",", 2)[0] + ",soon," + text[3].rsplit(",", 1)[1]
    paths["val"].write_text("\n".join(text) + "\n")
    result, _ = _audit(
        tiny_binary, paths, tmp_path / "r", "--time-column", "visit", "--ignore", "patient"
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: {paths['val']}: --time-column 'visit' holds 'soon', which is neither a number nor "
        "a date (write dates as ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00)"
    )


def test_the_python_api_takes_group_columns_and_a_data_frame(tiny_binary):
    import pandas as pd

    import auditor

    frames = {}
    for name, x, y in (
        ("train", tiny_binary.x_train, tiny_binary.y_train),
        ("val", tiny_binary.x_val, tiny_binary.y_val),
    ):
        frame = pd.DataFrame(x, columns=tiny_binary.names)
        frame["customer"] = np.arange(len(x)) % 40  # the same 40 customers on both sides
        frame["label"] = y
        frames[name] = frame
    result = auditor.audit(
        tiny_binary.model, train=frames["train"], val=frames["val"], group_columns=["customer"]
    )
    (lk06,) = [r for r in result.results if r.rule.id == "LK06"]
    assert lk06.status == "failed" and lk06.observed["customer"]["shared_rows"] == 200
    assert result.evaluation.features == tuple(tiny_binary.names)


def test_the_context_column_is_a_feature_only_when_the_model_takes_it(tmp_path):
    from auditor.loading.data import ReadOptions, SplitReader

    path = tmp_path / "train.csv"
    path.write_text("patient,a,b,label\n1,0.5,0.2,1\n2,0.1,0.9,0\n")
    context = (("--group-column", "patient"),)
    narrow = SplitReader("train", path, ReadOptions(n_features=2, context=context))
    assert narrow.features == ["a", "b"]
    assert narrow.column("patient").tolist() == [1, 2]
    wide = SplitReader("train", path, ReadOptions(n_features=3, context=context))
    assert wide.features == ["patient", "a", "b"]  # a flat input as wide as every column
    named = SplitReader("train", path, ReadOptions(feature_names=("patient", "b"), context=context))
    assert named.features == ["patient", "b"]  # a named input takes it by name


def test_rules_explain_shows_the_new_rules():
    from click.testing import CliRunner

    from auditor.cli import main

    for rule_id, words in (("LK06", "GroupShuffleSplit"), ("LK07", "TimeSeriesSplit")):
        result = CliRunner().invoke(main, ["rules", "explain", rule_id])
        assert result.exit_code == 0
        assert f"category leakage_{'group' if rule_id == 'LK06' else 'temporal'}" in result.output
        assert words in result.output and "Example:" in result.output


def test_context_values_follow_the_rows_kept_when_invalid_rows_are_dropped(tiny_binary, tmp_path):
    import pandas as pd

    paths = _with_columns(tiny_binary, tmp_path / "data", group_split=True, time_ordered=True)
    val = pd.read_csv(paths["val"])
    # The first 8 val rows are invalid, and the last 4 belong to a training patient.
    val.loc[:7, tiny_binary.names[0]] = np.nan
    val.loc[196:, "patient"] = "train-0"
    val.to_csv(paths["val"], index=False)
    result, report = _audit(
        tiny_binary,
        paths,
        tmp_path / "r",
        "--group-column",
        "patient",
        "--ignore",
        "visit",
        "--drop-invalid-rows",
    )
    assert report is not None, result.output
    seen = {r["rule_id"]: r for r in report["results"]}["LK06"]["observed"]["patient"]
    assert report["splits"]["val"]["dropped_rows"] == 8
    # Read without the dropped rows' numbers, the context would end at row 191: nothing shared.
    assert (seen["shared_rows"], seen["rows"], seen["shared_groups"]) == (4, 192, 1)
