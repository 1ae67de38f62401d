"""Stock forecaster: a stacked LSTM predicting 10/50/90% quantiles of the next 30 days' price, honestly evaluated.

Run:
    python training/train_forecast.py

Data: daily adjusted closes of AAPL, GOOG, IBM and MSFT (2000–2013) from the ``bokeh-sampledata`` package,
installed with the project's requirements (no download at training time).

One model serves all four tickers and any uploaded series: each 60-day window of daily log returns is
normalised by its own volatility (``showcase.tasks.forecast``), and the model predicts quantiles of the
cumulative log return for every horizon from 1 to 30 days, in units of that volatility. The split is by
time and by the dates of the targets: windows whose targets end by 2010-12-31 train the model, 2011
validates it (early stopping and interval calibration), 2012 to March 2013 tests it. The input scaler is
fit on the training windows only.

The 80% interval is calibrated on 2011 (split-conformal style: one width multiplier per horizon, baked into
the exported model), and its coverage is then measured on the test period. The LSTM is compared with the
naive, drift and moving-average baselines at 1, 5 and 20 days, per ticker; all figures go into the manifest.

Writes models/forecast/{savedmodel,model.tflite,model.onnx} (plus model_int8.tflite only if full-integer
quantization keeps the test metrics within the rule in ``int8_verdict``), samples/forecast/msft_2012_2013.csv
and the "forecast" entry of models/manifest.json.
"""

# ## Setup

from __future__ import annotations

import argparse

import keras
import numpy as np
import pandas as pd
from common import evaluate_formats, manifest_entry, start_run, training_record
from keras import layers, ops

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.export import export_all, export_tflite_int8
from showcase.formats import ONNX, SAVEDMODEL, TFLITE, TFLITE_INT8
from showcase.tasks import forecast as fc

SEED = 1337
BATCH_SIZE = 256
SERVING_FORMATS = (SAVEDMODEL, TFLITE, ONNX)
# Largest difference allowed between the formats' raw outputs on the test windows.
FORMAT_TOLERANCE = 1e-4
COMMAND = "python training/train_forecast.py"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40, help="most epochs; early stopping on 2011 ends sooner")
    return parser.parse_args()


# ## Data
#
# ``fc.load_split_windows`` cuts every ticker's windows by period and ``fc.training_scaler`` fits the input
# scaler on the training windows only; both live in ``showcase.tasks.forecast`` beside the tests that check them.


def arrays(period_windows, scaler):
    """Model inputs and normalised targets of one period, all tickers stacked."""
    inputs = np.concatenate([fc.model_input(w["normalised"], w["volatility"], scaler) for w in period_windows])
    targets = np.concatenate([fc.targets(w["series"].prices, w["origins"], w["volatility"]) for w in period_windows])
    return inputs, targets.astype(np.float32)


# ## Model


class QuantileHead(layers.Layer):
    """Median and two positive widths (softplus) -> monotonic 10/50/90% quantiles, widths scaled per horizon."""

    def build(self, input_shape):
        self.interval_scale = self.add_weight(shape=(fc.HORIZON, 1), initializer="ones", trainable=False,
                                              name="interval_scale")

    def call(self, x):
        median = x[:, :, 1:2]
        lower = median - ops.softplus(x[:, :, 0:1]) * self.interval_scale
        upper = median + ops.softplus(x[:, :, 2:3]) * self.interval_scale
        return ops.concatenate([lower, median, upper], axis=-1)


def build_model():
    """Two stacked LSTMs (64 and 32 units) and a dense head giving monotonic quantiles for 30 horizons.

    ``unroll=True`` over the fixed 60-day lookback turns the recurrence into plain matrix ops, which
    TFLite converts with builtin ops and ONNX exports without loops. The head predicts the median and
    two positive widths (softplus), so the 10% quantile can never exceed the median nor the median the
    90% one. ``interval_scale`` (one multiplier per horizon) is set after training by the calibration.
    """
    inputs = keras.Input(shape=(fc.LOOKBACK, fc.FEATURES), name="returns")
    x = layers.LSTM(64, return_sequences=True, unroll=True)(inputs)
    x = layers.LSTM(32, unroll=True)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(fc.HORIZON * len(fc.QUANTILES))(x)
    x = layers.Reshape((fc.HORIZON, len(fc.QUANTILES)))(x)
    outputs = QuantileHead(name="quantiles")(x)
    return keras.Model(inputs, outputs, name="forecast_lstm")


def pinball_loss(y_true, y_pred):
    levels = ops.convert_to_tensor(fc.QUANTILES, dtype="float32")
    difference = ops.expand_dims(y_true, -1) - y_pred
    return ops.mean(ops.maximum(levels * difference, (levels - 1.0) * difference))


# ## Train


def train(model, train_data, validation_data, epochs):
    # XLA compilation of the unrolled LSTM costs more time than it saves on a CPU.
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss=pinball_loss, jit_compile=False)
    stop = keras.callbacks.EarlyStopping(patience=6, restore_best_weights=True)
    history = model.fit(*train_data, validation_data=validation_data, epochs=epochs, batch_size=BATCH_SIZE,
                        shuffle=True, callbacks=[stop], verbose=2)
    return history.history


def calibrate_interval(model, validation_inputs, validation_targets) -> np.ndarray:
    """Per horizon, the width multiplier that makes 80% of the 2011 targets fall inside the interval.

    For each window, the smallest multiplier k that would include its target is how far outside (or
    inside) the current interval the target lies, relative to the interval's width on that side; the
    80th percentile of those is the multiplier.
    """
    output = model.predict(validation_inputs, verbose=0)
    lower_width = output[:, :, 1] - output[:, :, 0]
    upper_width = output[:, :, 2] - output[:, :, 1]
    needed = np.maximum((output[:, :, 1] - validation_targets) / lower_width,
                        (validation_targets - output[:, :, 1]) / upper_width)
    multiplier = np.quantile(needed, 0.8, axis=0)
    head = model.get_layer("quantiles")
    head.interval_scale.assign(multiplier.reshape(fc.HORIZON, 1).astype(np.float32))
    return multiplier


# ## Evaluate
#
# ``fc.price_forecasts`` turns one predict function's outputs on a period's windows into price quantiles, and
# ``fc.evaluate_forecasts`` measures them against the naive baselines (both in ``showcase.tasks.forecast``).


def compare_formats(entry, test_windows, scaler, keras_forecasts):
    """Each format's largest difference from the Keras model on every test window, in output and price units.

    ``keras_forecasts`` is ``fc.price_forecasts``'s (prices, outputs) for the Keras model.
    """

    def format_figures(forecasts, reference):
        (prices, outputs), (reference_prices, reference_outputs) = forecasts, reference
        _, values = fc.evaluate_forecasts(test_windows, prices)
        return {
            "max_abs_output_difference": float(max(np.abs(outputs[t] - reference_outputs[t]).max() for t in outputs)),
            "max_abs_price_difference": float(max(np.abs(prices[t] - reference_prices[t]).max() for t in prices)),
            "coverage_80_h5": values["coverage_80_h5"],
            "lstm_mape_h5": values["lstm_mape_h5"],
        }

    per_format, _ = evaluate_formats(
        "forecast", entry["artifacts"], lambda predictor: fc.price_forecasts(predictor.predict, test_windows, scaler),
        format_figures, reference=keras_forecasts)
    return per_format


def int8_verdict(model, export_dir, windows, scaler, fp32_values):
    """Try a full-int8 TFLite model; keep it only if its test metrics stay close to the float model's.

    Returns (path or None, a record of the decision for the manifest).
    """
    calibration, _ = arrays(windows["train"], scaler)
    calibration = calibration[np.random.default_rng(SEED).choice(len(calibration), 512, replace=False)]
    path = paths.CACHE_DIR / "forecast" / "model_int8.tflite"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        export_tflite_int8(export_dir / "savedmodel", path, lambda: np.array_split(calibration, 512))
    except Exception as error:  # The converter's failure is the verdict; record it rather than crash.
        return None, {"kept": False, "reason": f"conversion failed: {type(error).__name__}: {error}"[:300]}
    predictor = runtime.TFLitePredictor(path, TFLITE_INT8)
    prices, _ = fc.price_forecasts(predictor.predict, windows["test"], scaler)
    _, values = fc.evaluate_forecasts(windows["test"], prices)
    worst_mape = max(values[f"lstm_mape_h{h}"] / fp32_values[f"lstm_mape_h{h}"] - 1 for h in fc.EVALUATION_HORIZONS)
    worst_coverage = max(abs(values[f"coverage_80_h{h}"] - fp32_values[f"coverage_80_h{h}"])
                         for h in fc.EVALUATION_HORIZONS)
    kept = worst_mape <= 0.01 and worst_coverage <= 0.02
    record = {"kept": kept, "worst_relative_mape_increase": round(worst_mape, 4),
              "worst_coverage_change": round(worst_coverage, 4),
              "rule": "kept only if the int8 MAPE is within 1% (relative) and the 80% coverage within 2 points "
                      "of the float model at every evaluated horizon", "values": values}
    if not kept:
        return None, record
    destination = export_dir / "model_int8.tflite"
    destination.write_bytes(path.read_bytes())
    return destination, record


# ## Export


def write_sample(series):
    """A small CSV (the last 150 trading days of MSFT) for the page's upload and the tests."""
    directory = paths.SAMPLES_DIR / "forecast"
    directory.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"Date": pd.DatetimeIndex(series.dates[-150:]).strftime("%Y-%m-%d"),
                          "Close": np.round(series.prices[-150:], 4)})
    table.to_csv(directory / "msft_2012_2013.csv", index=False)


def main() -> None:
    args = parse_args()
    stopwatch = start_run(SEED)
    windows = fc.load_split_windows()
    scaler = fc.training_scaler(windows)
    train_data, validation_data = arrays(windows["train"], scaler), arrays(windows["validation"], scaler)
    print(f"Windows: {len(train_data[0])} train, {len(validation_data[0])} validation, "
          f"{sum(len(w['origins']) for w in windows['test'])} test; scaler {scaler}")

    model = build_model()
    model.summary(print_fn=lambda line, **_: print(line))
    history = train(model, train_data, validation_data, args.epochs)

    def keras_predict(batch):
        return model.predict(batch, verbose=0)

    raw_prices, _ = fc.price_forecasts(keras_predict, windows["test"], scaler)
    _, raw_values = fc.evaluate_forecasts(windows["test"], raw_prices)
    multiplier = calibrate_interval(model, *validation_data)
    training_seconds = stopwatch.seconds

    output_dir = paths.MODELS_DIR / "forecast"
    (output_dir / "model_int8.tflite").unlink(missing_ok=True)
    artifacts = export_all(model, output_dir)
    keras_forecasts = fc.price_forecasts(keras_predict, windows["test"], scaler)
    rows, values = fc.evaluate_forecasts(windows["test"], keras_forecasts[0])
    int8_path, int8_record = int8_verdict(model, output_dir, windows, scaler, values)
    if int8_path is not None:
        artifacts[TFLITE_INT8] = int8_path
    write_sample(windows["test"][fc.TICKERS.index("MSFT")]["series"])

    entry = manifest_entry(
        "forecast",
        title="Stock forecast",
        task="time-series forecasting (30-day quantiles)",
        summary="A 30-day price forecast with an 80% interval for four stocks or your own CSV, "
        "compared with naive baselines on 2012–2013.",
        labels=[f"q{int(level * 100)}" for level in fc.QUANTILES],
        input_shape=(fc.LOOKBACK, fc.FEATURES), input_dtype="float32", input_range=(-fc.INPUT_CLIP, fc.INPUT_CLIP),
        preprocessing=fc.PREPROCESSING_ID,
        data="Daily adjusted closes of AAPL, GOOG, IBM and MSFT, 2000-03-01 to 2013-03-01 (GOOG from "
        f"2004-08-19), as {fc.LOOKBACK}-day windows of log returns. Split by the dates of the targets: "
        f"train through 2010 ({len(train_data[0])} windows), validate on 2011 ({len(validation_data[0])}), "
        "test on 2012-01-03 to 2013-03-01.",
        data_source="bokeh-sampledata (stocks module; Yahoo Finance daily prices)",
        data_license="BSD-3-Clause (bokeh-sampledata package)",
        architecture=f"Stacked LSTM (64 and 32 units, unrolled over a {fc.LOOKBACK}-day lookback of 2 features), "
        f"dropout 0.2, dense 64 (ReLU), dense {fc.HORIZON}×3 to monotonic 10/50/90% quantiles (median ± softplus "
        "widths, scaled per horizon by a multiplier calibrated on 2011). Pinball loss, Adam, early stopping on 2011.",
        artifacts=artifacts,
        parameters=model.count_params(),
        training=training_record(training_seconds, len(history["loss"]), SEED, BATCH_SIZE, COMMAND),
        metrics={"dataset": "4 stocks, 2012–2013", "split": "test", "headline": "coverage_80_h5",
                 "n": sum(len(w["origins"]) for w in windows["test"]), "values": values},
        extra={
            "lookback": fc.LOOKBACK, "horizon": fc.HORIZON, "quantiles": list(fc.QUANTILES),
            "evaluation_horizons": list(fc.EVALUATION_HORIZONS), "tickers": list(fc.TICKERS),
            "split": {"train_targets_through": str(fc.TRAIN_END.date()), "validation_targets": "2011",
                      "test_targets_from": fc.TEST_START.date().isoformat()},
            "scaler": scaler.to_dict(),
            "interval_multiplier_per_horizon": [round(float(m), 4) for m in multiplier],
            "uncalibrated_test_values": raw_values,
            "metrics_table": rows,
            "validation_pinball_loss": round(float(min(history["val_loss"])), 5),
            "format_tolerance": FORMAT_TOLERANCE,
            "tflite_int8": int8_record,
        },
    )
    manifest_lib.update_model_entry(entry)

    per_format = compare_formats(entry, windows["test"], scaler, keras_forecasts)
    worst = max(per_format[name]["max_abs_output_difference"] for name in SERVING_FORMATS)
    entry["metrics"]["per_format"] = per_format
    entry["extra"]["formats_agree_within_tolerance"] = bool(worst <= FORMAT_TOLERANCE)
    entry["extra"]["max_abs_output_difference_between_float_formats"] = worst
    manifest_lib.update_model_entry(entry)

    print(f"Trained in {training_seconds:.0f} s ({len(history['loss'])} epochs); interval multipliers "
          f"{np.round(multiplier[[0, 4, 19]], 3)} at h=1/5/20.")
    print(f"Test values: {values}\nUncalibrated: {raw_values}\nint8: {int8_record}")
    for name, figures in per_format.items():
        print(f"  {name:12s} {figures}")
    if worst > FORMAT_TOLERANCE:
        raise SystemExit(f"The serving formats disagree by {worst:.2e} > {FORMAT_TOLERANCE:g} on the test windows.")


if __name__ == "__main__":
    main()
