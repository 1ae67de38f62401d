"""The Formats page's table, summary and target checks, computed from a small hand-made benchmark result."""

import pandas as pd

from showcase import format_report


def figures(megabytes, p50, metric=None, delta=None, higher_is_better=True):
    result = {"bytes": int(megabytes * 1e6), "p50_ms": p50, "p95_ms": p50 * 1.2, "load_seconds": 0.1,
              "first_inference_ms": p50 * 3, "batch32_items_per_second": 1000 / p50, "memory_growth_mb": 10.0}
    if metric is not None:
        result["metric"] = {"metric": "accuracy" if higher_is_better else "pinball_loss", "value": metric,
                            "delta_vs_reference": delta, "higher_is_better": higher_is_better}
    return result


SERVED = {"savedmodel": {}, "tflite": {}, "onnx": {}}
MANIFEST = {"models": {
    "good": {"task": "image classification (10 classes)", "artifacts": SERVED | {"tflite_int8": {}}},
    "slow": {"task": "binary text classification", "artifacts": SERVED, "extra": {"tflite_int8_rejected": {
        "accuracy": 0.9023, "label_agreement_with_savedmodel": 0.99, "max_abs_probability_difference": 0.42}}},
    "forecast": {"task": "time-series forecasting", "artifacts": SERVED},
}}
BENCHMARKS = {"models": {
    "good": {"formats": {
        "savedmodel": figures(1.2, 2.0, 0.990, 0.0), "tflite": figures(0.5, 0.25, 0.990, 0.0),
        "tflite_int8": figures(0.14, 0.30, 0.987, -0.003), "onnx": {"skipped": "time budget"}}},
    "slow": {"formats": {"savedmodel": figures(10, 1.0, 0.90, 0.0), "tflite": figures(9, 0.5, 0.90, 0.0)}},
    "forecast": {"formats": {"savedmodel": figures(1.0, 4.0, 0.50, 0.0, False),
                             "tflite": figures(0.4, 0.5, 0.51, 0.01, False)}},
    "retired": {"formats": {"savedmodel": figures(1, 1)}},
}}


def table():
    return format_report.rows(BENCHMARKS, MANIFEST)


def test_rows_cover_measured_formats_of_models_in_the_manifest():
    rows = table()
    assert set(zip(rows["model"], rows["format"])) == {
        ("good", "savedmodel"), ("good", "tflite"), ("good", "tflite_int8"), ("slow", "savedmodel"),
        ("slow", "tflite"), ("forecast", "savedmodel"), ("forecast", "tflite")}
    int8 = rows.set_index(["model", "format"]).loc[("good", "tflite_int8")]
    assert round(int8["faster than SavedModel (×)"], 3) == round(2.0 / 0.30, 3)
    assert round(int8["smaller than SavedModel (×)"], 3) == round(1.2 / 0.14, 3)
    assert round(int8["quality change"], 3) == -0.3


def test_a_worse_loss_is_a_negative_quality_change():
    forecast = table().set_index(["model", "format"]).loc[("forecast", "tflite")]
    assert round(forecast["quality change"], 3) == -2.0  # the loss grew by 2% of SavedModel's


def test_the_summary_names_the_fastest_and_smallest_formats_with_their_cost():
    sentences = format_report.summary(table())
    good = next(sentence for sentence in sentences if sentence.startswith("**good**"))
    assert "TFLite fp32 (LiteRT) is the fastest, 8.0× faster" in good
    assert "TFLite full int8 (LiteRT) is the smallest, 8.6× smaller" in good and "-0.30 points" in good


def test_targets_are_checked_for_classifiers_only():
    checks = format_report.target_checks(table(), MANIFEST)
    assert set(checks["model"]) == {"good", "slow"}
    good = checks[checks["model"] == "good"].set_index("target")["met"].tolist()
    assert good == [True, True]  # int8 is 28% of the fp32 size and loses 0.3 points; 8× faster
    slow = checks[checks["model"] == "slow"]
    assert not slow["met"].any()
    assert "no full-int8 model was measured" in slow.iloc[0]["why / note"] and "0.42" in slow.iloc[0]["why / note"]
    assert "2.0×" in slow.iloc[1]["measured"] and slow.iloc[1]["why / note"]


def test_a_full_int8_file_built_only_for_the_comparison_is_checked_and_says_why_it_is_not_served():
    benchmarks = {"models": {"slow": {"formats": BENCHMARKS["models"]["slow"]["formats"] | {
        "tflite_int8": figures(2.5, 0.4, 0.905, 0.005)}}}}
    check = format_report.target_checks(format_report.rows(benchmarks, MANIFEST), MANIFEST).iloc[0]
    assert check["met"] and check["measured"] == "28% of the size, metric +0.50 points"
    assert "not serve" in check["why / note"] and "0.42" in check["why / note"]


def test_an_empty_benchmark_gives_an_empty_table():
    assert format_report.rows({}, MANIFEST).empty
    assert isinstance(format_report.rows({}, MANIFEST), pd.DataFrame)


def test_the_page_tables_show_met_targets_in_words_and_every_measurement_rounded():
    targets = format_report.shown_targets(table(), MANIFEST)
    assert list(targets.index.names) == ["model", "target"] and set(targets["met"]) == {"met", "missed"}
    shown = format_report.shown_table(table())
    assert list(shown.columns) == ["format" if name == "format label" else name
                                   for name in format_report.SHOWN_COLUMNS]
    assert shown.loc[shown["model"] == "good", "faster than SavedModel (×)"].max() == round(2.0 / 0.25, 4)


def test_a_live_run_is_compared_with_the_committed_p50_of_the_same_model_and_format():
    live = {"models": {"good": {"formats": {"tflite": figures(0.5, 0.5), "onnx": figures(0.6, 0.7)}}}}
    compared = format_report.compared_with_committed(format_report.rows(live, MANIFEST), table())
    assert list(compared.columns) == ["model", "format", "p50 now (ms)", "p50 (ms) committed", "p50 now / committed",
                                      "p95 (ms)", "load (s)", "batch-32 items/s", "memory growth (MB)", "metric",
                                      "metric value", "metric change", "faster than SavedModel (×)"]
    rows = compared.set_index("format")
    assert rows.loc["TFLite fp32 (LiteRT)", "p50 (ms) committed"] == 0.25
    assert rows.loc["TFLite fp32 (LiteRT)", "p50 now / committed"] == 2.0
    # ONNX was skipped in the committed benchmark, and nothing was committed at all in the second case.
    assert pd.isna(rows.loc["ONNX fp32 (ONNX Runtime)", "p50 (ms) committed"])
    alone = format_report.compared_with_committed(format_report.rows(live, MANIFEST), pd.DataFrame())
    assert alone["p50 (ms) committed"].isna().all() and len(alone) == 2


def test_the_machine_caption_names_when_where_and_with_what_a_benchmark_ran():
    caption = format_report.machine_caption({
        "created": "2026-11-28 10:35 UTC", "machine": {"cpu": "AMD EPYC", "cores": 2},
        "settings": {"threads": 2}, "versions": {"onnxruntime": "1.31.1", "numpy": "2.4.6"}})
    assert caption == ("Measured 2026-11-28 10:35 UTC on AMD EPYC (2 cores), 2 threads per model, "
                       "onnxruntime 1.31.1, numpy 2.4.6.")
    assert format_report.machine_caption({}).startswith("Measured ? on ? (? cores), ? threads per model")


def test_the_overview_chart_plots_every_model_and_format_with_the_metric_change_as_colour():
    spec = format_report.overview_chart(table()).to_dict()
    spokes, points, names = spec["layer"]
    assert spokes["mark"]["type"] == "rule" and spokes["encoding"]["x2"]["field"] == "reference size"
    assert points["encoding"]["x"]["field"] == "size (MB)" and points["encoding"]["y"]["field"] == "p50 (ms)"
    assert points["encoding"]["color"]["field"] == "change"
    assert points["encoding"]["color"]["scale"]["scheme"] == "blueorange"
    assert points["encoding"]["shape"]["field"] == "format label" and names["mark"]["type"] == "text"
    data = next(iter(spec["datasets"].values()))
    assert len(data) == len(table())


def test_the_overview_summary_is_three_sentences_from_the_data():
    text = format_report.overview_summary(table())
    assert text.count(". ") == 2 and text.endswith(".")
    assert "a format 2.0× to 8× faster than SavedModel" in text and "fastest for 3 of the 3 models" in text
    assert "A full-int8 TFLite file is 28% (good) to 28% (good)" in text
    assert "the largest loss is TFLite fp32 (LiteRT) on forecast (+2.0% pinball loss)" in text


def test_the_metric_change_heatmap_has_a_cell_per_measured_model_and_format():
    spec = format_report.quality_heatmap(table()).to_dict()
    cells = spec["layer"][0]
    assert cells["encoding"]["x"]["field"] == "format label" and cells["encoding"]["y"]["field"] == "model"
    assert len(next(iter(spec["datasets"].values()))) == table()["quality change"].notna().sum()


def test_comparison_models_list_every_format_tried_against_the_served_model():
    manifest = {"models": {
        "digits": {"metrics": {"values": {"accuracy": 0.99}}, "extra": {}},
        "sentiment": {"metrics": {"values": {"accuracy": 0.92}}, "extra": {"transformer": {"formats": {
            "savedmodel": {"exported": True, "bytes": 5_000_000, "accuracy": 0.87, "p50_200_words_ms": 4.0},
            "tflite": {"exported": False, "error": "ConverterError: op not supported"},
        }}}},
    }}
    table = format_report.comparison_models(manifest)
    assert table["model"].tolist() == ["sentiment: Transformer encoder"] * 2
    saved, tflite = table.to_dict("records")
    assert saved["size (MB)"] == 5.0 and saved["against the served model (points)"] == -5.0
    assert tflite["exported"].startswith("no (ConverterError") and pd.isna(tflite["test accuracy"])
    assert format_report.comparison_models({"models": {"digits": manifest["models"]["digits"]}}).empty
