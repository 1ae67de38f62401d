"""A large upload is decoded at a reduced size; the models must still read it as they read the original."""

import io

import numpy as np
import pytest
from PIL import Image

from showcase import paths, runtime
from showcase.imaging import read_image
from showcase.tasks import digits, flowers

DIGIT_SAMPLES = sorted((paths.SAMPLES_DIR / "digits").glob("*.png"))
FLOWER_SAMPLES = sorted((paths.SAMPLES_DIR / "flowers").glob("*.jpg"))


def encode(image: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def paper_digit(path, size: int) -> Image.Image:
    """An MNIST sample as dark ink on white paper, upscaled smoothly to ``size``×``size``."""
    return Image.fromarray(255 - np.asarray(Image.open(path))).resize((size, size), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def digit_model():
    return runtime.load("digits", "tflite")


@pytest.fixture(scope="module")
def flower_model():
    return runtime.load("flowers", "tflite")


def test_a_36_megapixel_digit_is_read_like_the_same_digit_at_280_pixels(digit_model):
    normal = [digits.prepare_digit(paper_digit(path, 280)) for path in DIGIT_SAMPLES]
    big = [digits.prepare_digit(read_image(encode(paper_digit(path, 6000), "PNG", compress_level=1)))
           for path in DIGIT_SAMPLES]
    assert np.abs(np.stack(big) - np.stack(normal)).mean() < 0.01
    labels = [int(path.name.split("_")[0]) for path in DIGIT_SAMPLES]
    predicted_normal = digit_model.predict(digits.to_model_input(np.stack(normal))).argmax(axis=1)
    predicted_big = digit_model.predict(digits.to_model_input(np.stack(big))).argmax(axis=1)
    assert predicted_big.tolist() == predicted_normal.tolist() == labels


@pytest.mark.parametrize("path", FLOWER_SAMPLES[::3], ids=lambda path: path.stem)
def test_a_39_megapixel_flower_photo_is_named_like_the_original(flower_model, path):
    original = Image.open(path)
    scale = (39e6 / (original.width * original.height)) ** 0.5
    big = original.resize((int(original.width * scale), int(original.height * scale)), Image.Resampling.BICUBIC)
    _, big_view = flowers.prepare_photo(encode(big, "JPEG", quality=90))
    _, view = flowers.prepare_photo(path.read_bytes())
    assert np.abs(big_view - view).mean() < 0.03
    probabilities = flower_model.predict(flowers.to_model_input(np.stack([view, big_view])))
    assert probabilities[0].argmax() == probabilities[1].argmax()
