"""Temperature scaling and its figures, on synthetic data with a known miscalibration."""

import json

import altair as alt
import jsonschema
import numpy as np
import pytest

from showcase import calibration
from showcase import manifest as manifest_lib


def synthetic(true_temperature: float, classes: int = 10, n: int = 20_000, seed: int = 0):
    """Outputs of a model miscalibrated by a known temperature: labels are drawn from softmax(z), the model
    reports softmax(z * true_temperature), so dividing its logits by ``true_temperature`` calibrates it."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(n, classes))
    calibrated = np.exp(logits - logits.max(1, keepdims=True))
    calibrated /= calibrated.sum(1, keepdims=True)
    labels = np.array([rng.choice(classes, p=row) for row in calibrated])
    reported = logits * true_temperature
    reported = np.exp(reported - reported.max(1, keepdims=True))
    return (reported / reported.sum(1, keepdims=True)).astype(np.float32), labels


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_temperature_of_a_known_miscalibration_is_recovered_within_5_percent(true_temperature):
    outputs, labels = synthetic(true_temperature)
    fitted = calibration.fit_temperature_to_outputs(outputs, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    assert calibration.ece(calibration.scaled(outputs, fitted), labels) < 0.02


def test_temperature_of_a_miscalibrated_sigmoid_is_recovered():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2.5, size=20_000)
    labels = (rng.random(len(logits)) < 1 / (1 + np.exp(-logits))).astype(int)
    reported = (1 / (1 + np.exp(-logits * 0.6)))[:, None].astype(np.float32)  # under-confident
    assert calibration.fit_temperature_to_outputs(reported, labels) == pytest.approx(0.6, rel=0.05)


def test_miscalibration_shows_in_ece_and_calibration_removes_it():
    outputs, labels = synthetic(0.4)  # under-confident, like a label-smoothed model
    before = calibration.figures(outputs, labels)
    after = calibration.figures(calibration.scaled(outputs, calibration.fit_temperature_to_outputs(outputs, labels)),
                                labels)
    assert before["ece"] > 0.1 and after["ece"] < 0.02
    assert after["nll"] < before["nll"] and after["brier"] < before["brier"]
    assert after["accuracy"] == before["accuracy"]


@pytest.mark.parametrize("temperature", [0.05, 0.4, 1.7, 20.0])
def test_scaling_changes_no_predicted_class(temperature):
    outputs, _ = synthetic(1.0, n=2000)
    scaled = calibration.scaled(outputs, temperature)
    assert np.array_equal(scaled.argmax(1), outputs.argmax(1))
    assert np.allclose(scaled.sum(1), 1, atol=1e-5)
    sigmoid = np.linspace(0, 1, 1001)[:, None]
    assert np.array_equal(calibration.scaled(sigmoid, temperature) >= 0.5, sigmoid >= 0.5)


def test_scaling_handles_exact_zeros_of_int8_outputs():
    outputs = np.array([[0.99609375, 0.0, 0.00390625, 0.0]], dtype=np.float32)
    scaled = calibration.scaled(outputs, 1.6)
    assert np.isfinite(scaled).all() and scaled.argmax() == 0 and scaled[0, 0] < outputs[0, 0]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_temperature_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="positive"):
        calibration.scaled(np.array([[0.3, 0.7]]), bad)


def test_ece_of_hand_made_bins():
    # Two items at 0.9 confidence (one right) and two at 0.6 (both right): |0.9 - 0.5| and |0.6 - 1|, weighted.
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 1, 0, 1])
    assert calibration.ece(probabilities, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    bins = calibration.reliability_bins(probabilities, labels)
    assert len(bins) == calibration.BINS == 15 and sum(row["count"] for row in bins) == 4
    assert calibration.brier(probabilities, labels) == pytest.approx((0.02 + 1.62 + 0.32 + 0.32) / 4)
    assert calibration.nll(probabilities, labels) == pytest.approx(-np.mean(np.log([0.9, 0.1, 0.6, 0.6])))


def test_a_single_sigmoid_column_is_two_classes():
    assert np.allclose(calibration.class_probabilities(np.array([[0.8]])), [[0.2, 0.8]])
    assert calibration.ece(np.array([[0.8], [0.3]]), np.array([1, 0])) == pytest.approx(0.25)


def test_row_logits_are_summed_per_review_then_scaled():
    # Review 0 has two id rows and its empty row (logit 0.5, the bias alone); review 1 has one row and its empty row.
    outputs = np.array([[1.5], [-0.5], [0.5], [2.0], [0.5]], dtype=np.float32)
    owner = np.array([0, 0, 0, 1, 1])
    items = calibration.item_probabilities(outputs, 0.5, owner, 2)
    assert items.shape == (2, 1)
    # The bias counts once per review: 1.5 - 0.5 + 0.5 - 2 * 0.5 = 0.5, and 2.0 + 0.5 - 0.5 = 2.0.
    assert items[:, 0] == pytest.approx(1 / (1 + np.exp(-np.array([0.5, 2.0]) / 0.5)))


def test_uncalibrated_models_and_formats_are_left_alone():
    class Echo:
        format_name = "tflite"

        def predict(self, batch):
            return batch

    echo = Echo()
    assert calibration.calibrated(echo, {"name": "gan"}) is echo
    entry = {"calibration": {"temperature": 2.0, "per_format": {"tflite": {"temperature": 0.5}}}}
    wrapped = calibration.calibrated(echo, entry)
    assert wrapped.temperature == 0.5 and wrapped.format_name == "tflite"
    assert calibration.temperature(entry, "onnx") == 2.0
    assert calibration.calibrated(echo, {"calibration": {**entry["calibration"], "applies_to": "review"}}) is echo
    assert np.allclose(wrapped.predict(np.array([[0.2, 0.8]])), calibration.scaled(np.array([[0.2, 0.8]]), 0.5))


def test_a_calibrated_predictor_is_not_calibrated_twice():
    class Echo:
        format_name = "tflite"

        def predict(self, batch):
            return batch

    wrapped = calibration.calibrated(Echo(), {"calibration": {"temperature": 0.5}})
    assert calibration.calibrated(wrapped, {"calibration": {"temperature": 0.5}}) is wrapped


def test_reliability_chart_draws_both_versions_and_the_counts():
    outputs, labels = synthetic(0.5, n=2000)
    before = calibration.reliability_bins(outputs, labels)
    after = calibration.reliability_bins(calibration.scaled(outputs, 0.5), labels)
    chart = calibration.reliability_chart(before, after)
    assert isinstance(chart, alt.VConcatChart)
    frame = calibration.reliability_frame(before, after)
    assert (frame["bar_start"] < frame["bar_end"]).all()
    spec = json.dumps(chart.to_dict())
    assert "before calibration" in spec and "after calibration" in spec and '"count"' in spec
    assert frame.groupby("version")["count"].sum().tolist() == [2000, 2000]


CLASSIFIERS = ["digits", "flowers", "sentiment"]


@pytest.mark.parametrize("model_name", CLASSIFIERS)
def test_manifest_records_calibration_per_served_format(model_name):
    entry = manifest_lib.model_entry(model_name)
    record = entry["calibration"]
    assert set(record["per_format"]) == set(entry["artifacts"])
    schema = json.loads(manifest_lib.SCHEMA_PATH.read_text())
    jsonschema.validate(record, {"$defs": schema["$defs"], "$ref": "#/$defs/calibration"})
    for figures in record["per_format"].values():
        assert figures["temperature"] > 0
        assert figures["after"]["accuracy"] == figures["before"]["accuracy"]
        for key in ("ece", "brier", "nll"):
            assert 0 <= figures["after"][key] and 0 <= figures["before"][key]
        assert sum(row["count"] for row in figures["reliability"]["after"]) == record["report_split"]["n"]


def test_flowers_not_sure_threshold_was_chosen_on_calibrated_outputs():
    not_sure = manifest_lib.model_entry("flowers")["extra"]["not_sure"]
    assert "calibrated" in not_sure["chosen_on"] and "threshold" in not_sure["before_calibration"]


def test_formats_table_has_ece_per_served_format_beside_the_metric():
    from showcase import format_report

    manifest = manifest_lib.load_manifest()
    figures = {"bytes": 1000, "p50_ms": 1.0, "p95_ms": 2.0, "load_seconds": 0.1, "first_inference_ms": 1.0,
               "batch32_items_per_second": 100.0, "memory_growth_mb": 1.0,
               "metric": {"metric": "accuracy", "value": 0.99, "delta_vs_reference": 0.0, "higher_is_better": True}}
    benchmark = {"models": {"digits": {"formats": {"savedmodel": figures, "tflite_int8": figures,
                                                   "tflite_fp16": figures}}}}
    table = format_report.rows(benchmark, manifest).set_index("format")
    recorded = manifest["models"]["digits"]["calibration"]["per_format"]
    assert table.loc["tflite_int8", "ECE calibrated"] == recorded["tflite_int8"]["after"]["ece"]
    assert table.loc["savedmodel", "ECE raw"] == recorded["savedmodel"]["before"]["ece"]
    assert table["ECE calibrated"].isna()["tflite_fp16"]  # A built variant has no calibration record.
