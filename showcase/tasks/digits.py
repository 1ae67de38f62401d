"""Digit preprocessing: any drawing or photo of one digit -> the 28×28 image an MNIST model expects.

MNIST's own recipe (LeCun et al.): the digit is cropped to its ink, scaled so that its longer side is
20 pixels (keeping the aspect ratio, with anti-aliasing), and placed in a 28×28 field so that its centre of
mass sits at the centre. Ink is white (1.0) on black (0.0). ``prepare_digit`` applies that recipe to a
canvas drawing or an uploaded photo, whichever way round its ink and background are;
``to_model_input`` is the last step shared by training, evaluation and serving.

Serving: ``DigitClassifier`` reads the digit in an image and returns a ``DigitResult`` with its calibrated
probabilities, the 28×28 image the model saw and the prediction's latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from showcase import calibration, datasets, evaluation, paths, runtime
from showcase.imaging import release_freed_memory

PREPROCESSING_ID = "digits/mnist-recipe-v1"
IMAGE_SIZE = 28
DIGIT_BOX = 20
# Below this contrast between ink and background, the image holds no digit.
MIN_CONTRAST = 0.15
# Ink fainter than this fraction of the strongest ink is treated as background (paper texture, noise).
INK_FLOOR = 0.25


class EmptyImageError(ValueError):
    """The image has no visible ink: a blank canvas, or a uniformly white or black picture."""


# Larger images (a photo reduced to read_image's working size, say) first have their ink located on a
# max-pooled copy this size, and only the region around the ink goes through the recipe's float steps...
INK_SEARCH_SIDE = 1024
# ...reduced to at most this many pixels on its longer side, still far more than the 20-pixel box needs.
CROP_SIDE = 512


@dataclass(frozen=True)
class InkRule:
    """Where an image's ink is: in its alpha channel, or in how far its grey departs from the background's."""

    in_alpha: bool
    background: float = 0.0

    def ink(self, pixels: np.ndarray) -> np.ndarray:
        """Ink intensity in [0, 1] of every pixel (float32)."""
        if self.in_alpha:
            return pixels[..., 3].astype(np.float32) / 255.0
        gray = _grayscale(pixels)
        ink = self.background - gray if self.background > 0.5 else gray - self.background
        return np.clip(ink, 0.0, 1.0)


def ink_rule(pixels: np.ndarray) -> InkRule:
    """Decide where the ink is, from the whole image.

    An image with a transparent background (the drawing canvas, some PNGs) has its ink in the alpha
    channel. Otherwise the background is the median of the border pixels: on a light background the ink
    is what is darker than it, on a dark background what is lighter.
    """
    if pixels.ndim == 3 and pixels.shape[2] == 4 and pixels[..., 3].min() < 250:
        return InkRule(in_alpha=True)
    borders = (pixels[:2], pixels[-2:], pixels[:, :2], pixels[:, -2:])
    border = np.concatenate([_grayscale(strip).ravel() for strip in borders])
    return InkRule(in_alpha=False, background=float(np.median(border)))


def ink_intensity(image: Image.Image | np.ndarray) -> np.ndarray:
    """Map an image to ink intensity in [0, 1], 1 being the strongest ink, whatever its polarity."""
    pixels = np.asarray(image)
    return ink_rule(pixels).ink(pixels)


def _grayscale(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels.astype(np.float32) / (255.0 if pixels.dtype == np.uint8 else 1.0)
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        return pixels[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    raise ValueError(f"Expected a grayscale, RGB or RGBA image, got an array of shape {pixels.shape}.")


def prepare_digit(image: Image.Image | np.ndarray) -> np.ndarray:
    """Apply the MNIST recipe; return a (28, 28) float32 array in [0, 1], white ink on black.

    Raises ``EmptyImageError`` when there is no ink to find.
    """
    pixels = np.asarray(image)
    if pixels.size == 0:
        raise EmptyImageError("The image is empty.")
    rule = ink_rule(pixels)
    large = pixels.dtype == np.uint8 and max(pixels.shape[:2]) > INK_SEARCH_SIDE
    if large:
        pixels = region_around_ink(pixels, rule)
    try:
        return _mnist_recipe(rule.ink(pixels))
    finally:
        if large:
            release_freed_memory()


def _mnist_recipe(ink: np.ndarray) -> np.ndarray:
    peak = float(np.percentile(ink, 99.9))
    if peak < MIN_CONTRAST:
        raise EmptyImageError("No digit found: the image looks blank (no ink that stands out from the background).")
    ink = np.clip(ink / peak, 0.0, 1.0)
    ink[ink < INK_FLOOR] = 0.0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return centre_by_mass(scale_to_box(cropped))


def region_around_ink(pixels: np.ndarray, rule: InkRule) -> np.ndarray:
    """The part of a large uint8 image that holds its ink, reduced to at most ``CROP_SIDE`` pixels a side.

    The ink is located on a copy max-pooled (so that thin strokes survive) to ``INK_SEARCH_SIDE``, with a
    margin of one pooled pixel. An image with no ink at all comes back reduced whole, for the recipe to
    call blank.
    """
    height, width = pixels.shape[:2]
    factor = math.ceil(max(height, width) / INK_SEARCH_SIDE)
    strongest = _strongest_ink_per_block(pixels, rule, factor)
    peak = float(np.percentile(strongest, 99.9))
    top, bottom, left, right = 0, height, 0, width
    if peak >= MIN_CONTRAST:
        rows = np.flatnonzero((strongest >= INK_FLOOR * peak).any(axis=1))
        cols = np.flatnonzero((strongest >= INK_FLOOR * peak).any(axis=0))
        top, bottom = max(0, (rows[0] - 1) * factor), min(height, (rows[-1] + 2) * factor)
        left, right = max(0, (cols[0] - 1) * factor), min(width, (cols[-1] + 2) * factor)
    region = pixels[top:bottom, left:right]
    return _reduce(region, math.ceil(max(region.shape[:2]) / CROP_SIDE))


def _strongest_ink_per_block(pixels: np.ndarray, rule: InkRule, factor: int) -> np.ndarray:
    """The strongest ink in every ``factor``×``factor`` block, as a float32 array in [0, 1]."""
    if rule.in_alpha:
        channel, darkest = pixels[..., 3], False
    else:
        channel = pixels if pixels.ndim == 2 else np.asarray(Image.fromarray(pixels[..., :3].copy()).convert("L"))
        darkest = rule.background > 0.5
    height, width = channel.shape
    padded = np.pad(channel, ((0, -height % factor), (0, -width % factor)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    pooled = blocks.min(axis=(1, 3)) if darkest else blocks.max(axis=(1, 3))
    if rule.in_alpha:
        return pooled.astype(np.float32) / 255.0
    return InkRule(in_alpha=False, background=rule.background).ink(pooled)


def _reduce(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor``×``factor`` blocks of a uint8 image, channel by channel (no premultiplied alpha)."""
    if factor <= 1:
        return pixels
    if pixels.ndim == 2:
        return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).reduce(factor))
    channels = [_reduce(pixels[..., channel], factor) for channel in range(pixels.shape[2])]
    return np.stack(channels, axis=-1)


def scale_to_box(cropped: np.ndarray, box: int = DIGIT_BOX) -> np.ndarray:
    """Resize so that the longer side is ``box`` pixels, keeping the aspect ratio (anti-aliased)."""
    height, width = cropped.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(cropped.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def centre_by_mass(digit: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Paste ``digit`` into a ``size``×``size`` field with its centre of mass at the field's centre."""
    height, width = digit.shape
    total = float(digit.sum())
    rows, cols = np.indices(digit.shape)
    centre_row = float((rows * digit).sum() / total) if total else (height - 1) / 2
    centre_col = float((cols * digit).sum() / total) if total else (width - 1) / 2
    # Shift so the centre of mass lands where it sits on average in MNIST (row 14, column 14), but never
    # push ink out of the field.
    top = int(np.clip(round(size / 2 - centre_row), 0, size - height))
    left = int(np.clip(round(size / 2 - centre_col), 0, size - width))
    field = np.zeros((size, size), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Stack 28×28 images (uint8 0-255 as in MNIST, or float in [0, 1]) into a (n, 28, 28, 1) float32 batch."""
    images = np.asarray(images)
    if images.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"Expected 28×28 images, got an array of shape {images.shape}.")
    batch = images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)
    return batch / 255.0 if images.dtype == np.uint8 else batch


# ## Serving

SAMPLE_DIR = paths.SAMPLES_DIR / "digits"
# The page shows the 28×28 image the model saw at four times its size, with visible pixels.
PICTURE_SIZE = 112


def sample_paths(directory: Path = SAMPLE_DIR) -> list[Path]:
    """The committed MNIST test digits, one per digit, named ``<digit>_mnist_test_<index>.png``."""
    return sorted(directory.glob("*.png"))


def mnist_test_number(path: Path) -> str:
    """The MNIST test index a committed sample was taken from."""
    return path.stem.split("_")[-1]


def sample_name(path: Path) -> str:
    """How the page lists a committed sample: "digit 7 (MNIST test #6586)"."""
    return f"digit {path.name.split('_')[0]} (MNIST test #{mnist_test_number(path)})"


@dataclass(frozen=True)
class DigitResult:
    """What the classifier read in one image."""

    digit: int
    probabilities: np.ndarray
    """Calibrated probability of each digit 0–9."""
    image: np.ndarray
    """The (28, 28) float32 image the model saw, white ink on black in [0, 1]."""
    milliseconds: float
    """Wall-clock latency of the model's prediction alone (preprocessing not included)."""

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])

    def picture(self, size: int = PICTURE_SIZE) -> Image.Image:
        """The image the model saw, enlarged to ``size``×``size`` with visible pixels."""
        return Image.fromarray((self.image * 255).astype(np.uint8)).resize((size, size), Image.Resampling.NEAREST)


class DigitClassifier:
    """Reads the digit in a drawing or photo: the MNIST recipe, then the model's calibrated probabilities.

    ``predictor`` is one format of the digits model (``showcase.runtime``), shared and thread-safe. Whether it
    comes calibrated (as ``ui.predictor_or_stop`` hands it out) or not, ``calibration.calibrated`` applies the
    temperature once. There is no other state: one classifier per page run costs nothing.
    """

    def __init__(self, predictor: runtime.Predictor, entry: dict[str, Any]):
        self.predictor = calibration.calibrated(predictor, entry)

    def classify(self, image: Image.Image | np.ndarray) -> DigitResult:
        """Apply the MNIST recipe to a drawing or photo and read it. Raises ``EmptyImageError`` without ink."""
        return self.classify_prepared(prepare_digit(image))

    def classify_prepared(self, prepared: np.ndarray) -> DigitResult:
        """Read an image already through ``prepare_digit``: (28, 28) float32 in [0, 1]."""
        probabilities, milliseconds = runtime.timed_predict(self.predictor, to_model_input(prepared))
        digit = int(np.argmax(probabilities[0]))
        return DigitResult(digit, probabilities[0], prepared, milliseconds)


# ## Evaluation subset and calibration inputs


def calibration_inputs(entry: dict[str, Any]) -> np.ndarray:
    """Representative inputs for int8 calibration: the committed sample digits."""
    files = sample_paths()
    return to_model_input(np.stack([np.asarray(Image.open(file).convert("L")) for file in files]))


def evaluation_arrays(entry: dict[str, Any]) -> dict[str, np.ndarray]:
    _, (x_test, y_test) = datasets.mnist(evaluation.require_dataset(datasets.MNIST))
    return {"inputs": to_model_input(x_test[::10]), "targets": y_test[::10]}


EVALUATION = evaluation.Subset("accuracy", True, "1,000 MNIST test digits (every 10th)", evaluation_arrays,
                               evaluation.accuracy)
