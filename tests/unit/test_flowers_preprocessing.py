"""Flower photo preprocessing (shared by training, evaluation and the page) and the page's verdict logic."""

import io

import numpy as np
import pytest
from PIL import Image

from showcase import calibration
from showcase.imaging import ImageInputError
from showcase.tasks import flowers
from showcase.tasks import flowers as flower_preprocessing
from showcase.tasks.flowers import center_crop, prepare_photo, random_view, to_model_input


def encode(image: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def left_red_right_blue(size=(300, 200)) -> Image.Image:
    pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    pixels[:, : size[0] // 2] = (255, 0, 0)
    pixels[:, size[0] // 2:] = (0, 0, 255)
    return Image.fromarray(pixels)


def test_center_crop_is_224_square_float_in_unit_range():
    view = center_crop(left_red_right_blue())
    assert view.shape == (224, 224, 3) and view.dtype == np.float32
    assert 0.0 <= view.min() and view.max() <= 1.0
    # The centre square of a 300×200 image keeps both halves, split in the middle.
    assert view[112, 20, 0] > 0.9 and view[112, 200, 2] > 0.9


def test_exif_orientation_is_applied():
    # Stored sideways with "rotate 90° clockwise to view" (orientation 6): upright, red ends up on top.
    stored = left_red_right_blue((300, 200)).transpose(Image.Transpose.ROTATE_90)  # 200×300, red at the bottom
    exif = Image.Exif()
    exif[0x0112] = 6
    image, view = prepare_photo(encode(stored, "JPEG", exif=exif.tobytes(), quality=95))
    assert image.size == (300, 200)
    assert view[112, 20, 0] > 0.8 and view[112, 200, 2] > 0.8


def test_transparency_becomes_white_and_grayscale_becomes_rgb():
    rgba = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    assert np.allclose(center_crop(rgba), 1.0)
    gray = center_crop(Image.new("L", (50, 80), 128))
    assert gray.shape == (224, 224, 3) and np.allclose(gray, 128 / 255)


@pytest.mark.parametrize(
    "image, format_name",
    [
        (Image.new("CMYK", (120, 90), (0, 255, 255, 0)), "JPEG"),  # red in CMYK
        (Image.fromarray(np.full((90, 120), 40000, dtype=np.uint16)), "PNG"),  # 16-bit grayscale
        (left_red_right_blue((120, 90)).convert("P"), "GIF"),  # palette
        (Image.new("RGB", (1, 1), (250, 200, 0)), "PNG"),  # 1×1
        (left_red_right_blue((120, 90)), "WEBP"),
        (left_red_right_blue((120, 90)), "BMP"),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "palette-gif", "1x1-png", "webp", "bmp"],
)
def test_odd_modes_and_sizes_give_a_valid_view(image, format_name):
    _, view = prepare_photo(encode(image, format_name))
    assert view.shape == (224, 224, 3) and np.isfinite(view).all()
    assert 0.0 <= view.min() and view.max() <= 1.0


def test_cmyk_red_stays_red():
    _, view = prepare_photo(encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG"))
    assert view[..., 0].mean() > 0.8 and view[..., 1].mean() < 0.3


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels: a decompression bomb for the size check."""
    import struct
    import zlib

    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = data[12:29]  # b"IHDR" + 13 bytes of header
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"just some text, not pixels" * 30, "not an image"),
        (encode(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")[:4000], "damaged or truncated"),
        (png_header_claiming(30000, 30000), "too large"),
    ],
    ids=["empty", "non-image", "truncated-jpeg", "30000x30000-png"],
)
def test_bad_bytes_raise_a_clear_error(data, message):
    with pytest.raises(ImageInputError, match=message):
        prepare_photo(data)


def test_random_views_are_seeded_and_vary():
    image = left_red_right_blue((320, 240))
    first = random_view(image, np.random.default_rng(1))
    again = random_view(image, np.random.default_rng(1))
    other = random_view(image, np.random.default_rng(2))
    assert first.shape == (224, 224, 3)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_to_model_input_batches_and_rejects_wrong_shapes():
    view = np.zeros((224, 224, 3), dtype=np.float32)
    assert to_model_input(view).shape == (1, 224, 224, 3)
    assert to_model_input([view, view]).shape == (2, 224, 224, 3)
    with pytest.raises(ValueError, match="224, 224, 3"):
        to_model_input(np.zeros((28, 28, 1)))


ENTRY = {"labels": list(flower_preprocessing.LABELS), "extra": {"not_sure": {"threshold": 0.6}}}


def test_verdict_is_sure_only_above_the_threshold():
    sure = flowers.verdict(np.array([0.05, 0.05, 0.7, 0.1, 0.1]), ENTRY)
    assert (sure.label, sure.sure) == ("roses", True) and sure.confidence == pytest.approx(0.7)
    unsure = flowers.verdict(np.array([[0.3, 0.25, 0.2, 0.15, 0.1]]), ENTRY)
    assert (unsure.label, unsure.sure) == ("daisy", False)
    with pytest.raises(ValueError, match="5 probabilities"):
        flowers.verdict(np.ones(3), ENTRY)


def test_display_copy_is_small_rgb():
    shown = flowers.display_copy(Image.new("RGBA", (4000, 3000)))
    assert shown.mode == "RGB" and max(shown.size) <= 480


def test_class_report_and_threshold_from_validation_predictions():
    labels = np.array([0, 0, 1, 1, 2])
    probabilities = np.array([
        [0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.1, 0.8, 0.1], [0.5, 0.45, 0.05], [0.1, 0.1, 0.8],
    ])
    confusion, per_class = flowers.class_report(probabilities, labels, ["a", "b", "c"])
    assert confusion.tolist() == [[2, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert per_class["a"] == {"precision": pytest.approx(2 / 3, abs=1e-4), "recall": 1.0, "support": 2}
    # The one wrong prediction has confidence 0.5: 0.51 is the lowest threshold keeping only right ones.
    chosen = flowers.choose_threshold(probabilities, labels, target_accuracy=1.0)
    assert chosen["threshold"] == pytest.approx(0.51)
    assert chosen["coverage"] == pytest.approx(0.6) and chosen["accuracy_above"] == 1.0


class Constant:
    """A stand-in for the flowers model: the same five probabilities for every view."""

    format_name = "onnx"

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)

    def predict(self, batch):
        assert batch.shape[1:] == (224, 224, 3)
        return np.repeat(self.probabilities[None], len(batch), axis=0)


def test_the_classifier_names_the_flower_from_calibrated_probabilities():
    photo = encode(left_red_right_blue(), "PNG")
    entry = {**ENTRY, "calibration": {"temperature": 2.0}}
    result = flowers.FlowerClassifier(Constant([0.05, 0.05, 0.7, 0.1, 0.1]), entry).classify(photo)
    expected = calibration.scaled(np.array([[0.05, 0.05, 0.7, 0.1, 0.1]], dtype=np.float32), 2.0)[0]
    assert np.array_equal(result.probabilities, expected)
    # T = 2 softens 70% to below the 60% threshold: the page says "not sure".
    assert (result.label, result.sure) == ("roses", False) and result.confidence == pytest.approx(float(expected[2]))
    assert np.array_equal(result.view, prepare_photo(photo)[1]) and result.milliseconds >= 0
    assert result.picture().size == (224, 224)


def test_the_classifier_of_an_uncalibrated_model_gives_the_verdict_of_its_probabilities():
    view = center_crop(left_red_right_blue())
    result = flowers.FlowerClassifier(Constant([0.05, 0.05, 0.7, 0.1, 0.1]), ENTRY).classify_prepared(view)
    assert isinstance(result, flowers.Verdict)
    assert (result.label, result.sure) == ("roses", True) and result.confidence == pytest.approx(0.7)


def test_the_classifier_refuses_what_is_not_a_photo():
    with pytest.raises(ImageInputError):
        flowers.FlowerClassifier(Constant([0.2] * 5), ENTRY).classify(b"not a photo")


def test_confusion_chart_labels_every_cell():
    entry = {"labels": ["a", "b"], "extra": {"confusion_matrix": [[70, 1], [2, 30]]}}
    spec = flowers.confusion_chart(entry).to_dict()
    assert spec["title"] == "Confusion matrix (validation)"
    assert [row["photos"] for row in next(iter(spec["datasets"].values()))] == [70, 1, 2, 30]


def test_sample_photo_bytes_only_for_a_committed_sample():
    path = flowers.sample_photos()[0]
    assert flowers.sample_photo_bytes(path.name) == path.read_bytes()
    assert flowers.sample_photo_bytes(None) is None and flowers.sample_photo_bytes("gone.jpg") is None
