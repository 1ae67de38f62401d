"""Flower photo preprocessing, shared by training, evaluation and the app.

Every photo -- a training image read from the tf_flowers archive or a visitor's upload -- goes through
``showcase.imaging.read_image`` (EXIF orientation applied, any Pillow mode turned into L, RGB or RGBA),
then ``to_rgb`` (grayscale expanded, transparency flattened onto white) and ``center_crop`` (the largest
centred square, resized to 224×224 in one bicubic step). Pixels are float32 in [0, 1], the TF Hub image
convention; the backbone itself maps them to MobileNet's [-1, 1].

Training views (``random_view``) use the same crop-and-resize function with a random square-ish box,
a random horizontal flip and mild colour jitter, so that evaluation and serving see exactly the
geometry the model was trained on. No TensorFlow here: the app imports this module.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance

from showcase.imaging import LARGE_DECODE_PIXELS, read_image, release_freed_memory

PREPROCESSING_ID = "flowers/center-crop-224-v1"
IMAGE_SIZE = 224
LABELS = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
# Random training crops cover this fraction of the photo's area, with this range of aspect ratios.
CROP_AREA = (0.45, 1.0)
CROP_ASPECT = (3 / 4, 4 / 3)
COLOR_JITTER = 0.2


def to_rgb(image: Image.Image) -> Image.Image:
    """An RGB copy of an L, RGB or RGBA image; transparent pixels become white."""
    if image.mode == "RGB":
        return image
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def crop_and_resize(image: Image.Image, box: tuple[float, float, float, float]) -> np.ndarray:
    """Resize the ``box`` region of an RGB image to 224×224; float32 pixels in [0, 1]."""
    # reducing_gap first shrinks very large photos by an integer factor (fast, still anti-aliased).
    resized = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.float32) / 255.0


def center_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The largest square centred in a ``width``×``height`` image."""
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return (left, top, left + side, top + side)


def center_crop(image: Image.Image) -> np.ndarray:
    """The evaluation and serving view of a photo: its centre square at 224×224, float32 in [0, 1]."""
    image = to_rgb(image)
    return crop_and_resize(image, center_box(*image.size))


def random_view(image: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """A random training view: crop (45–100% of the area), horizontal flip, brightness/contrast/colour."""
    image = to_rgb(image)
    width, height = image.size
    area = width * height * rng.uniform(*CROP_AREA)
    aspect = np.exp(rng.uniform(np.log(CROP_ASPECT[0]), np.log(CROP_ASPECT[1])))
    crop_width = min(width, np.sqrt(area * aspect))
    crop_height = min(height, np.sqrt(area / aspect))
    left = rng.uniform(0, width - crop_width)
    top = rng.uniform(0, height - crop_height)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(1 + rng.uniform(-COLOR_JITTER, COLOR_JITTER))
    return crop_and_resize(image, (left, top, left + crop_width, top + crop_height))


def prepare_photo(data: bytes) -> tuple[Image.Image, np.ndarray]:
    """Decode uploaded or archived bytes; return the upright image and its model view (224, 224, 3).

    Raises ``showcase.imaging.ImageInputError`` (a ``ValueError``) with a visitor-facing message for
    anything that is not a usable image.
    """
    image = read_image(data)
    view = center_crop(image)
    width, height = image.info["original_size"]
    if width * height > LARGE_DECODE_PIXELS:
        release_freed_memory()
    return image, view


def to_model_input(views) -> np.ndarray:
    """Stack one or more (224, 224, 3) views into the model's float32 batch (N, 224, 224, 3)."""
    batch = np.asarray(views, dtype=np.float32)
    if batch.ndim == 3:
        batch = batch[None]
    if batch.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"Expected views of shape (224, 224, 3), got a batch of shape {batch.shape}.")
    return batch
