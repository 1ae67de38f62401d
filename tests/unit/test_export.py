"""The shared export step: a tiny Keras model comes out in every format, and every format agrees."""

import numpy as np
import pytest

from showcase import runtime
from showcase.export import VARIANT_FILES, export_all, export_variants

# Every test here builds and exports a Keras model, with TensorFlow.
pytestmark = pytest.mark.slow

# How far each variant may stray from the Keras model's probabilities on this tiny, untrained model (int8 variants
# quantize activations per batch from their observed range: a few hundredths is expected).
VARIANT_TOLERANCES = {"tflite_fp16": 1e-2, "tflite_dynamic": 0.1, "onnx_int8": 0.1}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    generator = np.random.default_rng(0)
    calibration = generator.uniform(0, 1, (64, 6)).astype(np.float32)
    artifacts = export_all(model, tmp_path_factory.mktemp("tiny"), lambda: np.array_split(calibration, 64))
    return model, artifacts


def test_every_format_is_written(exported):
    _, artifacts = exported
    assert set(artifacts) == {"savedmodel", "tflite", "tflite_int8", "onnx"}
    assert all(path.exists() for path in artifacts.values())


def test_every_format_agrees_with_keras(exported):
    model, artifacts = exported
    batch = np.random.default_rng(1).uniform(0, 1, (16, 6)).astype(np.float32)
    reference = np.asarray(model(batch))
    for format_name, path in artifacts.items():
        output = runtime.open_file(path, format_name).predict(batch)
        tolerance = 0.05 if format_name == "tflite_int8" else 1e-5
        np.testing.assert_allclose(output, reference, atol=tolerance, err_msg=format_name)


def test_every_variant_loads_and_agrees_with_keras(exported, tmp_path):
    model, artifacts = exported
    calibration = np.random.default_rng(3).uniform(0, 1, (32, 6)).astype(np.float32)
    written = export_variants(artifacts["savedmodel"], artifacts["onnx"], tmp_path,
                              lambda: np.array_split(calibration, 32))
    assert set(written) == set(VARIANT_FILES)
    batch = np.random.default_rng(2).uniform(0, 1, (16, 6)).astype(np.float32)
    reference = np.asarray(model(batch))
    for format_name, path in written.items():
        output = runtime.open_file(path, format_name).predict(batch)
        np.testing.assert_allclose(output, reference, atol=VARIANT_TOLERANCES[format_name], err_msg=format_name)
