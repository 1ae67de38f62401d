"""Unit tests of showcase.tasks.anomaly: scores, corruptions, threshold, metrics, idx parsing, heat map."""

import gzip
import json

import numpy as np
import pytest

from showcase.tasks import anomaly


def rng():
    return np.random.default_rng(0)


def test_reconstruction_error_is_the_per_image_mean_squared_error():
    images = np.zeros((2, 28, 28), dtype=np.float32)
    reconstructions = np.zeros((2, 28, 28, 1), dtype=np.float32)
    reconstructions[1, :14] = 0.5  # Half the pixels off by 0.5.
    scores = anomaly.reconstruction_error(images, reconstructions)
    assert scores.shape == (2,)
    assert scores[0] == 0.0
    assert scores[1] == pytest.approx(0.125)


def test_error_map_has_one_value_per_pixel():
    images = np.ones((1, 28, 28, 1), dtype=np.float32)
    errors = anomaly.error_map(images, np.zeros_like(images))
    assert errors.shape == (1, 28, 28) and np.all(errors == 1.0)


@pytest.mark.parametrize("shape", [(3, 28, 27), (3, 784), (28, 28, 3)])
def test_scores_reject_wrong_shapes_with_a_message(shape):
    with pytest.raises(ValueError, match="28, 28"):
        anomaly.reconstruction_error(np.zeros(shape), np.zeros(shape))


def test_scores_reject_mismatched_batches():
    with pytest.raises(ValueError, match="reconstructions"):
        anomaly.reconstruction_error(np.zeros((2, 28, 28)), np.zeros((3, 28, 28)))


def test_is_anomaly_means_strictly_above_the_threshold():
    assert anomaly.is_anomaly(np.array([0.1, 0.2, 0.3]), 0.2).tolist() == [False, False, True]


def test_gaussian_noise_stays_in_range_and_has_the_requested_strength():
    images = np.full((50, 28, 28), 0.5, dtype=np.float32)
    noisy = anomaly.gaussian_noise(images, rng(), sigma=0.1)
    assert noisy.dtype == np.float32 and noisy.min() >= 0 and noisy.max() <= 1
    assert np.std(noisy - images) == pytest.approx(0.1, rel=0.05)
    assert np.all(images == 0.5), "the input must not be modified"
    with pytest.raises(ValueError):
        anomaly.gaussian_noise(images, rng(), sigma=-1)


def test_occlusion_blocks_paste_bright_squares_inside_the_image():
    images = np.zeros((20, 28, 28), dtype=np.float32)
    occluded = anomaly.occlusion_blocks(images, rng(), blocks=1, size=(6, 6), level=(1.0, 1.0))
    assert np.all(occluded.sum(axis=(1, 2)) == 36)
    assert np.all(images == 0), "the input must not be modified"
    with pytest.raises(ValueError, match="sizes"):
        anomaly.occlusion_blocks(images, rng(), size=(10, 40))


def test_invert_swaps_ink_and_background():
    images = np.array([[[0.0, 1.0, 0.25] + [0.0] * 25] * 28], dtype=np.float32)
    inverted = anomaly.invert(images)
    assert inverted[0, 0, :3].tolist() == [1.0, 0.0, 0.75]


def test_threshold_is_the_percentile_of_validation_scores():
    scores = np.arange(1, 101, dtype=float)
    assert anomaly.choose_threshold(scores, 99) == pytest.approx(np.percentile(scores, 99))
    with pytest.raises(ValueError):
        anomaly.choose_threshold(np.array([]))
    with pytest.raises(ValueError):
        anomaly.choose_threshold(scores, 100)


def test_roc_auc_extremes_and_ties():
    assert anomaly.roc_auc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert anomaly.roc_auc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert anomaly.roc_auc([0.5, 0.5], [0.5, 0.5]) == 0.5
    # One anomaly above both normals, one tied with a normal and above the other: (1 + 0.75) / 2.
    assert anomaly.roc_auc([0.1, 0.2], [0.3, 0.2]) == pytest.approx(0.875)


def test_roc_auc_matches_the_pairwise_definition_on_random_scores():
    generator = rng()
    normal = generator.normal(0, 1, 300).round(1)
    anomalous = generator.normal(0.7, 1, 200).round(1)
    pairs = (anomalous[:, None] > normal[None, :]).mean() + 0.5 * (anomalous[:, None] == normal[None, :]).mean()
    assert anomaly.roc_auc(normal, anomalous) == pytest.approx(pairs)


def test_precision_and_recall_at_a_threshold():
    figures = anomaly.precision_recall(np.array([0.1, 0.2, 0.6, 0.1]), np.array([0.7, 0.8, 0.3, 0.9]), 0.5)
    assert figures["recall"] == 0.75  # 3 of 4 anomalies above 0.5.
    assert figures["precision"] == 0.75  # 3 of the 4 flagged images are anomalies.
    assert figures["false_positive_rate"] == 0.25


def test_log_histogram_counts_every_score_including_out_of_range_ones():
    histogram = anomaly.log_histogram(np.array([1e-6, 0.01, 0.02, 5.0]))
    assert sum(histogram["counts"]) == 4
    assert histogram["counts"][0] == 1 and histogram["counts"][-1] == 1
    assert len(histogram["edges"]) == len(histogram["counts"]) + 1


def test_heat_map_is_rgb_dark_for_zero_and_bright_at_the_top():
    errors = np.zeros((28, 28))
    errors[0, 0] = 0.5
    heat = anomaly.heat_map_rgb(errors, vmax=0.5)
    assert heat.shape == (28, 28, 3) and heat.dtype == np.uint8
    assert heat[1, 1].sum() < 10 and heat[0, 0].sum() > 600
    assert anomaly.heat_map_rgb(np.zeros((28, 28))).max() < 10
    with pytest.raises(ValueError):
        anomaly.heat_map_rgb(np.zeros((1, 28, 28)))


def idx_bytes(images: np.ndarray) -> bytes:
    header = b"\x00\x00\x08\x03" + b"".join(int(n).to_bytes(4, "big") for n in images.shape)
    return header + images.astype(np.uint8).tobytes()


def test_read_idx_images_plain_and_gzipped():
    images = rng().integers(0, 256, (3, 28, 28)).astype(np.uint8)
    assert np.array_equal(anomaly.read_idx_images(idx_bytes(images)), images)
    assert np.array_equal(anomaly.read_idx_images(gzip.compress(idx_bytes(images))), images)


@pytest.mark.parametrize("data", [b"", b"not an idx file at all", idx_bytes(np.zeros((2, 28, 28)))[:-5]])
def test_read_idx_images_rejects_bad_files(data):
    with pytest.raises(ValueError):
        anomaly.read_idx_images(data)


def test_prepare_input_keeps_mnist_layout_images_as_they_are():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[5:20, 10:14] = 255
    pixels, used_recipe = anomaly.prepare_input(image)
    assert not used_recipe
    assert np.array_equal(pixels, image / 255.0)


def test_prepare_input_sends_larger_images_through_the_digit_recipe():
    drawing = np.full((280, 280), 255, dtype=np.uint8)
    drawing[40:240, 130:150] = 0  # A dark vertical stroke on white paper: a "1".
    pixels, used_recipe = anomaly.prepare_input(drawing)
    assert used_recipe and pixels.shape == (28, 28)
    assert pixels.max() == pytest.approx(1.0, abs=0.05) and pixels[0].max() == 0


@pytest.mark.parametrize("shape", [(28, 28), (100, 80)])
def test_prepare_input_rejects_blank_images(shape):
    from showcase.tasks.digits import EmptyImageError

    with pytest.raises(EmptyImageError):
        anomaly.prepare_input(np.full(shape, 17, dtype=np.uint8))


class Blur:
    """A stand-in for the autoencoder: it "rebuilds" every image as its mean grey, like a poor reconstruction."""

    format_name = "onnx"

    def predict(self, batch):
        return np.broadcast_to(batch.mean(axis=(1, 2, 3), keepdims=True), batch.shape).astype(np.float32)


ENTRY = {"extra": {"threshold": 0.02, "per_format_threshold": {"onnx": 0.03}}}


def digit_like() -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[5:22, 12:16] = 255
    return image


def test_the_detector_scores_an_image_as_the_evaluation_does():
    result = anomaly.AnomalyDetector(Blur(), ENTRY).score(digit_like())
    batch = digit_like()[None, ..., None] / np.float32(255)
    expected = anomaly.reconstruction_error(batch, Blur().predict(batch))[0]
    assert result.score == pytest.approx(expected) and result.threshold == 0.03
    assert result.anomaly == (expected > 0.03) and not result.used_recipe
    assert np.array_equal(result.image, batch[0, ..., 0])
    assert np.array_equal(result.errors, anomaly.error_map(batch, Blur().predict(batch))[0])
    assert result.score / result.threshold == pytest.approx(expected / 0.03) and result.milliseconds >= 0


def test_the_threshold_of_a_format_without_its_own_is_the_models():
    assert anomaly.format_threshold(ENTRY, "tflite") == 0.02
    assert anomaly.AnomalyDetector(Blur(), ENTRY).threshold == 0.03


@pytest.mark.parametrize("corruption", anomaly.CORRUPTIONS)
def test_the_detector_corrupts_the_input_as_the_page_asks(corruption):
    prepared, used_recipe = anomaly.prepare_input(digit_like())
    result = anomaly.AnomalyDetector(Blur(), ENTRY).score_prepared(prepared, used_recipe, corruption)
    assert np.array_equal(result.image, anomaly.corrupt(prepared, corruption))
    assert np.array_equal(anomaly.corrupt(prepared, corruption), anomaly.corrupt(prepared, corruption))
    assert (corruption == "None") == np.array_equal(result.image, prepared)


def test_an_unknown_corruption_is_refused():
    with pytest.raises(ValueError, match="Gaussian noise"):
        anomaly.corrupt(np.zeros((28, 28), dtype=np.float32), "Blur")


def test_the_heat_map_scale_never_tops_out_below_the_floor():
    result = anomaly.AnomalyDetector(Blur(), ENTRY).score(digit_like())
    assert result.heat_map_top == max(float(result.errors.max()), anomaly.HEAT_MAP_FLOOR)
    assert np.array_equal(result.heat_map(), anomaly.heat_map_rgb(result.errors, result.heat_map_top))
    faint = anomaly.AnomalyDetector(Blur(), ENTRY).score(np.full((28, 28), 0.5, dtype=np.float32) + np.eye(28) / 4)
    assert faint.heat_map_top == anomaly.HEAT_MAP_FLOOR


def test_pictures_are_enlarged_with_visible_pixels():
    grey = anomaly.picture(np.linspace(-0.5, 1.5, 28 * 28).reshape(28, 28))
    assert grey.size == (140, 140) and grey.mode == "L"
    assert np.asarray(grey).min() == 0 and np.asarray(grey).max() == 255
    colour = anomaly.picture(anomaly.heat_map_rgb(np.eye(28)))
    assert colour.mode == "RGB" and np.asarray(colour)[0, 0].tolist() == [252, 255, 164]


def test_the_samples_are_a_digit_a_fashion_item_and_noise():
    choices = anomaly.sample_choices()
    assert list(choices)[1:] == ["A fashion item (Fashion-MNIST test #0)", "Pure noise"]
    assert list(choices)[0].startswith("A handwritten digit (MNIST test #")
    assert all(path.exists() for path in choices.values())


def test_the_score_histogram_shows_both_sets_the_threshold_and_this_score():
    histograms = {key: anomaly.log_histogram(np.geomspace(1e-3, 1e-1, 50)) for key in
                  ("validation_digits", "fashion_mnist")}
    spec = json.dumps(anomaly.score_histogram(histograms, 0.0123, 5.0).to_dict())
    assert "threshold 0.0123" in spec and "this image 5.0000" in spec
    assert "validation digits" in spec and "Fashion-MNIST test images" in spec
    # A score beyond the bins is drawn at the last edge, so that the scale stays that of the bins.
    assert '"score": 1.0' in spec
