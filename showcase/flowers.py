"""The Flowers page's logic: classify a photo, decide when to say "not sure", read the manifest's figures.

Kept out of the page so that tests and the benchmark use the same code. No TensorFlow imports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from showcase import paths
from showcase.preprocessing import flowers as flower_preprocessing

SAMPLE_DIR = paths.SAMPLES_DIR / "flowers"
DISPLAY_SIZE = (480, 480)


@dataclass
class Verdict:
    label: str
    confidence: float
    sure: bool
    probabilities: np.ndarray


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


def classify(predictor, view: np.ndarray) -> np.ndarray:
    """Five class probabilities for one (224, 224, 3) view."""
    return predictor.predict(flower_preprocessing.to_model_input(view))[0]


def display_copy(image: Image.Image) -> Image.Image:
    """A small RGB copy to show on the page (a 40 MP upload is not sent back to the browser)."""
    shown = flower_preprocessing.to_rgb(image).copy()
    shown.thumbnail(DISPLAY_SIZE)
    return shown


def sample_photos(directory: Path = SAMPLE_DIR) -> list[Path]:
    """The committed sample photos, named ``<class>_<flickr file name>.jpg``."""
    return sorted(directory.glob("*.jpg"))


def sample_label(path: Path) -> str:
    return path.name.split("_", 1)[0]


def confusion_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """The validation confusion matrix in long form (true class, predicted class, count)."""
    labels = entry["labels"]
    matrix = np.asarray(entry["extra"]["confusion_matrix"])
    return pd.DataFrame(
        [{"true class": labels[i], "predicted class": labels[j], "photos": int(matrix[i, j])}
         for i in range(len(labels)) for j in range(len(labels))]
    )


def per_class_frame(entry: dict[str, Any]) -> pd.DataFrame:
    rows = [{"class": label, **figures} for label, figures in entry["extra"]["per_class"].items()]
    return pd.DataFrame(rows)


def batch1_p50_ms(predictor, image: np.ndarray, runs: int = 200, warmup: int = 20) -> float:
    """Median wall-clock latency of one single-image prediction (the runtime uses 2 threads)."""
    batch = flower_preprocessing.to_model_input(image)
    for _ in range(warmup):
        predictor.predict(batch)
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        predictor.predict(batch)
        latencies.append((time.perf_counter() - start) * 1000)
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
