"""Behavioural checks on the committed autoencoder: digits pass, anomalies are flagged, formats agree."""

import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.tasks import anomaly
from showcase.tasks.digits import prepare_digit, to_model_input

FP32_FORMATS = ("savedmodel", "tflite", "onnx")
DIGIT_SAMPLES = sorted((paths.SAMPLES_DIR / "digits").glob("*.png"))
FASHION_SAMPLE = paths.SAMPLES_DIR / "anomaly" / "fashion_mnist_test_0.png"
NOISE_SAMPLE = paths.SAMPLES_DIR / "anomaly" / "uniform_noise.png"


@pytest.fixture(scope="module")
def entry():
    return manifest_lib.model_entry("anomaly")


@pytest.fixture(scope="module")
def predictors(entry):
    return {name: runtime.load("anomaly", name) for name in entry["artifacts"]}


def threshold_for(entry, format_name):
    return entry["extra"]["per_format_threshold"][format_name]


def scores(predictor, images):
    batch = to_model_input(np.asarray(images))
    return anomaly.reconstruction_error(batch, predictor.predict(batch))


def read_png(path):
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def clean_digits():
    """The committed MNIST test digits of the Digits page (one per digit)."""
    if not DIGIT_SAMPLES:
        pytest.fail("samples/digits/*.png are missing: run training/train_digits.py")
    return np.stack([read_png(path) for path in DIGIT_SAMPLES])


def test_manifest_entry_is_valid_and_complete(entry):
    schema = json.loads(manifest_lib.SCHEMA_PATH.read_text())
    jsonschema.validate({"schema_version": 1, "models": {"anomaly": entry}}, schema)
    assert entry["page"] == "anomaly"
    assert set(FP32_FORMATS) <= set(entry["artifacts"])
    values = entry["metrics"]["values"]
    for kind in ("fashion_mnist", "gaussian_noise", "occlusion_blocks", "inverted"):
        for figure in ("roc_auc", "precision", "recall"):
            assert 0 <= values[f"{figure}_{kind}"] <= 1
    assert entry["extra"]["threshold"] == pytest.approx(values["threshold"], rel=1e-4)


def test_recorded_detection_quality_meets_the_requirements(entry):
    values = entry["metrics"]["values"]
    assert values["roc_auc_fashion_mnist"] >= 0.99
    for kind in ("gaussian_noise", "occlusion_blocks", "inverted"):
        assert values[f"roc_auc_{kind}"] >= 0.95, kind
    assert entry["extra"]["max_relative_score_difference_fp32_formats"] <= 1e-3


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_a_clean_digit_scores_below_the_threshold_and_its_noisy_copy_above(predictors, entry, clean_digits,
                                                                            format_name):
    threshold = threshold_for(entry, format_name)
    clean = scores(predictors[format_name], clean_digits)
    noisy_images = anomaly.gaussian_noise(to_model_input(clean_digits), np.random.default_rng(0))
    noisy = scores(predictors[format_name], noisy_images)
    assert np.all(clean < threshold), clean / threshold
    assert np.all(noisy > threshold), noisy / threshold


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_the_fashion_and_noise_samples_are_flagged_as_the_page_prepares_them(predictors, entry, format_name):
    """The samples are 28×28 greyscale, so the page feeds them as they are (``prepare_input``)."""
    raw = [read_png(FASHION_SAMPLE), read_png(NOISE_SAMPLE)]
    prepared = []
    for image in raw:
        pixels, used_recipe = anomaly.prepare_input(image)
        assert not used_recipe
        prepared.append(pixels)
    assert np.all(scores(predictors[format_name], np.stack(prepared)) > threshold_for(entry, format_name))


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_the_detector_scores_the_samples_as_the_page_always_has(predictors, entry, format_name):
    """The page scored the prepared, corrupted sample with the format's threshold; the samples' verdicts hold."""
    detector = anomaly.AnomalyDetector(predictors[format_name], entry)
    for label, path in anomaly.sample_choices().items():
        for corruption in anomaly.CORRUPTIONS:
            result = detector.score(Image.open(path), corruption)
            prepared, used_recipe = anomaly.prepare_input(Image.open(path))
            batch = to_model_input(anomaly.corrupt(prepared, corruption))
            reconstruction = predictors[format_name].predict(batch)
            assert result.score == pytest.approx(float(anomaly.reconstruction_error(batch, reconstruction)[0]),
                                                 rel=1e-6)
            assert result.threshold == threshold_for(entry, format_name) and result.used_recipe == used_recipe
            assert result.anomaly == (result.score > result.threshold)
            assert result.anomaly == (corruption != "None" or not label.startswith("A handwritten digit"))
            assert np.array_equal(result.image, batch[0, ..., 0])
            assert np.allclose(result.reconstruction, reconstruction[0, ..., 0], atol=1e-6)
            assert np.allclose(result.errors, anomaly.error_map(batch, reconstruction)[0], atol=1e-6)


def test_noise_is_flagged_even_after_the_digit_recipe(predictors, entry):
    prepared = prepare_digit(read_png(NOISE_SAMPLE))
    assert scores(predictors["tflite"], prepared[None])[0] > threshold_for(entry, "tflite")


def test_digits_pass_after_the_app_recipe(predictors, entry, clean_digits):
    """The page feeds every input through the MNIST recipe first; clean digits must still pass."""
    prepared = np.stack([prepare_digit(image) for image in clean_digits])
    assert np.all(scores(predictors["tflite"], prepared) < threshold_for(entry, "tflite"))


def test_fp32_formats_give_the_same_scores(predictors, clean_digits):
    images = np.concatenate([to_model_input(clean_digits)[..., 0],
                             to_model_input(np.stack([read_png(FASHION_SAMPLE), read_png(NOISE_SAMPLE)]))[..., 0]])
    reference = scores(predictors["savedmodel"], images)
    for name in FP32_FORMATS:
        assert np.max(np.abs(scores(predictors[name], images) - reference) / reference) <= 1e-3, name


@pytest.fixture(scope="module")
def fashion_test():
    folder = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    path = folder / "t10k-images-idx3-ubyte.gz"
    if not path.exists():
        pytest.skip(f"needs {path} (Debian package dataset-fashion-mnist, installed in CI)")
    return anomaly.read_idx_images(path.read_bytes())


@pytest.mark.shared_data
def test_detection_quality_recomputed_from_the_committed_artifacts(predictors, entry, mnist_test, fashion_test):
    """Rebuild the evaluation sets as the training script does and check the manifest's figures."""
    images = mnist_test[0]
    digits = to_model_input(images)[..., 0]
    predictor = predictors["tflite"]
    digit_scores = scores(predictor, digits)
    recorded = entry["metrics"]["per_format"]["tflite"]
    for kind, anomalies in anomaly.anomaly_sets(images, fashion_test, entry["training"]["seed"]).items():
        auc = anomaly.roc_auc(digit_scores, scores(predictor, anomalies))
        assert auc == pytest.approx(recorded[f"roc_auc_{kind}"], abs=1e-4), kind
        assert auc >= (0.99 if kind == "fashion_mnist" else 0.95), kind
    flagged = np.mean(digit_scores > threshold_for(entry, "tflite"))
    assert flagged <= 0.03, "at most a few percent of test digits may be flagged"
