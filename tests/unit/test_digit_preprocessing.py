"""The MNIST recipe that turns drawings and photos into model input."""

import numpy as np
import pytest
from PIL import Image

from showcase import calibration, paths
from showcase.tasks import digits
from showcase.tasks.digits import EmptyImageError, prepare_digit, to_model_input


def stroke_image(height=200, width=160, ink=255, background=0):
    """A synthetic '1': a thick vertical bar, off-centre, on a uniform background."""
    image = np.full((height, width), background, dtype=np.uint8)
    image[30:170, 20:45] = ink
    return image


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return (rows * image).sum() / total, (cols * image).sum() / total


def test_output_is_28_by_28_white_ink_on_black_in_unit_range():
    prepared = prepare_digit(stroke_image())
    assert prepared.shape == (28, 28) and prepared.dtype == np.float32
    assert prepared.min() == 0.0 and prepared.max() == pytest.approx(1.0, abs=0.02)
    assert prepared[0, 0] == 0.0


def test_longer_side_is_scaled_to_20_pixels_keeping_aspect():
    prepared = prepare_digit(stroke_image())
    rows, cols = np.nonzero(prepared > 0.05)
    assert rows.max() - rows.min() + 1 in (20, 21)
    # The bar is 140×25: scaled to 20 px high it is about 3.6 px wide, not stretched to a square.
    assert 3 <= cols.max() - cols.min() + 1 <= 6


def test_centre_of_mass_lands_in_the_middle_of_the_field():
    row, col = centre_of_mass(prepare_digit(stroke_image()))
    assert abs(row - 14) <= 0.6 and abs(col - 14) <= 0.6


def test_dark_ink_on_light_paper_gives_the_same_result_as_light_on_dark():
    light_on_dark = prepare_digit(stroke_image(ink=250, background=5))
    dark_on_light = prepare_digit(stroke_image(ink=5, background=250))
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=1e-5)


def test_transparent_canvas_reads_ink_from_the_alpha_channel():
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[40:240, 120:150] = (0, 0, 0, 255)  # black strokes on a fully transparent background
    same_bar_white_on_black = np.zeros((280, 280, 3), dtype=np.uint8)
    same_bar_white_on_black[40:240, 120:150] = 255
    np.testing.assert_allclose(prepare_digit(canvas), prepare_digit(same_bar_white_on_black), atol=1e-5)


def test_rgb_photo_with_grey_paper_and_noise_finds_the_digit():
    generator = np.random.default_rng(0)
    photo = np.full((300, 300, 3), 200, dtype=np.float32) + generator.normal(0, 6, (300, 300, 3))
    photo[60:240, 140:175] = 40
    prepared = prepare_digit(np.clip(photo, 0, 255).astype(np.uint8))
    row, col = centre_of_mass(prepared)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert (prepared > 0.5).sum() > 20


@pytest.mark.parametrize("value", [0, 255, 128])
def test_uniform_images_have_no_digit(value):
    with pytest.raises(EmptyImageError):
        prepare_digit(np.full((64, 64), value, dtype=np.uint8))


def test_empty_transparent_canvas_has_no_digit():
    with pytest.raises(EmptyImageError):
        prepare_digit(np.zeros((280, 280, 4), dtype=np.uint8))


def test_to_model_input_scales_uint8_and_keeps_floats():
    images = np.full((3, 28, 28), 255, dtype=np.uint8)
    batch = to_model_input(images)
    assert batch.shape == (3, 28, 28, 1) and batch.dtype == np.float32 and batch.max() == 1.0
    single = to_model_input(np.full((28, 28), 0.5, dtype=np.float32))
    assert single.shape == (1, 28, 28, 1) and single.max() == 0.5


def test_to_model_input_rejects_other_sizes():
    with pytest.raises(ValueError, match="28×28"):
        to_model_input(np.zeros((32, 32)))


def test_unsupported_array_layout_is_a_clear_value_error():
    with pytest.raises(ValueError, match="grayscale, RGB or RGBA"):
        prepare_digit(np.zeros((10, 10, 2), dtype=np.uint8))


def test_a_thin_pen_stroke_on_a_large_scan_is_found():
    """Ink is located on a max-pooled copy, so a stroke thinner than the pooling blocks is not averaged away."""
    page = np.full((3000, 2400), 255, dtype=np.uint8)
    page[700:2300, 1500:1503] = 0  # a '1' three pixels wide on a 7 MP page: 0.07% of the pixels
    prepared = prepare_digit(page)
    rows, cols = np.nonzero(prepared > 0.05)
    assert rows.max() - rows.min() + 1 in (20, 21)
    assert cols.max() - cols.min() + 1 <= 3
    assert abs(centre_of_mass(prepared)[1] - 14) <= 0.6


def test_a_large_image_is_prepared_like_the_same_image_at_normal_size():
    sample = np.asarray(Image.open(sorted((paths.SAMPLES_DIR / "digits").glob("2_*.png"))[0]))
    normal = Image.fromarray(255 - sample).resize((280, 280), Image.Resampling.BICUBIC)
    large = np.asarray(normal.resize((2800, 2800), Image.Resampling.BICUBIC))
    difference = np.abs(prepare_digit(large) - prepare_digit(normal))
    assert difference.mean() < 0.005 and difference.max() < 0.1


def test_a_large_blank_image_is_still_called_blank():
    with pytest.raises(EmptyImageError, match="blank"):
        prepare_digit(np.full((2000, 3000, 3), 200, dtype=np.uint8))


class FixedOutput:
    """A stand-in for a runtime predictor: the same probabilities for every image, whatever the batch holds."""

    format_name = "tflite"

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)
        self.batches = []

    def predict(self, batch):
        self.batches.append(batch)
        return np.repeat(self.probabilities[None], len(batch), axis=0)


PROBABILITIES = np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.8, 0.03, 0.03], dtype=np.float32)
ENTRY = {"labels": [str(digit) for digit in range(10)], "calibration": {"temperature": 0.5}}


def test_the_classifier_reads_the_prepared_image_and_calibrates_its_probabilities():
    predictor = FixedOutput(PROBABILITIES)
    result = digits.DigitClassifier(predictor, ENTRY).classify(stroke_image())
    assert np.array_equal(result.image, prepare_digit(stroke_image()))
    assert np.array_equal(predictor.batches[0], to_model_input(result.image))
    expected = calibration.scaled(PROBABILITIES[None], 0.5)[0]
    assert result.digit == 7 and np.array_equal(result.probabilities, expected)
    assert result.confidence == pytest.approx(float(expected[7])) and result.milliseconds >= 0


def test_a_calibrated_predictor_is_not_calibrated_again():
    calibrated = calibration.calibrated(FixedOutput(PROBABILITIES), ENTRY)
    once = digits.DigitClassifier(FixedOutput(PROBABILITIES), ENTRY).classify(stroke_image())
    assert np.array_equal(digits.DigitClassifier(calibrated, ENTRY).classify(stroke_image()).probabilities,
                          once.probabilities)


def test_the_classifier_says_when_there_is_no_ink():
    with pytest.raises(EmptyImageError):
        digits.DigitClassifier(FixedOutput(PROBABILITIES), ENTRY).classify(np.zeros((50, 50), dtype=np.uint8))


def test_the_picture_is_the_seen_image_enlarged_with_visible_pixels():
    result = digits.DigitClassifier(FixedOutput(PROBABILITIES), ENTRY).classify(stroke_image())
    picture = np.asarray(result.picture())
    assert picture.shape == (112, 112) and picture.dtype == np.uint8
    assert np.array_equal(picture[::4, ::4], (result.image * 255).astype(np.uint8))


def test_the_samples_are_one_per_digit_and_named_by_their_mnist_test_index():
    samples = digits.sample_paths()
    assert [path.name.split("_")[0] for path in samples] == [str(digit) for digit in range(10)]
    assert samples[0].parent == paths.SAMPLES_DIR / "digits"
    assert digits.sample_name(samples[7]) == f"digit 7 (MNIST test #{samples[7].stem.split('_')[-1]})"
