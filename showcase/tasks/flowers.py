"""The flowers model: photo preprocessing, shared by training, evaluation and the app, then serving.

Every photo -- a training image read from the tf_flowers archive or a visitor's upload -- goes through
``showcase.imaging.read_image`` (EXIF orientation applied, any Pillow mode turned into L, RGB or RGBA),
then ``to_rgb`` (grayscale expanded, transparency flattened onto white) and ``center_crop`` (the largest
centred square, resized to 224×224 in one bicubic step). Pixels are float32 in [0, 1], the TF Hub image
convention; the backbone itself maps them to MobileNet's [-1, 1].

Training views (``random_view``) use the same crop-and-resize function with a random square-ish box,
a random horizontal flip and mild colour jitter, so that evaluation and serving see exactly the
geometry the model was trained on. No TensorFlow here: the app imports this module.

Serving: ``FlowerClassifier`` names the flower in a photo and returns a ``FlowerResult`` (a ``Verdict``: the
label, its calibrated confidence and whether it clears the "not sure" threshold; with the view the model saw,
the latency, and the out-of-distribution check of ``showcase.ood``: the Mahalanobis score of the model's pooled
features against ``models/flowers/ood.npz``, checked by sha256, and the manifest's threshold). A result is in
one of three states: answered, not sure which flower, or not one of the five flowers at all. The page's confusion
matrix chart and tables are drawn from the manifest's figures.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image, ImageEnhance

from showcase import calibration, datasets, evaluation, ood, paths, runtime
from showcase import manifest as manifest_lib
from showcase.imaging import LARGE_DECODE_PIXELS, read_image, release_freed_memory

PREPROCESSING_ID = "flowers/center-crop-224-v1"
IMAGE_SIZE = 224
LABELS = datasets.FLOWER_CLASSES
# Random training crops cover this fraction of the photo's area, with this range of aspect ratios.
CROP_AREA = (0.45, 1.0)
CROP_ASPECT = (3 / 4, 4 / 3)
COLOR_JITTER = 0.2
# The exported model's named outputs: the probabilities every consumer reads first, then what the
# out-of-distribution score reads (showcase.ood).
OUTPUT_NAMES = ("probabilities", "logits", "features")


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


# ## Serving

SAMPLE_DIR = paths.SAMPLES_DIR / "flowers"
DISPLAY_SIZE = (480, 480)


@dataclass
class Verdict:
    """The top class of a photo's (calibrated) probabilities, and whether it clears the "not sure" threshold."""

    label: str
    confidence: float
    sure: bool
    probabilities: np.ndarray


# The three states of a result, in the order they are decided.
OUT_OF_DISTRIBUTION, NOT_SURE, ANSWERED = "out_of_distribution", "not_sure", "answered"
OOD_REASON = "This doesn't look like one of the five flowers."


@dataclass
class FlowerResult(ood.Judged, Verdict):
    """A photo's verdict, with the view the model saw, the prediction's latency and the out-of-distribution check
    (``answer``, ``in_distribution`` and ``reason`` read it, see ``showcase.ood.Judged``)."""

    view: np.ndarray
    """The (224, 224, 3) float32 centre crop in [0, 1] the model read."""
    milliseconds: float
    """Wall-clock latency of the model's prediction alone (preprocessing not included)."""
    ood: ood.Check = ood.UNCHECKED

    @property
    def state(self) -> str:
        """Not one of the five flowers, not sure which one, or answered."""
        if not self.ood.in_distribution:
            return OUT_OF_DISTRIBUTION
        return ANSWERED if self.sure else NOT_SURE

    def picture(self) -> Image.Image:
        """The view the model saw, as an RGB image."""
        return Image.fromarray((self.view * 255).round().astype("uint8"))


def threshold(entry: dict[str, Any]) -> float:
    """The "not sure" threshold chosen on validation data by the training script."""
    return float(entry["extra"]["not_sure"]["threshold"])


def verdict(probabilities: np.ndarray, entry: dict[str, Any]) -> Verdict:
    """The top class, its probability, and whether it clears the manifest's threshold."""
    probabilities = np.asarray(probabilities, dtype=np.float32).reshape(-1)
    if probabilities.shape != (len(entry["labels"]),):
        raise ValueError(f"Expected {len(entry['labels'])} probabilities, got shape {probabilities.shape}.")
    top = int(np.argmax(probabilities))
    confidence = float(probabilities[top])
    return Verdict(entry["labels"][top], confidence, confidence >= threshold(entry), probabilities)


@functools.lru_cache(maxsize=4)
def _gaussian_model(path: str, record: tuple[tuple[str, Any], ...]) -> ood.GaussianModel:
    problem = manifest_lib.verify_artifact(dict(record))
    if problem:
        raise runtime.ArtifactError(f"The flowers out-of-distribution model: {problem}. Rebuild it with "
                                    f"`python training/fit_ood.py flowers`.")
    with np.load(path, allow_pickle=False) as arrays:
        return ood.GaussianModel.from_arrays(arrays)


def ood_model(entry: dict[str, Any]) -> ood.GaussianModel | None:
    """The class means and shared covariance of the manifest's "ood" record (its sha256 checked once per
    process); None when the entry has no such record. Read-only, so shared by every thread."""
    record = entry.get("ood")
    if not record:
        return None
    path = paths.MODELS_DIR / record["artifact"]["path"]
    return _gaussian_model(str(path), tuple(sorted(record["artifact"].items())))


def ood_check(features: np.ndarray | None, entry: dict[str, Any], format_name: str | None) -> ood.Check:
    """Whether one photo's pooled features (1280,) look like a flower photo's, judged on the manifest's
    threshold for that format; unchecked without features (a remote model) or without an "ood" record."""
    model = ood_model(entry)
    if model is None or features is None:
        return ood.UNCHECKED
    score = float(model.score(np.asarray(features).reshape(1, -1))[0])
    return ood.judge(score, ood.record_threshold(entry, format_name), entry["ood"]["signal"], OOD_REASON)


def classify(predictor, view: np.ndarray) -> np.ndarray:
    """Five class probabilities for one (224, 224, 3) view."""
    return predictor.predict(to_model_input(view))[0]


class FlowerClassifier:
    """Names the flower in a photo: its centre crop, the model's calibrated probabilities, then the verdict.

    ``predictor``, one format of the flowers model, is shared by every session (runtime predictors are
    thread-safe); ``calibration.calibrated`` scales its probabilities once, calibrated already or not.
    """

    def __init__(self, predictor: runtime.Predictor, entry: dict[str, Any]):
        self.predictor = calibration.calibrated(predictor, entry)
        self.entry = entry

    def classify(self, photo: bytes) -> FlowerResult:
        """Decode a photo's bytes and name its flower. Raises ``ImageInputError`` for anything unusable."""
        return self.classify_prepared(prepare_photo(photo)[1])

    def classify_prepared(self, view: np.ndarray) -> FlowerResult:
        """Name the flower in a view already made by ``prepare_photo``: (224, 224, 3) float32 in [0, 1]."""
        outputs, milliseconds = runtime.timed_outputs(self.predictor, to_model_input(view))
        result = verdict(runtime.main_output(outputs), self.entry)
        features = outputs.get("features")
        check = ood_check(None if features is None else features[0], self.entry, self.predictor.format_name)
        return FlowerResult(result.label, result.confidence, result.sure, result.probabilities, view, milliseconds,
                            check)


def display_copy(image: Image.Image) -> Image.Image:
    """A small RGB copy to show on the page (a 40 MP upload is not sent back to the browser)."""
    shown = to_rgb(image).copy()
    shown.thumbnail(DISPLAY_SIZE)
    return shown


def sample_photos(directory: Path = SAMPLE_DIR) -> list[Path]:
    """The committed sample photos, named ``<class>_<flickr file name>.jpg``."""
    return sorted(directory.glob("*.jpg"))


def sample_label(path: Path) -> str:
    return path.name.split("_", 1)[0]


def sample_photo_bytes(name: str | None, directory: Path = SAMPLE_DIR) -> bytes | None:
    """The bytes of the committed sample photo of that file name; None for no name, or one no longer there."""
    if name is None or not (directory / name).exists():
        return None
    return (directory / name).read_bytes()


def confusion_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """The validation confusion matrix in long form (true class, predicted class, count)."""
    labels = entry["labels"]
    matrix = np.asarray(entry["extra"]["confusion_matrix"])
    return pd.DataFrame(
        [{"true class": labels[i], "predicted class": labels[j], "photos": int(matrix[i, j])}
         for i in range(len(labels)) for j in range(len(labels))]
    )


def confusion_chart(entry: dict[str, Any]) -> alt.LayerChart:
    """The validation confusion matrix as a heat map, each cell labelled with its count of photos."""
    base = alt.Chart(confusion_frame(entry)).encode(
        x=alt.X("predicted class:N", sort=entry["labels"]), y=alt.Y("true class:N", sort=entry["labels"])
    )
    heatmap = base.mark_rect().encode(color=alt.Color("photos:Q", scale=alt.Scale(scheme="blues"), legend=None),
                                      tooltip=["true class", "predicted class", "photos"])
    labels = base.mark_text().encode(text="photos:Q", color=alt.condition("datum.photos > 60", alt.value("white"),
                                                                          alt.value("black")))
    return (heatmap + labels).properties(height=260, title="Confusion matrix (validation)")


def per_class_frame(entry: dict[str, Any]) -> pd.DataFrame:
    rows = [{"class": label, **figures} for label, figures in entry["extra"]["per_class"].items()]
    return pd.DataFrame(rows)


def batch1_p50_ms(predictor, image: np.ndarray, runs: int = 200, warmup: int = 20) -> float:
    """Median wall-clock latency of one single-image prediction (the runtime uses 2 threads)."""
    batch = to_model_input(image)
    for _ in range(warmup):
        predictor.predict(batch)
    latencies = [runtime.timed_predict(predictor, batch)[1] for _ in range(runs)]
    return round(float(np.median(latencies)), 3)


# ## Figures the training script writes into the manifest


def class_report(probabilities: np.ndarray, labels: np.ndarray, names) -> tuple[np.ndarray, dict]:
    """The confusion matrix (rows: true class) and per-class precision, recall and support."""
    predictions = np.asarray(probabilities).argmax(1)
    confusion = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(confusion, (labels, predictions), 1)
    per_class = {
        name: {
            "precision": round(float(confusion[i, i] / max(confusion[:, i].sum(), 1)), 4),
            "recall": round(float(confusion[i, i] / max(confusion[i].sum(), 1)), 4),
            "support": int(confusion[i].sum()),
        }
        for i, name in enumerate(names)
    }
    return confusion, per_class


def choose_threshold(probabilities: np.ndarray, labels: np.ndarray, target_accuracy: float) -> dict[str, Any]:
    """The lowest top probability (0.30 to 0.98, step 0.01) at which the predictions kept are at least
    ``target_accuracy`` correct on validation data; with the share kept and the accuracy either side."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == labels
    candidates = np.round(np.arange(0.30, 0.99, 0.01), 2)
    chosen = next((t for t in candidates if (confidence >= t).any() and correct[confidence >= t].mean()
                   >= target_accuracy), candidates[-1])
    kept = confidence >= chosen
    return {
        "threshold": float(chosen),
        "rule": f"lowest top probability (step 0.01) at which kept validation predictions are "
                f"≥{target_accuracy:.0%} correct",
        "coverage": round(float(kept.mean()), 4),
        "accuracy_above": round(float(correct[kept].mean()), 4) if kept.any() else None,
        "accuracy_below": round(float(correct[~kept].mean()), 4) if (~kept).any() else None,
    }


# ## Evaluation subset and calibration inputs


def calibration_inputs(entry: dict[str, Any]) -> np.ndarray:
    """Representative inputs for int8 calibration: the committed sample photos."""
    files = sorted(SAMPLE_DIR.glob("*.jpg"))
    return to_model_input([prepare_photo(file.read_bytes())[1] for file in files])


def evaluation_arrays(entry: dict[str, Any]) -> dict[str, np.ndarray]:
    names = json.loads((paths.MODELS_DIR / "flowers" / "split.json").read_text())["validation"][::5]
    photos = datasets.flower_photos(evaluation.require_dataset(datasets.FLOWER_PHOTOS))
    views = [prepare_photo(photos[name])[1] for name in names]
    return {"inputs": to_model_input(views), "targets": np.array([LABELS.index(n.split("/")[0]) for n in names])}


EVALUATION = evaluation.Subset("accuracy", True, "147 validation photos (every 5th of the fixed split)",
                               evaluation_arrays, evaluation.accuracy)
