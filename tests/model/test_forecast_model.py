"""The committed forecast model: manifest entry, output shape and order, format agreement, honest metrics."""

import json

import jsonschema
import numpy as np
import pytest

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.tasks import forecast as fc


@pytest.fixture(scope="module")
def entry():
    return manifest_lib.model_entry("forecast")


@pytest.fixture(scope="module")
def test_windows():
    return fc.load_split_windows()["test"]


@pytest.fixture(scope="module")
def scaler(entry):
    return fc.Scaler.from_dict(entry["extra"]["scaler"])


def test_entry_satisfies_the_schema_and_artifacts_match(entry):
    schema = json.loads(manifest_lib.SCHEMA_PATH.read_text())
    jsonschema.validate({"schema_version": 1, "models": {"forecast": entry}}, schema)
    for record in entry["artifacts"].values():
        assert manifest_lib.verify_artifact(record) is None
    assert {"savedmodel", "tflite", "onnx"} <= set(entry["artifacts"])
    total = sum(record["bytes"] for record in entry["artifacts"].values())
    assert total < 5_000_000, f"artifacts take {total} bytes"


def test_manifest_scaler_is_the_training_period_scaler(entry):
    expected = fc.training_scaler(fc.load_split_windows())
    assert fc.Scaler.from_dict(entry["extra"]["scaler"]) == expected


@pytest.mark.parametrize("format_name", ["tflite", "onnx"])
def test_output_shape_and_monotonic_quantiles(format_name, test_windows, scaler):
    predictor = runtime.load("forecast", format_name)
    for window in test_windows:
        output = predictor.predict(fc.model_input(window["normalised"], window["volatility"], scaler))
        assert output.shape == (len(window["origins"]), fc.HORIZON, 3) and output.dtype == np.float32
        assert np.all(np.diff(output, axis=-1) >= 0), "quantiles out of order"


def test_float_formats_agree_within_1e_4_on_the_test_windows(entry, test_windows, scaler):
    batch = np.concatenate([fc.model_input(w["normalised"], w["volatility"], scaler) for w in test_windows])
    outputs = {name: runtime.load("forecast", name).predict(batch) for name in ("savedmodel", "tflite", "onnx")}
    for name in ("tflite", "onnx"):
        assert np.abs(outputs[name] - outputs["savedmodel"]).max() <= 1e-4, name
    assert entry["extra"]["formats_agree_within_tolerance"] is True


def test_manifest_metrics_are_reproduced_from_the_artifact(entry, test_windows, scaler):
    predictor = runtime.load("forecast", "tflite")
    prices, _ = fc.price_forecasts(predictor.predict, test_windows, scaler)
    rows, values = fc.evaluate_forecasts(test_windows, prices)
    for key, value in entry["metrics"]["values"].items():
        assert values[key] == pytest.approx(value, abs=2e-3), key
    recorded = {(r["ticker"], r["horizon"], r["method"]): r for r in entry["extra"]["metrics_table"]}
    for row in rows:
        assert row["mae"] == pytest.approx(recorded[(row["ticker"], row["horizon"], row["method"])]["mae"], rel=1e-3)


def test_metrics_table_covers_every_ticker_horizon_and_method(entry):
    rows = entry["extra"]["metrics_table"]
    keys = {(r["ticker"], r["horizon"], r["method"]) for r in rows}
    assert keys == {(t, h, m) for t in fc.TICKERS for h in fc.EVALUATION_HORIZONS
                    for m in ("lstm", "naive", "drift", "moving_average")}
    for row in rows:
        assert row["n"] > 200 and row["mae"] > 0 and row["rmse"] >= row["mae"]
        assert (row["coverage_80"] is not None) == (row["method"] == "lstm")


def test_interval_coverage_is_near_80_percent(entry):
    values = entry["metrics"]["values"]
    for horizon in fc.EVALUATION_HORIZONS:
        assert 0.70 <= values[f"coverage_80_h{horizon}"] <= 0.90, (horizon, values)


def test_int8_decision_is_recorded(entry):
    record = entry["extra"]["tflite_int8"]
    assert record["kept"] == ("tflite_int8" in entry["artifacts"])


def page_steps_before_the_forecaster(predictor, scaler, series, horizon, first_target):
    """The Forecast page's steps before it used ``Forecaster``: its forecast and backtest quantiles."""
    batch, volatility = fc.latest_window(series, scaler)
    quantiles = fc.to_price_quantiles(predictor.predict(batch), series.prices[-1:], np.array([volatility]))[0, :horizon]
    inputs, origins, volatilities = fc.backtest_windows(series, scaler, horizon, first_target, 250)
    backtest = fc.to_price_quantiles(predictor.predict(inputs), series.prices[origins], volatilities)
    return quantiles, origins, backtest[:, horizon - 1]


@pytest.mark.parametrize("format_name", ["tflite", "tflite_int8", "onnx"])
def test_the_forecaster_gives_what_the_page_showed_for_every_ticker_and_the_sample(entry, scaler, format_name):
    predictor = runtime.load("forecast", format_name)
    forecaster = fc.Forecaster(predictor, entry)
    sample = fc.read_csv_upload((paths.SAMPLES_DIR / "forecast" / "msft_2012_2013.csv").read_bytes())
    uploaded, _ = fc.series_from_table(sample, *fc.guess_columns(sample))
    cases = [(fc.builtin_series(ticker), np.datetime64("2012-01-01"), fc.TEST_START) for ticker in fc.TICKERS]
    for series, first_target, backtest_start in cases + [(uploaded, None, None)]:
        for horizon in (1, 20, fc.HORIZON):
            result = forecaster.forecast(series, horizon, backtest_start=backtest_start)
            quantiles, origins, backtest = page_steps_before_the_forecaster(predictor, scaler, series, horizon,
                                                                            first_target)
            np.testing.assert_array_equal(result.quantiles, quantiles)
            np.testing.assert_array_equal(result.backtest[0], origins)
            np.testing.assert_array_equal(result.backtest[1], backtest)
            assert result.median == quantiles[-1, 1] and result.series is series
