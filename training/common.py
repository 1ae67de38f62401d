"""What every training script shares: seeding, data paths, timing, the manifest entry and the format evaluation.

    entry = manifest_entry("digits", title=..., training=training_record(...), metrics={...})
    per_format, outputs = evaluate_formats("digits", FORMATS, predict, figures)

``manifest_entry`` writes the fields every model has in one layout (``showcase/manifest_schema.json``);
``evaluate_formats`` loads each exported format through ``showcase.runtime`` and measures it against the
reference format's outputs.
"""

from __future__ import annotations

import os
import platform
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from showcase import datasets, runtime
from showcase import manifest as manifest_lib
from showcase.formats import ONNX, SAVEDMODEL, TFLITE, TFLITE_INT8

SERVING_PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "onnxruntime", "onnx", "numpy")
# The committed formats, in the order the per-format figures of the image models list them.
FORMATS = (SAVEDMODEL, TFLITE, TFLITE_INT8, ONNX)
MNIST_SOURCE = "LeCun, Cortes & Burges, THE MNIST DATABASE of handwritten digits"
MNIST_LICENSE = "CC BY-SA 3.0"


# ## Seeds, data files and timing


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow.

    TensorFlow's op determinism is left off: on two cores it slows training by more than it is worth,
    so runs are seeded but not bit-identical.
    """
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


def load_mnist(flag_value: str | None):
    """MNIST as uint8 arrays, white ink on black: (x_train, y_train), (x_test, y_test).

    From the --data flag's .npz (the keras ``load_data`` layout), else ``$MNIST_NPZ``'s, else downloaded
    through ``keras.datasets``.
    """
    path = data_path(flag_value, "MNIST_NPZ")
    if path is None:
        return keras.datasets.mnist.load_data()
    return datasets.mnist(path)


class Stopwatch:
    """Measures the wall-clock time of the training run for the manifest."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


def start_run(seed: int) -> Stopwatch:
    """Seed everything (``set_seed``) and start the clock of the training run."""
    stopwatch = Stopwatch()
    set_seed(seed)
    return stopwatch


# ## The manifest entry


def machine_description() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def training_record(seconds: float, epochs: int, seed: int, batch_size: int, command: str, *,
                    progress: Mapping[str, Any] | None = None,
                    details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The entry's "training" record. ``progress`` (an epoch log, a step count) follows the epochs;
    ``details`` (anything else the model records about its run) follow the machine."""
    return {"seconds": seconds, "epochs": epochs, **(progress or {}), "seed": seed, "batch_size": batch_size,
            "command": command, "machine": machine_description(), **(details or {})}


def manifest_entry(
    name: str, *, title: str, task: str, summary: str, labels: Sequence[str] | None = None,
    input_shape: Sequence[int], input_dtype: str, input_range: Sequence[float], preprocessing: str,
    data: str, data_source: str, data_license: str, architecture: str,
    artifacts: Mapping[str, Path], parameters: int, training: dict[str, Any], metrics: dict[str, Any],
    extra: dict[str, Any] | None = None, more_packages: Sequence[str] = (),
) -> dict[str, Any]:
    """One model's entry of models/manifest.json, in the layout every model shares.

    The arguments describe the model (``labels`` are its class names, None where it has none), then what
    the run produced. The page has the model's name; ``input_shape`` leaves out the batch dimension; the
    artifacts are described (path, bytes, sha256) from the exported files; the versions are those of the
    serving packages and ``more_packages``. ``metrics`` holds at least dataset, split, n, headline and
    values (often still empty: the scripts measure the exported formats once the entry lists them).
    """
    entry = {
        "name": name,
        "title": title,
        "task": task,
        "page": name,
        "summary": summary,
        "labels": None if labels is None else list(labels),
        "input": {"shape": [None, *input_shape], "dtype": input_dtype, "range": list(input_range)},
        "preprocessing": preprocessing,
        "artifacts": {format_name: manifest_lib.describe_artifact(path) for format_name, path in artifacts.items()},
        "data": {"description": data, "source": data_source, "license": data_license},
        "architecture": architecture,
        "parameters": int(parameters),
        "training": training,
        "versions": manifest_lib.library_versions(*SERVING_PACKAGES, *more_packages),
        "created": manifest_lib.utc_now(),
        "metrics": metrics,
    }
    if extra is not None:
        entry["extra"] = extra
    return entry


# ## Evaluating the exported formats


def evaluate_formats(model_name: str, formats: Iterable[str], outputs_of: Callable[[runtime.Predictor], Any],
                     figures_of: Callable[[Any, Any], dict[str, Any]], reference: Any = SAVEDMODEL
                     ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Every format's figures, and its outputs: ``(per_format, outputs)``.

    Each format is loaded through ``showcase.runtime`` (which checks it against the manifest entry);
    ``outputs_of(predictor)`` runs it on the evaluation data and ``figures_of(outputs, reference_outputs)``
    measures the metric and the parity. ``reference`` is a format name, or outputs computed elsewhere
    (the Keras model's, for example).
    """
    outputs = {name: outputs_of(runtime.load(model_name, name)) for name in formats}
    reference_outputs = outputs[reference] if isinstance(reference, str) else reference
    return {name: figures_of(output, reference_outputs) for name, output in outputs.items()}, outputs


def share(matches: np.ndarray) -> float:
    """The share of true values, rounded as the manifest records accuracies and agreements."""
    return round(float(np.mean(matches)), 5)


def classification_figures(probabilities: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """A classifier format's accuracy, and how often its top class is the reference format's."""
    predicted = probabilities.argmax(1)
    return {"accuracy": share(predicted == labels),
            "argmax_agreement_with_savedmodel": share(predicted == reference.argmax(1))}
