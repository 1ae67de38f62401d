"""The Formats page's variants of every real model: built from the committed files, loadable, and close to
the SavedModel's outputs; and each model's evaluation subset scores the reference format as the manifest does.
"""

import numpy as np
import pytest

from showcase import evaluation, runtime, variants
from showcase import manifest as manifest_lib

MODELS = list(manifest_lib.load_manifest()["models"])
# How much of the model's own metric each variant may lose against SavedModel on the evaluation subset: points
# for accuracy-like metrics, percent of the loss for the forecast's pinball loss.
TOLERATED_LOSS = {"tflite_fp16": 0.5, "tflite_dynamic": 1.5, "onnx_int8": 1.5, "tflite_int8": 1.5}


def quality_change(result: dict, reference: dict) -> float:
    change = result["value"] - reference["value"]
    return 100 * change if result["higher_is_better"] else -100 * change / reference["value"]


@pytest.mark.parametrize("model_name", MODELS)
def test_every_variant_builds_loads_and_keeps_the_metric(model_name):
    entry = manifest_lib.model_entry(model_name)
    records = variants.build(model_name)
    # Sentiment keeps no full-int8 file in models/ (its training script rejects it), so one is built here.
    expected = set(variants.VARIANT_FORMATS) | ({"tflite_int8"} if model_name == "sentiment" else set())
    assert set(records) == expected
    batch = runtime.example_batch(entry, batch_size=4, seed=3)
    reference_predictor = runtime.load(model_name, "savedmodel")
    shape = reference_predictor.predict(batch).shape
    try:
        reference = evaluation.evaluate(model_name, reference_predictor)
    except evaluation.DataUnavailable as reason:
        reference = None
        missing_data = str(reason)
    for format_name in records:
        predictor = variants.load(model_name, format_name)
        output = predictor.predict(batch)
        assert output.shape == shape and np.isfinite(output).all(), format_name
        if reference is not None:
            change = quality_change(evaluation.evaluate(model_name, predictor), reference)
            assert change >= -TOLERATED_LOSS[format_name], (format_name, change)
    if reference is None:
        pytest.skip(f"variants load and run; their metric needs the dataset: {missing_data}")


def test_weight_quantized_variants_are_smaller_than_their_source():
    for model_name in MODELS:
        entry = manifest_lib.model_entry(model_name)
        records = variants.build(model_name)
        for format_name in ("tflite_fp16", "tflite_dynamic"):
            assert records[format_name]["bytes"] < entry["artifacts"]["tflite"]["bytes"], (model_name, format_name)


def test_an_altered_variant_is_refused():
    variants.build("digits", ("onnx_int8",))
    record = variants.built_variants("digits")["onnx_int8"]
    path = variants.paths.VARIANTS_DIR / "digits" / record["file"]
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        with pytest.raises(runtime.ArtifactError, match="altered"):
            variants.load("digits", "onnx_int8")
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize("model_name", ["forecast", "gan"])
def test_subsets_that_need_no_download_score_the_reference_format(model_name):
    result = evaluation.evaluate(model_name, runtime.load(model_name, "tflite"))
    if model_name == "gan":
        assert result["value"] >= 0.95 and result["n"] == 500
    else:
        assert 0 < result["value"] < 1 and not result["higher_is_better"]


@pytest.mark.shared_data
@pytest.mark.parametrize("model_name, floor", [("digits", 0.99), ("flowers", 0.88), ("sentiment", 0.87),
                                               ("anomaly", 0.99)])
def test_subsets_from_the_shared_data_agree_with_the_held_out_metrics(model_name, floor):
    try:
        result = evaluation.evaluate(model_name, runtime.load(model_name, "tflite"))
    except evaluation.DataUnavailable as reason:
        pytest.skip(f"needs the dataset: {reason}")
    assert result["value"] >= floor, result
