"""Helpers every training script shares: seeding, timing, data paths and the manifest entry."""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

# Make `import showcase` work when a script is run as `python training/train_x.py` without installing.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from showcase import datasets  # noqa: E402
from showcase import manifest as manifest_lib  # noqa: E402

SERVING_PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "onnxruntime", "onnx", "numpy")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow.

    TensorFlow's op determinism is left off: on two cores it slows training by more than it is worth,
    so runs are seeded but not bit-identical.
    """
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


def data_path(flag_value: str | None, env_var: str) -> Path | None:
    """The data file from the command line flag, else from the environment variable, else None (download)."""
    value = flag_value or os.environ.get(env_var)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise SystemExit(f"Data file {path} does not exist (from --data or ${env_var}).")
    return path


def load_mnist(path: Path | None):
    """MNIST as uint8 arrays, white ink on black: (x_train, y_train), (x_test, y_test).

    ``path`` is an .npz in the keras ``load_data`` layout; None downloads MNIST through ``keras.datasets``.
    """
    if path is None:
        import keras

        return keras.datasets.mnist.load_data()
    return datasets.mnist(path)


class Stopwatch:
    """Measures the wall-clock time of the training run for the manifest."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


def machine_description() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def describe_artifacts(artifacts: dict[str, Path]) -> dict[str, dict]:
    return {name: manifest_lib.describe_artifact(path) for name, path in artifacts.items()}


def versions() -> dict[str, str]:
    return manifest_lib.library_versions(*SERVING_PACKAGES)
