"""Behavioural checks on the committed digits model, and agreement between its formats."""

import numpy as np
import pytest
from PIL import Image

from showcase import calibration, paths, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import digits
from showcase.tasks.digits import prepare_digit, to_model_input

FP32_FORMATS = ("savedmodel", "tflite", "onnx")
SAMPLES = sorted((paths.SAMPLES_DIR / "digits").glob("*.png"))


@pytest.fixture(scope="module")
def predictors():
    return {name: runtime.load("digits", name) for name in manifest_lib.model_entry("digits")["artifacts"]}


@pytest.fixture(scope="module")
def samples():
    images = np.stack([np.asarray(Image.open(path)) for path in SAMPLES])
    labels = np.array([int(path.name.split("_")[0]) for path in SAMPLES])
    return images, labels


def shift(images, rows, cols):
    """Move digits by whole pixels, filling with background (no wrap-around)."""
    shifted = np.zeros_like(images)
    height, width = images.shape[1:]
    source = images[:, max(0, -rows) : height - max(0, rows), max(0, -cols) : width - max(0, cols)]
    shifted[:, max(0, rows) : max(0, rows) + source.shape[1], max(0, cols) : max(0, cols) + source.shape[2]] = source
    return shifted


def thicken(images):
    """Draw every stroke thicker: a 3×3 grey-level dilation (the maximum over each neighbourhood)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    height, width = images.shape[1:]
    windows = [padded[:, r : r + height, c : c + width] for r in range(3) for c in range(3)]
    return np.max(windows, axis=0)


def classify(predictor, images):
    return predictor.predict(to_model_input(images)).argmax(axis=1)


def test_there_is_one_committed_sample_per_digit(samples):
    assert sorted(samples[1].tolist()) == list(range(10))


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_samples_are_classified_correctly(predictors, samples, format_name):
    images, labels = samples
    assert classify(predictors[format_name], images).tolist() == labels.tolist()


@pytest.mark.parametrize("rows,cols", [(3, 0), (-3, 0), (0, 3), (0, -3)])
def test_a_digit_shifted_by_three_pixels_keeps_its_label(predictors, samples, rows, cols):
    images, labels = samples
    assert classify(predictors["tflite"], shift(images, rows, cols)).tolist() == labels.tolist()


def test_a_digit_drawn_thicker_keeps_its_label(predictors, samples):
    images, labels = samples
    assert classify(predictors["tflite"], thicken(images)).tolist() == labels.tolist()


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_the_classifier_reads_every_sample_as_the_page_always_has(predictors, format_name):
    """The page showed argmax and confidence of the calibrated probabilities of the prepared sample."""
    entry = manifest_lib.model_entry("digits")
    classifier = digits.DigitClassifier(predictors[format_name], entry)
    for path in SAMPLES:
        result = classifier.classify(Image.open(path))
        prepared = prepare_digit(Image.open(path))
        shown = calibration.calibrated(predictors[format_name], entry).predict(to_model_input(prepared))[0]
        assert result.digit == int(path.name.split("_")[0]) == int(np.argmax(shown)), path.name
        assert np.array_equal(result.image, prepared)
        assert np.allclose(result.probabilities, shown, rtol=0, atol=1e-6)
        assert f"{result.confidence:.1%}" == f"{shown[result.digit]:.1%}"


def test_app_preprocessing_of_a_photo_like_sample_keeps_its_label(predictors, samples):
    """Dark ink on light paper, 10× larger and off-centre: the app's recipe restores an MNIST-like digit."""
    images, labels = samples
    photos = []
    for image in images:
        paper = np.full((400, 360), 235, dtype=np.uint8)
        big = np.asarray(Image.fromarray(255 - image).resize((280, 280), Image.Resampling.BILINEAR))
        paper[100:380, 20:300] = np.minimum(paper[100:380, 20:300], big)
        photos.append(prepare_digit(paper))
    assert classify(predictors["tflite"], np.stack(photos)).tolist() == labels.tolist()


@pytest.mark.shared_data
def test_full_test_set_accuracy_and_format_parity(predictors, mnist_test):
    """Requirement: ≥99.4% accuracy; the formats agree on ≥99.9% of argmaxes, fp32 probabilities within 1e-4."""
    images, labels = mnist_test
    batch = to_model_input(images)
    outputs = {name: predictor.predict(batch) for name, predictor in predictors.items()}
    reference = outputs["savedmodel"]
    assert np.mean(reference.argmax(1) == labels) >= 0.994
    for name, output in outputs.items():
        assert np.mean(output.argmax(1) == reference.argmax(1)) >= 0.999, name
        if name in FP32_FORMATS:
            assert np.abs(output - reference).max() <= 1e-4, name


@pytest.mark.shared_data
def test_shift_and_thickness_invariance_on_the_test_set(predictors, mnist_test):
    images, labels = mnist_test[0][:2000], mnist_test[1][:2000]
    predictor = predictors["tflite"]
    assert np.mean(classify(predictor, shift(images, 3, 0)) == labels) >= 0.98
    assert np.mean(classify(predictor, shift(images, 0, -3)) == labels) >= 0.98
    assert np.mean(classify(predictor, thicken(images)) == labels) >= 0.98
