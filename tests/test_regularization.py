"""Regularization advice: reading the penalties, the direction of each recommendation, the sweep."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import architecture, evaluation, split_with_metrics

from auditor.facts.weights import analyse_weights
from auditor.loading.architecture import Architecture, LayerFacts, Penalty
from auditor.regularization import nice, recommend, threshold_for_recall
from auditor.rules import load_rule_set, run_rules


def _advice(ev):
    results = run_rules(ev, load_rule_set())
    return recommend(ev, results), results


def _dense(name, shape, l1=0.0, l2=0.0, seed=0, units=None):
    rng = np.random.default_rng(seed)
    reg = Penalty(l1=l1, l2=l2) if (l1 or l2) else None
    return LayerFacts(
        name,
        "Dense",
        units=units or shape[1],
        activation="relu",
        kernel_regularizer=reg,
        kernel=rng.normal(scale=0.3, size=shape).astype(np.float32),
    )


def test_nice_rounds_to_the_125_grid():
    assert [nice(v) for v in (1.3e-4, 1.7e-3, 3.4e-3, 8e-2, 0.0)] == [1e-4, 2e-3, 5e-3, 0.1, 0.0]


def test_overfitting_with_l2_scales_up_from_the_current_value():
    arch = Architecture(
        layers=(_dense("hidden", (3, 8), l2=1e-4), _dense("out", (8, 1), units=1)),
        config_readable=True,
    )
    ev = evaluation(
        {
            "train": split_with_metrics("train", loss=0.10),
            "val": split_with_metrics("val", loss=0.60),
        },
        arch=arch,
    )
    recs, results = _advice(ev)
    assert any(r.rule.id == "OF01" and r.status == "failed" for r in results)
    top = recs[0]
    assert top.action == "increase_l2"
    assert top.layers == ("hidden",)
    assert top.current == {"hidden": {"l1": 0.0, "l2": 1e-4}}
    # Error-level gap: x10 from the current value, at least the strength whose penalty is half the
    # gap.
    from_gap = 0.5 * 0.5 / float((arch.layers[0].kernel.astype(np.float64) ** 2).sum())
    assert top.suggested["hidden"]["l2"] == nice(max(1e-3, from_gap))
    assert "OF01" in top.reason and "L1L2(l1=0, l2=" in top.snippet
    assert "validation loss falls" in top.expected_effect


def test_overfitting_with_many_ignored_features_adds_l1_on_the_first_layer():
    kernel = np.zeros((10, 8), np.float32)
    kernel[:3] = 0.5  # three features carry all the weight, seven none
    first = LayerFacts("first", "Dense", units=8, activation="relu", kernel=kernel)
    arch = Architecture(layers=(first, _dense("out", (8, 1), units=1)), config_readable=True)
    ev = evaluation(
        {
            "train": split_with_metrics("train", loss=0.10),
            "val": split_with_metrics("val", loss=0.60),
        },
        arch=arch,
    )
    ev = type(ev)(**{**ev.__dict__, "features": tuple(f"f{i}" for i in range(10))})
    recs, _ = _advice(ev)
    assert recs[0].action == "add_l1"
    assert recs[0].layers == ("first",)
    assert recs[0].suggested["first"]["l1"] > 0
    assert "7 of 10 input features get less than half" in " ".join(recs[0].evidence)


def test_strong_l2_that_underfits_is_decreased():
    arch = architecture(l2=5.0)
    base = split_with_metrics("train")
    near = base.baseline["log_loss"] * 0.98  # barely better than predicting class frequencies
    splits = {
        "train": split_with_metrics("train", loss=near, log_loss=near),
        "val": split_with_metrics("val", loss=near, log_loss=near),
    }
    ev = evaluation(splits, arch=arch, penalty=0.05)
    recs, results = _advice(ev)
    assert any(r.rule.id == "UF02" and r.status == "failed" for r in results)
    top = recs[0]
    assert top.action == "decrease_regularization"
    assert top.current["dense"]["l2"] == 5.0
    # Divided by 10, capped at the top of the usual range.
    assert top.suggested["dense"]["l2"] == 0.01
    assert "More regularization would make it worse" in top.reason


def test_underfitting_without_regularization_says_it_is_not_the_lever():
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 40)
    from helpers import split_from_predictions

    noise = 0.4 + 0.01 * rng.uniform(size=100)  # ranks at chance, loss near the baseline
    train = split_from_predictions("train", y, noise, ("0", "1"))
    ev = evaluation(
        {"train": train, "val": split_from_predictions("val", y, noise, ("0", "1"))},
        arch=architecture(),
    )
    recs, results = _advice(ev)
    assert any(r.rule.id == "UF01" and r.status == "failed" for r in results), [
        r.message for r in results if r.rule.id == "UF01"
    ]
    assert recs[0].action == "none" and "not the lever" in recs[0].reason


def test_healthy_model_gets_an_explicit_no_change():
    ev = evaluation(
        {
            "train": split_with_metrics("train", loss=0.30),
            "val": split_with_metrics("val", loss=0.31),
        }
    )
    recs, _ = _advice(ev)
    assert recs[0].action == "none"
    assert recs[0].reason.startswith("No regularization change")


def test_missed_minority_points_at_the_threshold_first():
    from helpers import split_from_predictions

    rng = np.random.default_rng(1)
    y = np.array([0] * 180 + [1] * 20)
    p = np.where(y == 1, rng.uniform(0.2, 0.6, 200), rng.uniform(0.0, 0.3, 200))
    splits = {n: split_from_predictions(n, y, p, ("0", "1")) for n in ("train", "val")}
    ev = evaluation(splits)
    recs, results = _advice(ev)
    assert any(r.rule.id == "RC01" and r.status == "failed" for r in results)
    top = recs[0]
    assert top.action == "adjust_threshold"
    t = top.suggested["threshold"]
    assert t < 0.5
    recall = ((p >= t) & (y == 1)).sum() / 20
    assert recall >= 0.5  # meets the floor of the blocking rule (RC01, error)
    assert "Recall 0.7 would need" in top.reason  # and quotes the warning floor's cost (RC02)
    assert top.suggested["class_weight"] == {"0": round(200 / (2 * 180), 3), "1": 5.0}
    assert "prefer L2" in top.reason


def test_threshold_for_recall_of_the_negative_class():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.55, 0.6, 0.7, 0.65, 0.8, 0.9, 0.95])
    t, recall, precision = threshold_for_recall(y, p1, 0, 0.75)
    pred0 = p1 < t  # class 0 is predicted below the threshold on P(class 1)
    assert (pred0 & (y == 0)).sum() / 4 == pytest.approx(recall)
    assert recall >= 0.75
    assert (pred0 & (y == 0)).sum() / pred0.sum() == pytest.approx(precision)
    assert t == pytest.approx(0.6, abs=1e-6)  # the nearest threshold that recalls 3 of the 4


def test_weight_analysis_numbers():
    kernel = np.array([[1.0, -1.0], [0.001, 0.0], [2.0, 0.0]], np.float32)
    arch = Architecture(
        layers=(LayerFacts("d", "Dense", units=2, kernel=kernel),), config_readable=True
    )
    analysis = analyse_weights(arch, ("a", "b", "c"))
    layer = analysis.layers[0]
    assert layer.l1_norm == pytest.approx(4.001, abs=1e-6)
    assert layer.l2_norm == pytest.approx(np.sqrt(6.000001), abs=1e-6)
    assert layer.near_zero_share == pytest.approx(3 / 6)  # |w| < 1% of 2.0
    assert analysis.feature_mass["b"] == pytest.approx(0.001 / 4.001, rel=1e-5)
    assert analysis.ignored_features == ("b",)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_regularizers_read_back_equal_the_built_ones(tmp_path, fmt):
    import keras

    from auditor.loading.model import load_model

    inputs = keras.Input((4,))
    h = keras.layers.Dense(
        6,
        activation="relu",
        name="a",
        kernel_regularizer=keras.regularizers.L1L2(l1=3e-4, l2=2e-3),
        bias_regularizer=keras.regularizers.L2(1e-5),
        activity_regularizer=keras.regularizers.L1(1e-6),
    )(inputs)
    h = keras.layers.Dropout(0.35, name="drop")(h)
    out = keras.layers.Dense(
        1, activation="sigmoid", name="b", kernel_regularizer=keras.regularizers.L2(0.05)
    )(h)
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.AdamW(weight_decay=0.004), loss="binary_crossentropy")
    path = tmp_path / f"m.{fmt}"
    model.save(path)
    arch = load_model(path).architecture
    layers = {layer.name: layer for layer in arch.layers}
    assert (layers["a"].kernel_regularizer.l1, layers["a"].kernel_regularizer.l2) == pytest.approx(
        (3e-4, 2e-3)
    )
    assert layers["a"].bias_regularizer.l2 == pytest.approx(1e-5)
    assert layers["a"].activity_regularizer.l1 == pytest.approx(1e-6)
    assert layers["drop"].dropout_rate == pytest.approx(0.35)
    assert layers["b"].kernel_regularizer.l2 == pytest.approx(0.05)
    assert arch.weight_decay == pytest.approx(0.004)
    np.testing.assert_allclose(layers["a"].kernel, model.get_layer("a").kernel.numpy())


@pytest.mark.slow
def test_sweep_on_the_overfit_sample_finds_a_lower_validation_loss():
    from test_samples import _build

    from auditor.api import audit

    folder = _build("overfit")
    result = audit(
        folder / "model.keras",
        train=folder / "train.csv",
        val=folder / "val.csv",
        sweep=True,
        sweep_epochs=15,
        sweep_budget=40,
        seed=1,
    )
    sweep = result.sweep
    assert sweep is not None and sweep.action in ("add_l1", "increase_l2")
    control = next(r for r in sweep.runs if r.control)
    best = min(sweep.runs, key=lambda r: r.val_loss)
    assert best.val_loss < control.val_loss and not best.control
    assert sweep.confirms


@pytest.mark.slow
def test_sweep_on_the_overregularized_sample_confirms_less_helps():
    from test_samples import _build

    from auditor.api import audit

    folder = _build("overregularized")
    result = audit(
        folder / "model.keras",
        train=folder / "train.csv",
        val=folder / "val.csv",
        sweep=True,
        sweep_epochs=30,
        sweep_budget=40,
        seed=1,
    )
    assert result.recommendations[0].action in ("decrease_regularization", "remove_regularization")
    sweep = result.sweep
    assert sweep is not None and sweep.confirms
    best = min(sweep.runs, key=lambda r: r.val_loss)
    assert best.strength < 5.0


def test_a_sweep_that_prefers_another_strength_says_so_and_which():
    from auditor.regularization import Recommendation
    from auditor.sweep import SweepRun, _conclude

    def run(strength: float, val_loss: float) -> SweepRun:
        label = "current" if strength == 0 else f"L1 {strength:g}"
        return SweepRun(label, "l1", strength, strength == 0, 5, 1.0, 0.2, val_loss, 0.9, 0.9)

    rec = Recommendation(
        "add_l1", ("dense",), {"dense": {"l1": 0.0}}, {"dense": {"l1": 1e-3}}, "", (), ""
    )
    runs = [run(0.0, 0.50), run(1e-3, 0.45), run(1e-2, 0.40)]
    elsewhere = _conclude(rec, "l1", 0.0, runs, {})
    assert elsewhere.confirms and elsewhere.best == "L1 0.01"
    assert elsewhere.conclusion.endswith(
        "the sweep confirms the direction of the recommendation, at L1 0.01 rather than the "
        "recommended 0.001."
    )
    there = _conclude(rec, "l1", 0.0, [run(0.0, 0.50), run(1e-3, 0.40), run(1e-2, 0.45)], {})
    assert there.confirms and there.conclusion.endswith("the sweep confirms the recommendation.")
    worse = _conclude(rec, "l1", 0.0, [run(0.0, 0.40), run(1e-3, 0.45)], {})
    assert not worse.confirms and "does not confirm" in worse.conclusion
