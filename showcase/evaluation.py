"""Fixed evaluation subsets for the Formats page: each model's own metric, measured in any format.

    python -m showcase.evaluation          # prepare every subset the data on this machine allows

A subset is a fixed, deterministic sample of the model's held-out data (or, for the GAN, of its
evaluation inputs), turned into model inputs once and cached in ``.cache/evaluation/<model>.npz``.
``evaluate(model, predictor)`` runs any predictor over it and returns the metric, so every format of a
model is scored on exactly the same inputs as its reference format (SavedModel). Subsets that need a
dataset read it from the shared data folder or the Keras download cache (``showcase.datasets``) and are
unavailable, with a reason, where neither has it: nothing is downloaded here.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable

import numpy as np

from showcase import datasets, paths, runtime, tasks
from showcase import manifest as manifest_lib

BATCH = 64


class DataUnavailable(RuntimeError):
    """The dataset a subset is drawn from is not on this machine."""


@dataclasses.dataclass(frozen=True)
class Subset:
    metric: str
    higher_is_better: bool
    description: str
    prepare: Callable[[dict[str, Any]], dict[str, np.ndarray]]  # manifest entry -> arrays, "inputs" among them
    score: Callable[[np.ndarray, dict[str, np.ndarray]], float]  # outputs, arrays -> metric


def require_dataset(dataset: tuple[str, str]):
    """The local copy of a dataset (``showcase.datasets``); DataUnavailable when this machine has none."""
    path = datasets.local_copy(dataset)
    if path is None:
        raise DataUnavailable(f"{dataset[0]} is not in {paths.SHARED_DIR} or the Keras download cache.")
    return path


def accuracy(outputs: np.ndarray, arrays: dict[str, np.ndarray]) -> float:
    """The share of items whose highest output is their target class."""
    return float(np.mean(outputs.argmax(1) == arrays["targets"]))


# ## Cache and evaluation


def subset_of(model_name: str) -> Subset:
    """The model's evaluation subset, ``EVALUATION`` in its module (``showcase.tasks``)."""
    try:
        return tasks.task(model_name).EVALUATION
    except ValueError:
        raise DataUnavailable(f"No evaluation subset is defined for {model_name!r}.") from None


def load_arrays(model_name: str) -> dict[str, np.ndarray]:
    """The model's subset arrays, from the cache or prepared now; DataUnavailable when the data is missing."""
    subset = subset_of(model_name)
    entry = manifest_lib.model_entry(model_name)
    cache = paths.EVALUATION_DIR / f"{model_name}.npz"
    # The subset depends on the preprocessing (e.g. the sentiment vocabulary): key it by the training date.
    if cache.exists():
        with np.load(cache) as stored:
            if str(stored["created"]) == entry["created"]:
                return {key: stored[key] for key in stored.files if key != "created"}
    arrays = subset.prepare(entry)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, created=np.array(entry["created"]), **arrays)
    return arrays


def predict_in_batches(predictor: runtime.Predictor, inputs: np.ndarray) -> np.ndarray:
    return np.concatenate([predictor.predict(inputs[start : start + BATCH]) for start in range(0, len(inputs), BATCH)])


def evaluate(model_name: str, predictor: runtime.Predictor) -> dict[str, Any]:
    """{"metric", "value", "n", "higher_is_better", "subset"} of one predictor on the model's subset."""
    subset = subset_of(model_name)
    arrays = load_arrays(model_name)
    outputs = predict_in_batches(predictor, arrays["inputs"])
    return {"metric": subset.metric, "value": round(subset.score(outputs, arrays), 6), "n": len(arrays["targets"]),
            "higher_is_better": subset.higher_is_better, "subset": subset.description}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="model names (default: every model with a subset)")
    args = parser.parse_args(argv)
    for model_name in args.models or manifest_lib.load_manifest()["models"]:
        try:
            arrays = load_arrays(model_name)
            print(f"{model_name:12s} {len(arrays['targets'])} items: {subset_of(model_name).description}")
        except DataUnavailable as reason:
            print(f"{model_name:12s} unavailable: {reason}")


if __name__ == "__main__":
    main()
