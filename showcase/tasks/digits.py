"""Digit preprocessing: any drawing or photo of one digit -> the 28×28 image an MNIST model expects.

MNIST's own recipe (LeCun et al.): the digit is cropped to its ink, scaled so that its longer side is
20 pixels (keeping the aspect ratio, with anti-aliasing), and placed in a 28×28 field so that its centre of
mass sits at the centre. Ink is white (1.0) on black (0.0). ``prepare_digit`` applies that recipe to a
canvas drawing or an uploaded photo, whichever way round its ink and background are;
``to_model_input`` is the last step shared by training, evaluation and serving.

Before the recipe erases the evidence, ``digit_check`` asks whether the image holds one handwritten digit at all
(``showcase.ood``): ``ink_statistics`` describe its ink (contrast, share of the image, faint tones, connected
pieces, the frame, colour, the paper's evenness, the ink's aspect), and the check refuses an image whose
statistics fall outside the ranges measured on digits (MNIST digits, canvas drawings and photos of written
digits), beyond the threshold of the manifest's ``"ood"`` record (``training/fit_ood.py digits``). The Anomaly
page asks the same check.

Serving: ``DigitClassifier`` reads the digit in an image and returns a ``DigitResult`` with its calibrated
probabilities, the 28×28 image the model saw, the prediction's latency and the digit check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from showcase import calibration, datasets, evaluation, ood, paths, runtime
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


# ## Is this one handwritten digit?

# The statistics are measured on the ink reduced to this many pixels on its longer side.
CHECK_SIDE = 64
# Ink at least this share of the strongest counts as a stroke; between FAINT_INK and it, as a faint tone.
STROKE_INK, FAINT_INK = 0.5, 0.15
# The frame whose ink is measured: this share of the shorter side, on every side.
FRAME = 0.06
# A connected piece of stroke counts when it holds at least this share of the stroke pixels.
PIECE_SHARE = 0.05
INK_STATISTICS = ("contrast", "ink_share", "faint_ratio", "pieces", "largest_piece", "frame_ink", "colourfulness",
                  "paper_unevenness", "aspect")
# Statistics compared on a logarithmic scale (ratios spanning orders of magnitude).
LOG_STATISTICS = ("ink_share", "faint_ratio", "frame_ink", "paper_unevenness", "aspect")
# Statistics where only one side of the range tells a digit from something else: cleaner, sharper or greyer than
# the digits measured is no sign of a photo; more contrast, one whole stroke or a taller one (a straight 1) no sign
# of anything else.
ONLY_ABOVE = ("faint_ratio", "pieces", "frame_ink", "colourfulness", "paper_unevenness")
ONLY_BELOW = ("contrast", "largest_piece", "aspect")
OOD_REASON = "This doesn't look like one handwritten digit."


def ink_statistics(image: Image.Image | np.ndarray) -> dict[str, float]:
    """What the ink of an uploaded image looks like, before the MNIST recipe:

    - ``contrast``: the strongest ink (99.5th percentile) against the background, in [0, 1];
    - ``ink_share``: the share of the image that is stroke;
    - ``faint_ratio``: faint tones per stroke pixel (a photo's shading, a texture);
    - ``pieces``: the connected pieces of stroke holding at least 5% of it, and ``largest_piece`` its share in the
      largest one;
    - ``frame_ink``: the share of the image's outer frame that is stroke;
    - ``colourfulness``: Hasler and Süsstrunk's measure on the RGB pixels (0 for grey images and canvases);
    - ``paper_unevenness``: the mean ink of what is not ink (noise, texture, uneven light);
    - ``aspect``: the height over the width of the strokes' bounding box.
    """
    pixels = np.asarray(image)
    if pixels.size == 0:
        raise EmptyImageError("The image is empty.")
    rule = ink_rule(pixels)
    if pixels.dtype == np.uint8:
        pixels = _reduce(pixels, math.ceil(max(pixels.shape[:2]) / (8 * CHECK_SIDE)))
    ink = rule.ink(pixels)
    height, width = ink.shape
    scale = CHECK_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BOX), dtype=np.float64)
    contrast = float(np.percentile(small, 99.5))
    relative = np.clip(small / max(contrast, 1e-6), 0.0, 1.0)
    stroke, faint = relative >= STROKE_INK, (relative >= FAINT_INK) & (relative < STROKE_INK)
    strokes = max(int(stroke.sum()), 1)
    pieces = piece_sizes(stroke)
    frame = np.ones_like(stroke)
    margin = max(1, round(FRAME * min(stroke.shape)))
    frame[margin:-margin, margin:-margin] = False
    rows, cols = np.flatnonzero(stroke.any(axis=1)), np.flatnonzero(stroke.any(axis=0))
    aspect = (rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1) if rows.size else 1.0
    paper = relative[relative < FAINT_INK]
    return {"contrast": contrast, "ink_share": float(stroke.mean()), "faint_ratio": float(faint.sum() / strokes),
            "pieces": float((pieces >= PIECE_SHARE * strokes).sum()),
            "largest_piece": float(pieces[0] / strokes) if pieces.size else 0.0,
            "frame_ink": float(stroke[frame].mean()),
            "colourfulness": 0.0 if rule.in_alpha else colourfulness(pixels),
            "paper_unevenness": float(paper.mean()) if paper.size else 1.0, "aspect": float(aspect)}


def piece_sizes(mask: np.ndarray) -> np.ndarray:
    """The pixel counts of the 8-connected pieces of a boolean mask, largest first (labels spread to the
    smallest neighbouring label until nothing changes)."""
    height, width = mask.shape
    outside = height * width + 1
    labels = np.where(mask, np.arange(1, outside).reshape(height, width), outside)
    while True:
        padded = np.pad(labels, 1, constant_values=outside)
        neighbours = np.min([padded[1 + dy:height + 1 + dy, 1 + dx:width + 1 + dx]
                             for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
        spread = np.where(mask, neighbours, outside)
        if np.array_equal(spread, labels):
            break
        labels = spread
    return np.sort(np.unique(labels[mask], return_counts=True)[1])[::-1]


def colourfulness(pixels: np.ndarray) -> float:
    """Hasler and Süsstrunk's colourfulness of RGB(A) pixels, scaled to [0, about 1]; 0 for grey images."""
    if pixels.ndim != 3:
        return 0.0
    rgb = pixels[..., :3].astype(np.float64) / (255.0 if pixels.dtype == np.uint8 else 1.0)
    red_green = rgb[..., 0] - rgb[..., 1]
    yellow_blue = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(red_green.std(), yellow_blue.std()) + 0.3 * np.hypot(red_green.mean(), yellow_blue.mean()))


def statistics_vector(statistics: dict[str, float]) -> np.ndarray:
    """The statistics in ``INK_STATISTICS`` order, the ``LOG_STATISTICS`` on a log scale."""
    return np.array([np.log(statistics[name] + 1e-3) if name in LOG_STATISTICS else statistics[name]
                     for name in INK_STATISTICS])


def range_score(vectors: np.ndarray, low: np.ndarray, high: np.ndarray,
                names: tuple[str, ...] = INK_STATISTICS) -> np.ndarray:
    """How far each row's statistics (``names``, in order) fall outside the ranges [low, high], in range widths:
    the largest excess over the statistics, 0 when every one is inside (higher is more unusual). The statistics of
    ``ONLY_ABOVE`` count only above their range, those of ``ONLY_BELOW`` only below."""
    vectors = np.atleast_2d(vectors)
    width = np.maximum(high - low, 1e-6)
    above = np.where([name in ONLY_BELOW for name in names], 0.0, (vectors - high) / width)
    below = np.where([name in ONLY_ABOVE for name in names], 0.0, (low - vectors) / width)
    return np.max(np.maximum(above, below), axis=1).clip(0.0)


def digit_check(image: Image.Image | np.ndarray, entry: dict[str, Any]) -> ood.Check:
    """Whether an image holds one handwritten digit, judged on the ranges and threshold of the entry's
    ``"ood"`` record (unchecked without one). An image with no ink at all is left to the recipe's message."""
    record = entry.get("ood")
    if not record:
        return ood.UNCHECKED
    ranges = record["ranges"]
    low, high = (np.array([ranges[name][side] for name in INK_STATISTICS]) for side in (0, 1))
    score = float(range_score(statistics_vector(ink_statistics(image)), low, high)[0])
    return ood.judge(score, record["threshold"], record["signal"], OOD_REASON)


def digit_check_rules(entry: dict[str, Any]) -> dict[str, Any] | None:
    """What ``digit_check`` needs, as plain data for the page's in-browser copy of it
    (``app/static/browser/digits_recipe.mjs``): the entry's ranges and threshold, and the statistics' rules."""
    record = entry.get("ood")
    if not record:
        return None
    return {"ranges": record["ranges"], "threshold": record["threshold"], "statistics": list(INK_STATISTICS),
            "log_statistics": list(LOG_STATISTICS), "only_above": list(ONLY_ABOVE), "only_below": list(ONLY_BELOW)}


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
class DigitResult(ood.Judged):
    """What the classifier read in one image, and whether the image looked like one handwritten digit
    (``answer``, ``in_distribution`` and ``reason`` read it, see ``showcase.ood.Judged``)."""

    digit: int
    probabilities: np.ndarray
    """Calibrated probability of each digit 0–9."""
    image: np.ndarray
    """The (28, 28) float32 image the model saw, white ink on black in [0, 1]."""
    milliseconds: float
    """Wall-clock latency of the model's prediction alone (preprocessing not included)."""
    ood: ood.Check = ood.UNCHECKED

    @property
    def label(self) -> str:
        return str(self.digit)

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
        self.entry = entry

    def classify(self, image: Image.Image | np.ndarray) -> DigitResult:
        """Check a drawing or photo, apply the MNIST recipe and read it. Raises ``EmptyImageError`` without ink."""
        return self.classify_prepared(*prepare_checked(image, self.entry))

    def classify_prepared(self, prepared: np.ndarray, check: ood.Check = ood.UNCHECKED) -> DigitResult:
        """Read an image already through ``prepare_digit`` ((28, 28) float32 in [0, 1]), with its digit check."""
        probabilities, milliseconds = runtime.timed_predict(self.predictor, to_model_input(prepared))
        digit = int(np.argmax(probabilities[0]))
        return DigitResult(digit, probabilities[0], prepared, milliseconds, check)


def prepare_checked(image: Image.Image | np.ndarray, entry: dict[str, Any]) -> tuple[np.ndarray, ood.Check]:
    """The MNIST recipe's image and the digit check of the image it was made from (``EmptyImageError`` first)."""
    return prepare_digit(image), digit_check(image, entry)


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
