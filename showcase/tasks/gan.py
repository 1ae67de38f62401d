"""Conditional digit generation: latent vectors, conditioning, interpolation, image grids and the Fréchet distance.

The GAN's generator takes ONE input tensor, the concatenation ``[z, one_hot(digit)]`` of a latent vector
``z`` (``LATENT_DIM`` standard normal numbers) and the one-hot code of the requested digit, so that the same
runtime predictor serves it as SavedModel, TFLite and ONNX. Everything here is NumPy: the app and the
tests use it without TensorFlow.

Reproducibility: a seed fully determines a grid. ``latent_vectors(seed, n)`` draws row after row from one
NumPy generator, so the first ``k`` vectors of a seed are the same whatever ``n`` is (a 4×4 grid starts
with the 2×2 grid of the same seed), and digits drawn for "any digit" come from a separate stream, so
changing the digit never changes the latent vectors.

Serving is one class, ``DigitGenerator``: ``generate(settings)`` draws a grid (``GeneratedDigits``: the images,
the PNG of the grid and what the Digits model reads in each sample) and ``walk`` the latent path between two
seeds (``LatentWalk``).
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from PIL import Image

from showcase import csvfiles, evaluation, runtime
from showcase.formats import TFLITE

LATENT_DIM = 64
NUM_CLASSES = 10
IMAGE_SIZE = 28
# Seeds are shown and typed on the page; keep them to a range a person can share.
MAX_SEED = 2**31 - 1
# The Digits model reads every generated sample; LiteRT keeps the page free of TensorFlow.
READER_FORMAT = TFLITE


# ## Settings from a shared address


GRID_SIZES = (1, 2, 3, 4, 5, 6)
DEFAULT_SETTINGS = {"digit": "any", "seed": 42, "size": 4}
# Explicit ASCII patterns: str.isdigit() accepts "²" and other digits that int() refuses, and int() of a
# 5,000-digit string raises. A seed has at most 10 digits; MAX_SEED is checked after.
_QUERY_PATTERNS = {"digit": re.compile(r"any|[0-9]"), "seed": re.compile(r"[0-9]{1,10}"), "size": re.compile(r"[0-9]")}
_QUERY_RULES = {"digit": "any or 0-9", "seed": f"a whole number from 0 to {MAX_SEED}",
                "size": f"{GRID_SIZES[0]}-{GRID_SIZES[-1]}"}


def _query_value(name: str, value: str) -> int | str | None:
    """One address parameter parsed, or None when it breaks its pattern or range."""
    if not isinstance(value, str) or not _QUERY_PATTERNS[name].fullmatch(value):
        return None
    if value == "any":
        return value
    number = int(value)
    valid = {"digit": range(NUM_CLASSES), "seed": range(MAX_SEED + 1), "size": GRID_SIZES}[name]
    return number if number in valid else None


def settings_from_query(query: Mapping[str, str]) -> tuple[dict[str, int | str], list[str]]:
    """Digit, seed and grid size from an address's parameters (?digit=7&seed=42&size=4), else the defaults.

    Returns the settings and one line per ignored parameter (what it was, what was expected). Never raises.
    """
    settings, problems = dict(DEFAULT_SETTINGS), []
    for name in DEFAULT_SETTINGS:
        value = query.get(name)
        if value is None:
            continue
        parsed = _query_value(name, value)
        if parsed is None:
            problems.append(f"{name} {csvfiles.shown(value, 24)} (expected {_QUERY_RULES[name]})")
        else:
            settings[name] = parsed
    return settings, problems


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"The seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}.")
    return int(seed)


def _check_count(count: int, name: str = "count") -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"The {name} must be a positive whole number, got {count!r}.")
    return int(count)


def latent_vectors(seed: int, count: int, latent_dim: int = LATENT_DIM) -> np.ndarray:
    """``count`` standard normal latent vectors, shape (count, latent_dim), float32, fully set by ``seed``."""
    rng = np.random.default_rng(_check_seed(seed))
    return rng.standard_normal((_check_count(count), latent_dim)).astype(np.float32)


def random_digits(seed: int, count: int) -> np.ndarray:
    """Digits for "any digit": uniform over 0-9 from a stream of their own, so they do not move the latents."""
    rng = np.random.default_rng([_check_seed(seed), 1])
    return rng.integers(0, NUM_CLASSES, size=_check_count(count))


def one_hot(digits: Sequence[int] | np.ndarray) -> np.ndarray:
    """One-hot codes (n, 10) float32 for digits 0-9; ValueError for anything else."""
    digits = np.asarray(digits)
    if digits.ndim != 1 or not np.issubdtype(digits.dtype, np.integer):
        raise ValueError(f"Expected a 1-D sequence of whole digits, got an array of shape {digits.shape} "
                         f"and type {digits.dtype}.")
    if digits.size and (digits.min() < 0 or digits.max() >= NUM_CLASSES):
        raise ValueError(f"Digits must be from 0 to {NUM_CLASSES - 1}, got {sorted(set(digits.tolist()))}.")
    return np.eye(NUM_CLASSES, dtype=np.float32)[digits]


def generator_input(latents: np.ndarray, digits: Sequence[int] | np.ndarray | int) -> np.ndarray:
    """The generator's single input: ``[z, one_hot(digit)]`` per row, shape (n, LATENT_DIM + 10), float32.

    ``digits`` is one digit for every row, or one digit per row.
    """
    latents = np.asarray(latents, dtype=np.float32)
    if latents.ndim != 2:
        raise ValueError(f"Expected latent vectors of shape (n, {LATENT_DIM}), got {latents.shape}.")
    if np.ndim(digits) == 0:
        digits = np.full(len(latents), int(digits))
    codes = one_hot(digits)
    if len(codes) != len(latents):
        raise ValueError(f"Got {len(latents)} latent vectors but {len(codes)} digits.")
    return np.concatenate([latents, codes], axis=1)


def interpolate(start: np.ndarray, end: np.ndarray, steps: int, spherical: bool = True) -> np.ndarray:
    """``steps`` latent vectors from ``start`` to ``end`` (both included), shape (steps, dim).

    Spherical interpolation (slerp) by default: in high dimensions Gaussian vectors lie near a sphere,
    and the midpoint of a straight line is much shorter than either end, so linear paths pass through
    unlikely, washed-out latents.
    """
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    if start.shape != end.shape or start.ndim != 1:
        raise ValueError(f"Expected two latent vectors of the same length, got {start.shape} and {end.shape}.")
    if _check_count(steps, "number of steps") < 2:
        raise ValueError("An interpolation needs at least 2 steps (its two ends).")
    fractions = np.linspace(0.0, 1.0, steps)[:, None]
    cosine = np.dot(start, end) / max(np.linalg.norm(start) * np.linalg.norm(end), 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if not spherical or angle < 1e-6:
        path = (1 - fractions) * start + fractions * end
    else:
        path = (np.sin((1 - fractions) * angle) * start + np.sin(fractions * angle) * end) / np.sin(angle)
    return path.astype(np.float32)


def to_images(generated: np.ndarray) -> np.ndarray:
    """Generator output (n, 28, 28, 1) or (n, 28, 28) in [0, 1] -> (n, 28, 28) float32 clipped to [0, 1]."""
    generated = np.asarray(generated, dtype=np.float32)
    if generated.ndim == 4 and generated.shape[-1] == 1:
        generated = generated[..., 0]
    if generated.ndim != 3 or generated.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"Expected images of shape (n, 28, 28[, 1]), got {generated.shape}.")
    return np.clip(generated, 0.0, 1.0)


def image_grid(images: np.ndarray, columns: int, scale: int = 1, padding: int = 2) -> np.ndarray:
    """Tile (n, 28, 28) images in [0, 1] into one uint8 picture, ``columns`` per row, white ink on black.

    Each image is enlarged ``scale`` times (nearest neighbour, to keep pixels crisp); ``padding`` grey
    pixels separate the tiles.
    """
    images = to_images(images)
    columns = _check_count(columns, "number of columns")
    scale = _check_count(scale, "scale")
    count = len(images)
    rows = max(1, -(-count // columns))
    tile = IMAGE_SIZE * scale
    grid = np.full((rows * (tile + padding) + padding, columns * (tile + padding) + padding), 64, dtype=np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = padding + row * (tile + padding), padding + column * (tile + padding)
        enlarged = np.kron(image, np.ones((scale, scale), dtype=np.float32))
        grid[top : top + tile, left : left + tile] = np.round(enlarged * 255).astype(np.uint8)
    return grid


def png_bytes(picture: np.ndarray) -> bytes:
    """Encode a uint8 grayscale picture as PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(picture, dtype=np.uint8), mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# ## The serving class


def verdict_caption(requested: int, probabilities: np.ndarray | None) -> str | None:
    """What the Digits model reads in one sample, marked ✓ or ✗ against the digit asked for; None unread."""
    if probabilities is None:
        return None
    read = int(np.argmax(probabilities))
    mark = "✓" if read == requested else "✗"
    return f"{mark} reads {read} · {probabilities[read]:.0%}"


@dataclass(frozen=True)
class GeneratedDigits:
    """A grid of generated digits and what the Digits model reads in each."""

    settings: Mapping[str, Any]  # digit ("any" or 0-9), seed and grid size, as ``settings_from_query`` gives them
    digits: np.ndarray  # (n,) the digit asked for in each sample, n = size × size
    images: np.ndarray  # (n, 28, 28) float32 in [0, 1]
    read_as: np.ndarray | None  # (n, 10) the Digits model's probabilities for each sample; None without it
    milliseconds: float  # the generator's call

    @property
    def count(self) -> int:
        return len(self.images)

    @property
    def file_name(self) -> str:
        size = self.settings["size"]
        return f"gan_digit-{self.settings['digit']}_seed-{self.settings['seed']}_{size}x{size}.png"

    def tiles(self, scale: int = 3) -> list[np.ndarray]:
        """Each sample enlarged ``scale`` times, as uint8 pictures."""
        return [image_grid(image[None], columns=1, scale=scale, padding=0) for image in self.images]

    def captions(self) -> list[str | None]:
        """Each sample's verdict (``verdict_caption``); all None without the Digits model."""
        readings = self.read_as if self.read_as is not None else [None] * self.count
        return [verdict_caption(int(digit), reading) for digit, reading in zip(self.digits, readings)]

    def grid_png(self, scale: int = 4) -> bytes:
        """The whole grid as one PNG, for the download."""
        return png_bytes(image_grid(self.images, self.settings["size"], scale=scale))


@dataclass(frozen=True)
class LatentWalk:
    """The digits drawn along the spherical path between two seeds' latent vectors, one digit held fixed."""

    digit: int
    seeds: tuple[int, int]
    images: np.ndarray  # (steps, 28, 28) float32 in [0, 1]
    read_as: np.ndarray | None  # (steps,) the digit the Digits model reads in each step; None without it

    def picture(self, scale: int = 3) -> np.ndarray:
        """The steps side by side, as one uint8 picture."""
        return image_grid(self.images, columns=len(self.images), scale=scale)

    @property
    def caption(self) -> str:
        caption = f"Seed {self.seeds[0]} → seed {self.seeds[1]}, digit {self.digit}."
        if self.read_as is not None:
            caption += f" The Digits classifier reads: {' '.join(str(read) for read in self.read_as)}."
        return caption


class DigitGenerator:
    """Draws digits with one format of the GAN's generator, and has the Digits model read them.

    ``generator`` is that format (``showcase.runtime``; shared and thread-safe). ``reader``, when given, is the
    Digits model's predictor (in ``READER_FORMAT``) returning calibrated probabilities, as the app's
    ``ui.predictor_or_stop`` hands it out. The object holds no other state, so a page makes one per run.
    """

    def __init__(self, generator: runtime.Predictor, reader: runtime.Predictor | None = None):
        self.generator = generator
        self.format_name = generator.format_name
        self.reader = reader

    def generate(self, settings: Mapping[str, Any]) -> GeneratedDigits:
        """A size × size grid of the digit asked for ("any": the seed picks one per sample) from the seed."""
        digit, seed, size = settings["digit"], settings["seed"], settings["size"]
        count = _check_count(size, "grid size") ** 2
        digits = random_digits(seed, count) if digit == "any" else np.full(count, digit)
        inputs = generator_input(latent_vectors(seed, count), digits)
        start = time.perf_counter()
        generated = self.generator.predict(inputs)
        milliseconds = (time.perf_counter() - start) * 1000
        images = to_images(generated)
        read_as = self.reader.predict(images[..., None]) if self.reader else None
        return GeneratedDigits(dict(settings), digits, images, read_as, milliseconds)

    def walk(self, digit: int, seed_a: int, seed_b: int, steps: int) -> LatentWalk:
        """``steps`` digits along the path from ``seed_a``'s latent vector to ``seed_b``'s, both ends included."""
        path = interpolate(latent_vectors(seed_a, 1)[0], latent_vectors(seed_b, 1)[0], steps)
        strip = to_images(self.generator.predict(generator_input(path, digit)))
        read_as = self.reader.predict(strip[..., None]).argmax(1) if self.reader else None
        return LatentWalk(digit, (seed_a, seed_b), strip, read_as)


# ## Fréchet distance


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of a (n, d) feature matrix, n > 1."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"Expected a (n, d) feature matrix with n > 1, got {features.shape}.")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues clipped)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b) -> float:
    """Fréchet distance between two Gaussians: |μa−μb|² + Tr(Σa + Σb − 2(ΣaΣb)^½).

    Tr((ΣaΣb)^½) is computed as the sum of the square roots of the eigenvalues of Σa^½ Σb Σa^½, which is
    symmetric and has the same eigenvalues as ΣaΣb, so no general (non-symmetric) matrix square root, and
    no SciPy, is needed.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    covariance_a, covariance_b = np.asarray(covariance_a, np.float64), np.asarray(covariance_b, np.float64)
    if mean_a.shape != mean_b.shape or covariance_a.shape != covariance_b.shape:
        raise ValueError("The two sets of statistics must have the same feature dimension.")
    root_a = _psd_sqrt(covariance_a)
    product = root_a @ covariance_b @ root_a
    trace_root = float(np.sqrt(np.clip(np.linalg.eigvalsh((product + product.T) / 2), 0.0, None)).sum())
    distance = float(np.sum((mean_a - mean_b) ** 2) + np.trace(covariance_a) + np.trace(covariance_b) - 2 * trace_root)
    return max(distance, 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between two sets of feature vectors (rows), each modelled as a Gaussian.

    With Inception-v3 features this is the FID; this project uses the Digits classifier's penultimate
    layer (its 128 global-average-pooled channels), the features that matter for telling digits apart.
    """
    return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))


# ## Evaluation subset and calibration inputs


def calibration_inputs(entry: dict[str, Any]) -> np.ndarray:
    """Representative inputs for int8 calibration: 256 generator inputs drawn as the page draws them."""
    digits = np.arange(256) % NUM_CLASSES
    return generator_input(latent_vectors(7, len(digits)), digits)


def evaluation_arrays(entry: dict[str, Any]) -> dict[str, np.ndarray]:
    digits = np.repeat(np.arange(NUM_CLASSES), 50)
    return {"inputs": generator_input(latent_vectors(2026, len(digits)), digits), "targets": digits}


def evaluation_score(outputs: np.ndarray, arrays: dict[str, np.ndarray]) -> float:
    """The share of generated digits that the Digits model (TFLite) reads as the digit asked for."""
    reader = runtime.load("digits", READER_FORMAT)
    return evaluation.accuracy(evaluation.predict_in_batches(reader, outputs.astype(np.float32)), arrays)


EVALUATION = evaluation.Subset("digit_accuracy", True, "500 generated digits (50 per digit, seed 2026) read by the "
                               "Digits model (TFLite)", evaluation_arrays, evaluation_score)
