"""The shared export step: a tiny Keras model comes out in every format, and every format agrees."""

import numpy as np
import pytest

from showcase import runtime
from showcase.export import export_all


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
        output = runtime._open(path, format_name).predict(batch)
        tolerance = 0.05 if format_name == "tflite_int8" else 1e-5
        np.testing.assert_allclose(output, reference, atol=tolerance, err_msg=format_name)
