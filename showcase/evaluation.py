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
import json
from typing import Any, Callable

import numpy as np

from showcase import datasets, paths, runtime
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


def _require(dataset: tuple[str, str]):
    path = datasets.local_copy(dataset)
    if path is None:
        raise DataUnavailable(f"{dataset[0]} is not in {paths.SHARED_DIR} or the Keras download cache.")
    return path


def _accuracy(outputs: np.ndarray, arrays: dict[str, np.ndarray]) -> float:
    return float(np.mean(outputs.argmax(1) == arrays["targets"]))


# ## One preparation per model


def _digits(entry):
    from showcase.preprocessing.digits import to_model_input

    _, (x_test, y_test) = datasets.mnist(_require(datasets.MNIST))
    return {"inputs": to_model_input(x_test[::10]), "targets": y_test[::10]}


def _flowers(entry):
    from showcase.preprocessing.flowers import LABELS, prepare_photo, to_model_input

    names = json.loads((paths.MODELS_DIR / "flowers" / "split.json").read_text())["validation"][::5]
    photos = datasets.flower_photos(_require(datasets.FLOWER_PHOTOS))
    views = [prepare_photo(photos[name])[1] for name in names]
    return {"inputs": to_model_input(views), "targets": np.array([LABELS.index(n.split("/")[0]) for n in names])}


def _sentiment(entry):
    from showcase import text

    vocabulary = text.load_vocabulary(entry)
    reviews, labels = datasets.imdb(_require(datasets.IMDB))["test"]
    encoded = [vocabulary.encode_chunks(review) for review in reviews[::25]]
    owner = np.concatenate([np.full(len(rows), index) for index, rows in enumerate(encoded)])
    return {"inputs": np.concatenate(encoded), "owner": owner, "targets": labels[::25]}


def _sentiment_accuracy(outputs, arrays):
    from showcase.text import average_by_owner

    probabilities = average_by_owner(outputs[:, 0], arrays["owner"], len(arrays["targets"]))
    return float(np.mean((probabilities >= 0.5) == arrays["targets"]))


def _anomaly(entry):
    from showcase.preprocessing.digits import to_model_input

    if not (datasets.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        raise DataUnavailable(f"Fashion-MNIST is not in {datasets.FASHION_MNIST_DIR} (Debian dataset-fashion-mnist).")
    _, (x_test, _) = datasets.mnist(_require(datasets.MNIST))
    fashion = datasets.fashion_mnist_test(datasets.FASHION_MNIST_DIR)
    images = np.concatenate([x_test[::20], fashion[::20]])
    return {"inputs": to_model_input(images), "targets": np.repeat([0, 1], [len(x_test[::20]), len(fashion[::20])])}


def _anomaly_auc(outputs, arrays):
    from showcase import anomaly

    scores = anomaly.reconstruction_error(arrays["inputs"], outputs)
    return anomaly.roc_auc(scores[arrays["targets"] == 0], scores[arrays["targets"] == 1])


def _forecast(entry):
    from showcase import forecasting as fc

    scaler = fc.Scaler.from_dict(entry["extra"]["scaler"])
    inputs, targets = [], []
    for ticker in fc.TICKERS:
        series = fc.builtin_series(ticker)
        origins = fc.period_origins(series.dates)["test"]
        normalised, volatility = fc.raw_windows(series.prices, origins)
        inputs.append(fc.model_input(normalised, volatility, scaler))
        targets.append(fc.targets(series.prices, origins, volatility))
    return {"inputs": np.concatenate(inputs), "targets": np.concatenate(targets)}


def _forecast_pinball(outputs, arrays):
    from showcase.forecasting import pinball_loss

    return pinball_loss(arrays["targets"], outputs)


def _gan(entry):
    from showcase import generation

    digits = np.repeat(np.arange(generation.NUM_CLASSES), 50)
    return {"inputs": generation.generator_input(generation.latent_vectors(2026, len(digits)), digits),
            "targets": digits}


def _gan_digit_accuracy(outputs, arrays):
    reader = runtime.load("digits", "tflite")
    return _accuracy(_predict_in_batches(reader, outputs.astype(np.float32)), arrays)


SUBSETS = {
    "digits": Subset("accuracy", True, "1,000 MNIST test digits (every 10th)", _digits, _accuracy),
    "flowers": Subset("accuracy", True, "147 validation photos (every 5th of the fixed split)", _flowers, _accuracy),
    "sentiment": Subset("accuracy", True, "1,000 IMDB test reviews (every 25th)", _sentiment, _sentiment_accuracy),
    "anomaly": Subset("roc_auc", True, "500 MNIST vs 500 Fashion-MNIST test images (every 20th)",
                      _anomaly, _anomaly_auc),
    "forecast": Subset("pinball_loss", False, "all 2012–2013 test windows of the 4 stocks (normalised units)",
                       _forecast, _forecast_pinball),
    "gan": Subset("digit_accuracy", True, "500 generated digits (50 per digit, seed 2026) read by the Digits "
                  "model (TFLite)", _gan, _gan_digit_accuracy),
}


# ## Cache and evaluation


def subset_of(model_name: str) -> Subset:
    if model_name not in SUBSETS:
        raise DataUnavailable(f"No evaluation subset is defined for {model_name!r}.")
    return SUBSETS[model_name]


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


def _predict_in_batches(predictor: runtime.Predictor, inputs: np.ndarray) -> np.ndarray:
    return np.concatenate([predictor.predict(inputs[start : start + BATCH]) for start in range(0, len(inputs), BATCH)])


def evaluate(model_name: str, predictor: runtime.Predictor) -> dict[str, Any]:
    """{"metric", "value", "n", "higher_is_better", "subset"} of one predictor on the model's subset."""
    subset = subset_of(model_name)
    arrays = load_arrays(model_name)
    outputs = _predict_in_batches(predictor, arrays["inputs"])
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
