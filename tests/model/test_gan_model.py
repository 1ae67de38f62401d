"""Behavioural checks on the committed GAN generator, in every format, read by the committed Digits model."""

import numpy as np
import pytest

from showcase import calibration, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import gan

FP32_FORMATS = ("savedmodel", "tflite", "onnx")


@pytest.fixture(scope="module")
def entry():
    return manifest_lib.model_entry("gan")


@pytest.fixture(scope="module")
def generators(entry):
    return {name: runtime.load("gan", name) for name in entry["artifacts"]}


@pytest.fixture(scope="module")
def classifier():
    return runtime.load("digits", "tflite")


def draw(generator, seed, digits):
    digits = np.asarray(digits)
    return generator.predict(gan.generator_input(gan.latent_vectors(seed, len(digits)), digits))


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_output_is_a_batch_of_28x28_images_in_the_unit_range(generators, format_name):
    images = draw(generators[format_name], seed=0, digits=np.arange(10))
    assert images.shape == (10, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    # Digits, not blank or grey fields: dark background, some bright ink.
    assert np.median(images) < 0.1 and (images.reshape(10, -1).max(axis=1) > 0.7).all()


@pytest.mark.parametrize("format_name", FP32_FORMATS)
def test_the_same_seed_gives_the_same_image_and_another_seed_another(generators, format_name):
    generator = generators[format_name]
    first, again = draw(generator, 123, [5, 5, 5]), draw(generator, 123, [5, 5, 5])
    np.testing.assert_array_equal(first, again)
    assert np.abs(draw(generator, 124, [5, 5, 5]) - first).mean() > 0.02
    # A 1×1 grid of a seed is the first sample of any larger grid of that seed.
    # (SavedModel may pick other kernels for another batch size: equal to float rounding.)
    np.testing.assert_allclose(draw(generator, 123, [5]), first[:1], atol=1e-5)


def test_fp32_formats_draw_the_same_images(generators):
    inputs = gan.generator_input(gan.latent_vectors(7, 200), np.arange(200) % 10)
    reference = generators["savedmodel"].predict(inputs)
    for name in ("tflite", "onnx"):
        assert np.abs(generators[name].predict(inputs) - reference).max() <= 1e-3, name


def test_the_requested_digit_is_what_the_digits_model_reads(generators, classifier):
    digits = np.repeat(np.arange(10), 100)
    images = draw(generators["tflite"], seed=31337, digits=digits)
    read = classifier.predict(images).argmax(1)
    assert (read == digits).mean() >= 0.95
    for digit in range(10):
        assert (read[digits == digit] == digit).mean() >= 0.8, digit


def test_the_digit_changes_the_image_for_the_same_latent(generators, classifier):
    latents = np.repeat(gan.latent_vectors(5, 1), 10, axis=0)
    images = generators["tflite"].predict(gan.generator_input(latents, np.arange(10)))
    assert (classifier.predict(images).argmax(1) == np.arange(10)).mean() >= 0.9


def test_an_interpolation_starts_and_ends_at_its_seeds(generators):
    generator = generators["onnx"]
    path = gan.interpolate(gan.latent_vectors(1, 1)[0], gan.latent_vectors(2, 1)[0], 6)
    strip = generator.predict(gan.generator_input(path, 3))
    np.testing.assert_allclose(strip[0], draw(generator, 1, [3])[0], atol=1e-5)
    np.testing.assert_allclose(strip[-1], draw(generator, 2, [3])[0], atol=1e-5)
    # Neighbouring steps differ less than the two ends do: the walk is gradual.
    assert np.abs(np.diff(strip, axis=0)).mean(axis=(1, 2, 3)).max() < np.abs(strip[-1] - strip[0]).mean()


def test_the_manifest_records_the_measured_quality(entry):
    values = entry["metrics"]["values"]
    assert values["digit_accuracy"] >= 0.95
    assert 0 < values["frechet_distance_train_vs_test_floor"] < values["frechet_distance_generated_vs_test"]
    assert values["max_abs_pixel_difference_across_fp32_formats"] <= 1e-3
    assert len(entry["extra"]["digit_accuracy_per_digit"]) == 10
    assert entry["training"]["seconds"] <= 30 * 60


@pytest.fixture(scope="module")
def calibrated_classifier(classifier):
    """The Digits model as the page reads the samples with it: calibrated (``ui.predictor_or_stop``)."""
    return calibration.calibrated(classifier, manifest_lib.model_entry("digits"))


@pytest.mark.parametrize("settings", [gan.DEFAULT_SETTINGS, {"digit": 7, "seed": 2024, "size": 3}])
def test_the_generator_draws_and_reads_what_the_page_showed(generators, calibrated_classifier, settings):
    """The GAN page's steps before it used ``DigitGenerator``: the same images, verdicts and download."""
    grid = gan.DigitGenerator(generators["tflite"], calibrated_classifier).generate(settings)
    count = settings["size"] ** 2
    digits = (gan.random_digits(settings["seed"], count) if settings["digit"] == "any"
              else np.full(count, settings["digit"]))
    images = gan.to_images(draw(generators["tflite"], settings["seed"], digits))
    probabilities = calibrated_classifier.predict(images[..., None])
    np.testing.assert_array_equal(grid.images, images)
    np.testing.assert_array_equal(grid.read_as, probabilities)
    assert grid.captions() == [gan.verdict_caption(int(digit), p) for digit, p in zip(digits, probabilities)]
    for tile, image in zip(grid.tiles(scale=3), images):
        np.testing.assert_array_equal(tile, gan.image_grid(image[None], columns=1, scale=3, padding=0))
    assert grid.grid_png() == gan.png_bytes(gan.image_grid(images, settings["size"], scale=4))
    if settings["digit"] == 7:
        assert sum(caption.startswith("✓ reads 7") for caption in grid.captions()) >= 8


def test_the_latent_walk_is_what_the_page_showed(generators, calibrated_classifier):
    walk = gan.DigitGenerator(generators["onnx"], calibrated_classifier).walk(4, 10, 20, 5)
    path = gan.interpolate(gan.latent_vectors(10, 1)[0], gan.latent_vectors(20, 1)[0], 5)
    strip = gan.to_images(generators["onnx"].predict(gan.generator_input(path, 4)))
    np.testing.assert_array_equal(walk.picture(scale=3), gan.image_grid(strip, columns=5, scale=3))
    readings = calibrated_classifier.predict(strip[..., None]).argmax(1)
    assert walk.caption == f"Seed 10 → seed 20, digit 4. The Digits classifier reads: {' '.join(map(str, readings))}."
