"""Anomaly detection with an autoencoder: scores, corruptions, thresholds and detection metrics.

The autoencoder (``training/train_anomaly.py``) learns to reconstruct handwritten digits. Whatever it
cannot reconstruct well is unlike the digits it was trained on. Everything here is a pure NumPy function
shared by the training script (evaluation), the app (serving) and the tests, so that a score means the
same thing everywhere and for every serving format:

- ``reconstruction_error``: the anomaly score, the mean squared error between an image and its
  reconstruction (one number per image), and ``error_map``, the same error per pixel;
- ``gaussian_noise``, ``occlusion_blocks``, ``invert``: the corruptions that turn test digits into the
  anomaly sets of the evaluation;
- ``choose_threshold``, ``roc_auc``, ``precision_recall``: the threshold and the detection metrics;
- ``read_idx_images``: a parser for the idx files Fashion-MNIST (and MNIST) are distributed in;
- ``AnomalyDetector``: serving, which scores one image and returns an ``AnomalyResult`` (score, threshold,
  verdict, reconstruction, error map, and the Digits page's check of the uploaded image, ``digits.digit_check``,
  whose refusal flags the image too), and ``score_histogram``, the page's chart of where that score lies.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from showcase import datasets, evaluation, ood, paths, runtime
from showcase.tasks import digits as digit_preprocessing

IMAGE_SIZE = 28
# The threshold is this percentile of the validation digits' scores: about 1% of normal digits are flagged.
THRESHOLD_PERCENTILE = 99.0
# The corruptions of the evaluation, with their default strengths (documented in docs/anomaly.md).
NOISE_SIGMA = 0.3
OCCLUSION_BLOCKS = 2
OCCLUSION_SIZE = (6, 10)
OCCLUSION_LEVEL = (0.5, 1.0)
# Histograms on the page use logarithmic bins: scores span three orders of magnitude.
HISTOGRAM_RANGE = (1e-4, 1.0)
HISTOGRAM_BINS = 48


# ## Scores


def _as_images(batch: np.ndarray, name: str) -> np.ndarray:
    """(n, 28, 28) or (n, 28, 28, 1) float array -> (n, 28, 28) float32, with a helpful error otherwise."""
    array = np.asarray(batch, dtype=np.float32)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"Expected {name} of shape (n, 28, 28) or (n, 28, 28, 1), got {np.shape(batch)}.")
    return array


def error_map(images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Squared error per pixel, shape (n, 28, 28)."""
    images = _as_images(images, "images")
    reconstructions = _as_images(reconstructions, "reconstructions")
    if images.shape != reconstructions.shape:
        raise ValueError(f"{images.shape[0]} images but {reconstructions.shape[0]} reconstructions.")
    return np.square(images - reconstructions)


def reconstruction_error(images: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """The anomaly score: mean squared reconstruction error of each image, shape (n,), float64.

    Summed in float64 so that the score does not depend on the order of a float32 sum.
    """
    return error_map(images, reconstructions).astype(np.float64).mean(axis=(1, 2))


def is_anomaly(scores: np.ndarray | float, threshold: float) -> np.ndarray | bool:
    """An image is an anomaly when its score is above the threshold."""
    return np.asarray(scores) > threshold


# ## Corruptions (each returns a new float32 batch in [0, 1]; ``rng`` is a numpy Generator)


def gaussian_noise(images: np.ndarray, rng: np.random.Generator, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """Add independent Gaussian noise of standard deviation ``sigma`` to every pixel, then clip to [0, 1]."""
    if sigma < 0:
        raise ValueError(f"The noise level sigma must be non-negative, got {sigma}.")
    images = _as_images(images, "images")
    return np.clip(images + rng.normal(0.0, sigma, images.shape), 0.0, 1.0).astype(np.float32)


def occlusion_blocks(
    images: np.ndarray,
    rng: np.random.Generator,
    blocks: int = OCCLUSION_BLOCKS,
    size: tuple[int, int] = OCCLUSION_SIZE,
    level: tuple[float, float] = OCCLUSION_LEVEL,
) -> np.ndarray:
    """Paste ``blocks`` solid squares on each image, like stickers over the paper.

    Each square has a side drawn uniformly from ``size`` (inclusive), a random position fully inside the
    image, and a grey level drawn uniformly from ``level``. ``level=(0, 0)`` gives black blocks, which
    only erase ink.
    """
    low, high = size
    if not 1 <= low <= high <= IMAGE_SIZE:
        raise ValueError(f"Block sizes must satisfy 1 <= low <= high <= {IMAGE_SIZE}, got {size}.")
    corrupted = _as_images(images, "images").copy()
    for image in corrupted:
        for _ in range(blocks):
            side = int(rng.integers(low, high + 1))
            top, left = rng.integers(0, IMAGE_SIZE - side + 1, size=2)
            image[top : top + side, left : left + side] = rng.uniform(*level)
    return corrupted


def invert(images: np.ndarray) -> np.ndarray:
    """Swap ink and background: black ink on white paper."""
    return (1.0 - _as_images(images, "images")).astype(np.float32)


def uniform_noise(rng: np.random.Generator, count: int = 1) -> np.ndarray:
    """Images of pure noise: every pixel uniform in [0, 1]."""
    return rng.uniform(0.0, 1.0, (count, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)


# ## Threshold and metrics


def choose_threshold(validation_scores: np.ndarray, percentile: float = THRESHOLD_PERCENTILE) -> float:
    """The score above which an image is flagged: a percentile of the normal validation scores."""
    scores = np.asarray(validation_scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("Cannot choose a threshold without validation scores.")
    if not 0 < percentile < 100:
        raise ValueError(f"The percentile must lie strictly between 0 and 100, got {percentile}.")
    return float(np.percentile(scores, percentile))


def roc_auc(normal_scores: np.ndarray, anomaly_scores: np.ndarray) -> float:
    """Area under the ROC curve with the anomalies as positives: the probability that a random anomaly
    scores higher than a random normal image (ties count one half). Computed from ranks (Mann-Whitney U).
    """
    normal = np.asarray(normal_scores, dtype=np.float64).ravel()
    anomaly = np.asarray(anomaly_scores, dtype=np.float64).ravel()
    if normal.size == 0 or anomaly.size == 0:
        raise ValueError("ROC-AUC needs at least one normal and one anomalous score.")
    combined = np.concatenate([normal, anomaly])
    order = np.argsort(combined, kind="mergesort")
    sorted_scores = combined[order]
    ranks = np.empty(combined.size, dtype=np.float64)
    # Average ranks over ties (1-based), so equal scores count one half each way.
    unique, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average_rank = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average_rank, counts)
    anomaly_rank_sum = ranks[normal.size :].sum()
    u_statistic = anomaly_rank_sum - anomaly.size * (anomaly.size + 1) / 2.0
    return float(u_statistic / (normal.size * anomaly.size))


def precision_recall(normal_scores: np.ndarray, anomaly_scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and false-positive rate of the rule "score > threshold", anomalies as positives."""
    normal_flagged = int(np.sum(is_anomaly(normal_scores, threshold)))
    anomaly_flagged = int(np.sum(is_anomaly(anomaly_scores, threshold)))
    anomaly_count = int(np.size(anomaly_scores))
    flagged = normal_flagged + anomaly_flagged
    return {
        "precision": anomaly_flagged / flagged if flagged else 0.0,
        "recall": anomaly_flagged / anomaly_count if anomaly_count else 0.0,
        "false_positive_rate": normal_flagged / int(np.size(normal_scores)) if np.size(normal_scores) else 0.0,
    }


def detection_report(normal_scores: np.ndarray, anomaly_scores: np.ndarray, threshold: float) -> dict[str, float]:
    """ROC-AUC plus precision/recall at the threshold, rounded for the manifest."""
    report = {"roc_auc": roc_auc(normal_scores, anomaly_scores)}
    report.update(precision_recall(normal_scores, anomaly_scores, threshold))
    return {name: round(float(value), 5) for name, value in report.items()}


def log_histogram(
    scores: np.ndarray, score_range: tuple[float, float] = HISTOGRAM_RANGE, bins: int = HISTOGRAM_BINS
) -> dict[str, Any]:
    """Counts of scores in logarithmic bins; scores outside the range land in the first or last bin."""
    edges = np.geomspace(score_range[0], score_range[1], bins + 1)
    clipped = np.clip(np.asarray(scores, dtype=np.float64), edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return {"edges": [float(f"{edge:.6g}") for edge in edges], "counts": counts.astype(int).tolist()}


# ## Page input


def prepare_input(image) -> tuple[np.ndarray, bool]:
    """Turn a page input (PIL image or array) into the model's (28, 28) float32 image in [0, 1].

    An image already in MNIST's layout (28×28, one grey channel) is used exactly as it is, as in the
    evaluation: a Fashion-MNIST image or an inverted digit must stay what it is. Anything else (a canvas
    drawing, a photo) goes through the Digits page's MNIST recipe (``prepare_digit``), which crops to the
    ink, rescales it to 20 px and centres it. Returns the image and whether the recipe was applied.
    Raises ``digits.EmptyImageError`` when there is nothing to see.
    """
    pixels = np.asarray(image)
    if pixels.shape == (IMAGE_SIZE, IMAGE_SIZE):
        values = pixels.astype(np.float32) / (255.0 if pixels.dtype == np.uint8 else 1.0)
        if float(values.max() - values.min()) < digit_preprocessing.MIN_CONTRAST:
            raise digit_preprocessing.EmptyImageError("The image is blank: every pixel has the same grey level.")
        return np.clip(values, 0.0, 1.0), False
    return digit_preprocessing.prepare_digit(pixels), True


# ## Pictures for the page


# Anchor colours of a perceptually ordered black-red-yellow-white ramp (like matplotlib's "inferno").
_HEAT_COLOURS = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39],
     [252, 255, 164]],
    dtype=np.float64,
)


def heat_map_rgb(errors: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """Colour a (28, 28) error map: 0 is black, ``vmax`` (default: its maximum) is pale yellow. uint8 RGB."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 2:
        raise ValueError(f"Expected one 2-D error map, got shape {errors.shape}.")
    top = float(vmax) if vmax else float(errors.max())
    scaled = np.clip(errors / top, 0.0, 1.0) if top > 0 else np.zeros_like(errors)
    positions = scaled * (len(_HEAT_COLOURS) - 1)
    lower = np.floor(positions).astype(int).clip(0, len(_HEAT_COLOURS) - 2)
    fraction = (positions - lower)[..., None]
    colours = _HEAT_COLOURS[lower] * (1 - fraction) + _HEAT_COLOURS[lower + 1] * fraction
    return colours.round().astype(np.uint8)


# ## Serving

# The page's input choices: the corruptions of the evaluation, applied with a fixed seed so that the picture does
# not flicker on reruns.
CORRUPTIONS = ("None", "Gaussian noise", "Occlusion blocks", "Inverted colours")
# The heat map's colour scale tops out at the largest error, but never below this, so that a well
# reconstructed digit looks dark rather than having its small errors stretched to full brightness.
HEAT_MAP_FLOOR = 0.25
PICTURE_SIZE = 140
SAMPLE_DIR = paths.SAMPLES_DIR / "anomaly"


def sample_choices() -> dict[str, Path]:
    """Built-in samples: an MNIST test digit (from the Digits samples, when present), a fashion item, noise."""
    choices = {}
    digit_samples = digit_preprocessing.sample_paths()
    if digit_samples:
        path = digit_samples[min(3, len(digit_samples) - 1)]
        choices[f"A handwritten digit (MNIST test #{digit_preprocessing.mnist_test_number(path)})"] = path
    choices["A fashion item (Fashion-MNIST test #0)"] = SAMPLE_DIR / "fashion_mnist_test_0.png"
    choices["Pure noise"] = SAMPLE_DIR / "uniform_noise.png"
    return choices


def corrupt(prepared: np.ndarray, corruption: str) -> np.ndarray:
    """Apply one of ``CORRUPTIONS`` to a (28, 28) image (fixed seed, so the same input gets the same picture)."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"Unknown corruption {corruption!r}; expected one of {', '.join(CORRUPTIONS)}.")
    rng = np.random.default_rng(0)
    if corruption == "Gaussian noise":
        return gaussian_noise(prepared, rng)[0]
    if corruption == "Occlusion blocks":
        return occlusion_blocks(prepared, rng)[0]
    if corruption == "Inverted colours":
        return invert(prepared)[0]
    return prepared


def format_threshold(entry: dict[str, Any], format_name: str) -> float:
    """The threshold of one serving format (each format's scores differ slightly); the model's own otherwise."""
    extra = entry["extra"]
    return float(extra["per_format_threshold"].get(format_name, extra["threshold"]))


def picture(pixels: np.ndarray, size: int = PICTURE_SIZE) -> Image.Image:
    """A 28×28 array (grey in [0, 1], or RGB uint8) enlarged with visible pixels."""
    array = pixels if pixels.dtype == np.uint8 else (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(array).resize((size, size), Image.Resampling.NEAREST)


@dataclass(frozen=True)
class AnomalyResult(ood.Judged):
    """How well the autoencoder rebuilt one image, whether the uploaded image looked like one handwritten digit
    (``ood``, read by ``in_distribution`` and ``reason``, see ``showcase.ood.Judged``), and whether either makes it
    an anomaly."""

    score: float
    """The mean squared reconstruction error."""
    threshold: float
    """The serving format's threshold: above it, the image is an anomaly."""
    anomaly: bool
    """Scored above the threshold, or refused by the digit check."""
    image: np.ndarray
    """The (28, 28) float32 image the model saw: prepared, then corrupted if asked."""
    reconstruction: np.ndarray
    """The autoencoder's (28, 28) rebuild of ``image``."""
    errors: np.ndarray
    """The squared error of each pixel, (28, 28)."""
    used_recipe: bool
    """Whether the input went through the MNIST recipe (else it was a 28×28 greyscale image, used as it is)."""
    milliseconds: float
    """Wall-clock latency of the model's prediction alone (preprocessing not included)."""
    ood: ood.Check = ood.UNCHECKED

    @property
    def label(self) -> str:
        return "anomaly" if self.anomaly else "digit"

    @property
    def confidence(self) -> None:
        """None: the autoencoder gives a score against a threshold, not a probability."""
        return None

    @property
    def heat_map_top(self) -> float:
        """The error shown brightest on the heat map: the largest, but at least ``HEAT_MAP_FLOOR``."""
        return max(float(self.errors.max()), HEAT_MAP_FLOOR)

    def heat_map(self) -> np.ndarray:
        """The error map coloured (uint8 RGB), black for 0 up to pale yellow for ``heat_map_top``."""
        return heat_map_rgb(self.errors, self.heat_map_top)


class AnomalyDetector:
    """Scores an image by how badly the autoencoder, which knows only handwritten digits, rebuilds it.

    ``predictor`` is one format of the anomaly model (``showcase.runtime``), shared and thread-safe; its format
    picks the threshold. This object holds no other state, so it is cheap to make one per page run.
    """

    def __init__(self, predictor: runtime.Predictor, entry: dict[str, Any]):
        self.predictor = predictor
        self.entry = entry
        self.threshold = format_threshold(entry, predictor.format_name)

    def score(self, image, corruption: str = "None") -> AnomalyResult:
        """Prepare and check a page input (``prepare_checked``), corrupt it if asked, and score it.

        Raises ``digits.EmptyImageError`` when there is nothing to see.
        """
        prepared, used_recipe, check = prepare_checked(image, self.entry)
        return self.score_prepared(prepared, used_recipe, corruption, check)

    def score_prepared(self, prepared: np.ndarray, used_recipe: bool, corruption: str = "None",
                       check: ood.Check = ood.UNCHECKED) -> AnomalyResult:
        """Score an image already through ``prepare_input`` (which says whether it ``used_recipe``), with the
        digit check of the uploaded image."""
        model_input = digit_preprocessing.to_model_input(corrupt(prepared, corruption))
        reconstruction, milliseconds = runtime.timed_predict(self.predictor, model_input)
        score = float(reconstruction_error(model_input, reconstruction)[0])
        flagged = bool(is_anomaly(score, self.threshold)) or not check.in_distribution
        return AnomalyResult(score, self.threshold, flagged, model_input[0, ..., 0], reconstruction[0, ..., 0],
                             error_map(model_input, reconstruction)[0], used_recipe, milliseconds, check)


def prepare_checked(image, entry: dict[str, Any]) -> tuple[np.ndarray, bool, ood.Check]:
    """``prepare_input``'s image and whether it used the recipe, and the digit check of the page input."""
    return *prepare_input(image), digit_preprocessing.digit_check(image, entry)


def score_histogram(histograms: dict, threshold: float, score: float) -> alt.LayerChart:
    """Validation digits' (and Fashion-MNIST's) scores on log-spaced bins, the threshold and this score."""
    names = {"validation_digits": "validation digits", "fashion_mnist": "Fashion-MNIST test images"}
    rows = []
    for key, label in names.items():
        edges, counts = histograms[key]["edges"], histograms[key]["counts"]
        rows += [{"from": edges[i], "to": edges[i + 1], "images": count, "set": label}
                 for i, count in enumerate(counts)]
    low, high = histograms["validation_digits"]["edges"][0], histograms["validation_digits"]["edges"][-1]
    x_scale = alt.Scale(type="log", domain=[low, high])
    bars = alt.Chart(pd.DataFrame(rows)).mark_rect(opacity=0.65).encode(
        x=alt.X("from:Q", scale=x_scale, title="anomaly score (mean squared reconstruction error, log scale)"),
        x2="to:Q",
        y=alt.Y("images:Q", title="images per bin"),
        y2=alt.datum(0),
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=list(names.values()), range=["#4c78a8", "#bab0ac"]),
                        legend=alt.Legend(orient="top", labelLimit=300)),
        tooltip=["set", alt.Tooltip("from:Q", format=".4f"), alt.Tooltip("to:Q", format=".4f"), "images"],
    )
    labels = [f"threshold {threshold:.4f}", f"this image {score:.4f}"]
    marks = pd.DataFrame({"score": [threshold, float(np.clip(score, low, high))], "what": labels})
    rules = alt.Chart(marks).mark_rule(strokeWidth=3).encode(
        x=alt.X("score:Q", scale=x_scale),
        color=alt.Color("what:N", title=None, scale=alt.Scale(domain=labels, range=["#222222", "#ff4b4b"]),
                        legend=alt.Legend(orient="top", labelLimit=300)),
        strokeDash=alt.StrokeDash("what:N", scale=alt.Scale(domain=labels, range=[[6, 4], [1, 0]]), legend=None),
        tooltip=["what"],
    )
    return alt.layer(bars, rules).resolve_scale(color="independent").properties(height=240)


# ## Data files


def read_idx_images(data: bytes) -> np.ndarray:
    """Parse an idx3 image file (optionally gzip-compressed), as MNIST and Fashion-MNIST ship: uint8 (n, rows, cols)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 16 or data[:4] != b"\x00\x00\x08\x03":
        raise ValueError("Not an idx3 image file of unsigned bytes (its magic number should be 0x00000803).")
    count, rows, cols = (int.from_bytes(data[offset : offset + 4], "big") for offset in (4, 8, 12))
    expected = 16 + count * rows * cols
    if len(data) != expected:
        raise ValueError(f"The idx file holds {len(data)} bytes; its header announces {expected}.")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)


# ## Training data


def anomaly_sets(x_test: np.ndarray, fashion: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The anomalies of the evaluation as float batches in [0, 1]: one set per kind, each 10,000 images.

    ``seed`` is the training run's (``entry["training"]["seed"]``): the corruptions are drawn from it.
    """
    digits = digit_preprocessing.to_model_input(x_test)[..., 0]
    rng = np.random.default_rng(seed)
    return {
        "fashion_mnist": digit_preprocessing.to_model_input(fashion)[..., 0],
        "gaussian_noise": gaussian_noise(digits, rng),
        "occlusion_blocks": occlusion_blocks(digits, rng),
        "inverted": invert(digits),
    }


# ## Evaluation subset and calibration inputs


def calibration_inputs(entry: dict[str, Any]) -> np.ndarray:
    """Representative inputs for int8 calibration: the committed sample digits, as for the digits model."""
    return digit_preprocessing.calibration_inputs(entry)


def evaluation_arrays(entry: dict[str, Any]) -> dict[str, np.ndarray]:
    if not (datasets.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        raise evaluation.DataUnavailable(
            f"Fashion-MNIST is not in {datasets.FASHION_MNIST_DIR} (Debian dataset-fashion-mnist).")
    _, (x_test, _) = datasets.mnist(evaluation.require_dataset(datasets.MNIST))
    fashion = datasets.fashion_mnist_test(datasets.FASHION_MNIST_DIR)
    images = np.concatenate([x_test[::20], fashion[::20]])
    return {"inputs": digit_preprocessing.to_model_input(images),
            "targets": np.repeat([0, 1], [len(x_test[::20]), len(fashion[::20])])}


def evaluation_score(outputs: np.ndarray, arrays: dict[str, np.ndarray]) -> float:
    """ROC-AUC of the reconstruction error, digits (target 0) against Fashion-MNIST (target 1)."""
    scores = reconstruction_error(arrays["inputs"], outputs)
    return roc_auc(scores[arrays["targets"] == 0], scores[arrays["targets"] == 1])


EVALUATION = evaluation.Subset("roc_auc", True, "500 MNIST vs 500 Fashion-MNIST test images (every 20th)",
                               evaluation_arrays, evaluation_score)
