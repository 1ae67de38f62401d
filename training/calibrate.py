"""
Title: Calibrating the classifiers' confidences with temperature scaling
Description: Fit one temperature per classifier on held-out data, measure ECE, Brier and NLL before and after
for every served format, and write it all into the manifest.

Run (after the training scripts; nothing is retrained):
    python training/calibrate.py                          # digits, flowers and sentiment
    python training/calibrate.py --models digits --formats onnx tflite

## Introduction

The pages show a confidence ("97.3% confident") and the Flowers page says "not sure" below a threshold on
it. Those numbers are only worth showing if they are calibrated: of all the predictions made with 90%
confidence, about 90% should be right. Temperature scaling (Guo et al. 2017) divides the logits by one
number T, fitted by minimising the negative log-likelihood on data the figures are not reported on. It
changes no predicted class. ``showcase.calibration`` holds the maths and the one place where serving
applies T (every page, every format).

## Splits

- **digits**: T is fitted on the training script's 5,000-image validation split (the last 5,000 images of
  MNIST train, as ``training/train_digits.py`` carves it); figures are reported on MNIST test (10,000).
- **flowers**: only train/validation exist (``models/flowers/split.json``). Cross-fitting on the 735
  validation photos: 5 stratified folds, each fold's probabilities scaled with a T fitted on the other
  four, and the "after" figures are those out-of-fold probabilities. The served T is fitted on all 735.
  The "not sure" threshold is chosen again, with the training script's rule, on the served (calibrated)
  validation probabilities.
- **sentiment**: fitted on the 2,500 validation reviews the training script held out of IMDB train (a
  seeded sample, used there only for early stopping); reported on the full IMDB test (24,996 reviews). A
  review's logit is the sum over its rows, divided by T, as on the page.

One temperature per served format, each fitted on that format's own outputs: the fp32 formats agree to
1e-6 and get the same T, while full-int8 outputs step by 1/256 and may need another. The entry's top-level
``temperature`` is the fp32 reference format's (ONNX). Model outputs are cached in ``.cache/calibration/``
(keyed by the artifact's sha256), so a rerun only refits.
"""

# ## Setup

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from showcase import calibration, datasets, evaluation, paths, runtime, tasks
from showcase import manifest as manifest_lib
from showcase.formats import ONNX, SAVEDMODEL, TFLITE
from showcase.tasks import digits, flowers, sentiment

CACHE = paths.CACHE_DIR / "calibration"
REFERENCE_FORMATS = (ONNX, TFLITE, SAVEDMODEL)
BATCH = 256
FOLDS = 5
FOLD_SEED = 18
DIGITS_VALIDATION_SIZE = 5000  # training/train_digits.py VALIDATION_SIZE
SENTIMENT_SEED, SENTIMENT_VALIDATION_SIZE = 1337, 2500  # training/train_sentiment.py SEED, VALIDATION_SIZE
FLOWERS_TARGET_ACCURACY = 0.97  # training/train_flowers.py TARGET_CONFIDENT_ACCURACY
COMMAND = "python training/calibrate.py"


# ## The held-out splits of each classifier
#
# Each returns {split name: {"inputs", "labels", and for texts read in several rows "owner"}}. A model without a "fit"
# split is cross-fitted on its "report" split.


def digits_splits(entry) -> dict[str, dict[str, np.ndarray]]:
    """The training script's validation split to fit on, MNIST test to report on (``entry`` is not needed)."""
    (x_train, y_train), (x_test, y_test) = datasets.mnist(_data(datasets.MNIST))
    return {"fit": {"inputs": digits.to_model_input(x_train[-DIGITS_VALIDATION_SIZE:]),
                    "labels": y_train[-DIGITS_VALIDATION_SIZE:]},
            "report": {"inputs": digits.to_model_input(x_test), "labels": y_test}}


def flowers_splits(entry) -> dict[str, dict[str, np.ndarray]]:
    names = json.loads((paths.MODELS_DIR / entry["extra"]["split"]["file"]).read_text())["validation"]
    photos = datasets.flower_photos(_data(datasets.FLOWER_PHOTOS))
    views = flowers.to_model_input([flowers.prepare_photo(photos[name])[1] for name in names])
    # Cross-fitted: the same photos serve for fitting (other folds) and reporting (held-out fold).
    labels = np.array([flowers.LABELS.index(name.split("/")[0]) for name in names])
    return {"report": {"inputs": views, "labels": labels}}


def sentiment_splits(entry) -> dict[str, dict[str, np.ndarray]]:
    vocabulary = sentiment.load_vocabulary(entry)
    data = datasets.imdb(_data(datasets.IMDB))
    train_texts, train_labels = data["train"]
    order = np.random.default_rng(SENTIMENT_SEED).permutation(len(train_texts))[:SENTIMENT_VALIDATION_SIZE]

    def encoded(texts, labels):
        rows = [vocabulary.encode(review) for review in texts]
        owner = np.concatenate([np.full(len(review_rows), index) for index, review_rows in enumerate(rows)])
        return {"inputs": np.concatenate(rows), "owner": owner, "labels": np.asarray(labels)}

    return {"fit": encoded([train_texts[i] for i in order], train_labels[order]), "report": encoded(*data["test"])}


@dataclass(frozen=True)
class HeldOut:
    """How one classifier's temperature is fitted and its figures reported."""

    splits: Callable[[dict[str, Any]], dict[str, dict[str, np.ndarray]]]  # the manifest entry -> its splits
    fitted_on: str
    reported_on: str


# The classifiers, by their names in the registry (``showcase.tasks``).
HELD_OUT = {
    "digits": HeldOut(digits_splits, "the training script's validation split: the last 5,000 images of MNIST train",
                      "MNIST test (10,000 images)"),
    "flowers": HeldOut(flowers_splits,
                       "the 735 validation photos, cross-fitted in 5 stratified folds (the served T on all 735)",
                       "the 735 validation photos, out-of-fold probabilities (each fold scaled with a T fitted on "
                       "the other four)"),
    "sentiment": HeldOut(sentiment_splits,
                         "the 2,500 validation reviews held out of IMDB train by the training script (seed 1337)",
                         "IMDB test (24,996 reviews); a review's logit is the sum over its rows"),
}


def _data(dataset) -> Path:
    path = datasets.local_copy(dataset)
    if path is None:
        raise SystemExit(f"{dataset[0]} is not in {paths.SHARED_DIR} or the Keras download cache.")
    return path


def cached_splits(model_name: str, entry) -> dict[str, dict]:
    """The model's splits with their labels (and owners) cached; inputs are made only when a format needs them."""
    meta = CACHE / f"{model_name}_splits_{entry['created'].replace(':', '')}.npz"
    made: dict[str, dict] = {}

    def make():
        if not made:
            made.update(HELD_OUT[model_name].splits(entry))
        return made

    if not meta.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(meta, **{f"{split}.{key}": value for split, arrays in make().items()
                                     for key, value in arrays.items() if key != "inputs"})
    with np.load(meta) as stored:
        splits: dict[str, dict] = {}
        for key in stored.files:
            split, name = key.split(".")
            splits.setdefault(split, {})[name] = stored[key]
    for split_name, split in splits.items():
        split["inputs"] = lambda split_name=split_name: make()[split_name]["inputs"]
    return splits


# ## Model outputs per format, cached by the artifact's sha256


def outputs_of(model_name: str, format_name: str, entry, split_name: str, split) -> np.ndarray:
    sha = entry["artifacts"][format_name]["sha256"][:16]
    cache = CACHE / f"{model_name}_{format_name}_{split_name}_{len(split['labels'])}_{sha}.npy"
    if cache.exists():
        return np.load(cache)
    predictor = runtime.load(model_name, format_name)
    inputs = split["inputs"]()
    outputs = np.concatenate([predictor.predict(inputs[i:i + BATCH]) for i in range(0, len(inputs), BATCH)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, outputs)
    print(f"  {model_name} {format_name} {split_name}: {len(inputs)} rows predicted")
    return outputs


def probabilities(outputs, split, temperature: float, floor: float) -> np.ndarray:
    return calibration.item_probabilities(outputs, temperature, split.get("owner"), len(split["labels"]), floor)


def fit(outputs, split, floor: float) -> float:
    return calibration.fit_temperature(
        lambda t: calibration.nll(probabilities(outputs, split, t, floor), split["labels"]))


# ## Figures before and after, per format


def format_record(outputs, split, temperature: float, floor: float, after_probabilities=None) -> dict:
    before = probabilities(outputs, split, 1.0, floor)
    after = probabilities(outputs, split, temperature, floor) if after_probabilities is None else after_probabilities
    labels = split["labels"]
    return {"before": calibration.figures(before, labels), "after": calibration.figures(after, labels),
            "reliability": {"before": calibration.reliability_bins(before, labels),
                            "after": calibration.reliability_bins(after, labels)}}


def cross_fitted(outputs, split, floor: float) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold calibrated probabilities: each stratified fold scaled with a T fitted on the others."""
    labels = split["labels"]
    fold = np.empty(len(labels), dtype=int)
    rng = np.random.default_rng(FOLD_SEED)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold[members] = np.arange(len(members)) % FOLDS
    result = np.empty_like(probabilities(outputs, split, 1.0, floor))
    temperatures = []
    for k in range(FOLDS):
        train = {"labels": labels[fold != k]}
        t = fit(outputs[fold != k], train, floor)
        temperatures.append(round(t, 4))
        result[fold == k] = calibration.scaled(outputs[fold == k], t, floor)
    return result, temperatures


def subset_record(model_name, predictor_outputs_fn, temperature: float, floor: float) -> dict | None:
    """ECE before/after on the committed evaluation subset (the one the tests re-measure)."""
    try:
        arrays = evaluation.load_arrays(model_name)
    except evaluation.DataUnavailable:
        return None
    split = {"inputs": lambda: arrays["inputs"], "labels": arrays["targets"],
             **({"owner": arrays["owner"]} if "owner" in arrays else {})}
    outputs = predictor_outputs_fn("subset", split)
    return {"subset": evaluation.subset_of(model_name).description, "n": int(len(split["labels"])),
            "ece_before": calibration.figures(probabilities(outputs, split, 1.0, floor), split["labels"])["ece"],
            "ece_after": calibration.figures(probabilities(outputs, split, temperature, floor), split["labels"])["ece"]}


# ## Calibrating one model


def calibrate_model(model_name: str, formats: list[str] | None) -> dict:
    entry = manifest_lib.model_entry(model_name)
    served = [name for name in entry["artifacts"] if formats is None or name in formats]
    splits = cached_splits(model_name, entry)
    reference = next(name for name in REFERENCE_FORMATS if name in entry["artifacts"])
    # Without a split of its own to fit on, the model is cross-fitted on its report split.
    cross_fit = "fit" not in splits
    fit_name = "report" if cross_fit else "fit"
    report, fit_split = splits["report"], splits[fit_name]
    # The flowers model's "not sure" threshold was chosen on uncalibrated probabilities: choose it again.
    rederive = "not_sure" in entry.get("extra", {})
    record = {
        "method": "temperature scaling (Guo et al. 2017): logits divided by T, T minimising the NLL of the fit "
                  "split, one T per served format; "
                  + ("the model outputs logits" if "owner" in report else
                     "the exported models output probabilities, so log-probabilities (softmax; full-int8 outputs "
                     "floored at 1/512, half their step) or log-odds (sigmoid) serve as logits"),
        "applies_to": "review logit (the sum of its rows', showcase.tasks.sentiment.review_logits)" if "owner" in report
                      else "model output",
        "temperature": None,  # The reference format's, filled in below.
        "fitted_on": {"split": HELD_OUT[model_name].fitted_on, "n": int(len(fit_split["labels"])),
                      "reference_format": reference, "objective": "negative log-likelihood"},
        "report_split": {"split": HELD_OUT[model_name].reported_on, "n": int(len(report["labels"]))},
        "bins": calibration.BINS,
        "per_format": {},
        "command": f"{COMMAND} --models {model_name}",
        "created": manifest_lib.utc_now(),
    }
    for name in dict.fromkeys([reference, *served]):
        outputs = {split_name: outputs_of(model_name, name, entry, split_name, split)
                   for split_name, split in splits.items()}
        floor = calibration.output_floor(name)
        temperature = round(fit(outputs[fit_name], fit_split, floor), 4)  # The figures are the served value's.
        after = None
        if cross_fit:
            after, fold_temperatures = cross_fitted(outputs["report"], report, floor)
        figures = {"temperature": temperature, **format_record(outputs["report"], report, temperature, floor, after)}
        if cross_fit:
            figures["fold_temperatures"] = fold_temperatures
        subset = subset_record(model_name, lambda split_name, split, name=name: outputs_of(
            model_name, name, entry, split_name, split), temperature, floor)
        if subset:
            figures["evaluation_subset"] = subset
        if name == reference:
            record["temperature"] = temperature
        if name in served:
            record["per_format"][name] = figures
        if rederive and name == (SAVEDMODEL if SAVEDMODEL in served else reference):
            not_sure_outputs = (outputs["report"], temperature, floor)
        print_figures(model_name, name, figures)
    record["per_format"] = {name: record["per_format"][name] for name in served}  # In the artifacts' order.
    entry["calibration"] = record
    if rederive:
        rederive_not_sure(entry, *not_sure_outputs, report)
    return entry


def print_figures(model_name: str, format_name: str, figures: dict) -> None:
    before, after = figures["before"], figures["after"]
    subset = figures.get("evaluation_subset")
    print(f"{model_name:9s} {format_name:12s} T={figures['temperature']:.4f}  ECE {before['ece']:.4f} -> "
          f"{after['ece']:.4f}  Brier {before['brier']:.4f} -> {after['brier']:.4f}  NLL {before['nll']:.4f} -> "
          f"{after['nll']:.4f}  acc {before['accuracy']:.4f} -> {after['accuracy']:.4f}  conf "
          f"{before['mean_confidence']:.4f} -> {after['mean_confidence']:.4f}"
          + (f"  subset ECE {subset['ece_before']:.4f} -> {subset['ece_after']:.4f}" if subset else ""))


def rederive_not_sure(entry: dict, outputs: np.ndarray, temperature: float, floor: float, report: dict) -> None:
    """The "not sure" threshold chosen again, with the same rule, on the calibrated validation probabilities of
    the format the training script chose it on (SavedModel)."""
    previous = entry["extra"]["not_sure"]
    previous = previous.get("before_calibration", previous)
    chosen = flowers.choose_threshold(calibration.scaled(outputs, temperature, floor), report["labels"],
                                          FLOWERS_TARGET_ACCURACY)
    chosen["chosen_on"] = f"SavedModel validation probabilities calibrated with T = {temperature} ({COMMAND})"
    chosen["before_calibration"] = {key: value for key, value in previous.items() if key != "before_calibration"}
    entry["extra"]["not_sure"] = chosen
    print(f"flowers not-sure threshold {previous['threshold']} -> {chosen['threshold']} "
          f"(coverage {previous['coverage']} -> {chosen['coverage']})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", choices=list(HELD_OUT),
                        default=[name for name in tasks.names() if name in HELD_OUT])
    parser.add_argument("--formats", nargs="*", help="served formats to measure (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave the manifest alone")
    args = parser.parse_args(argv)
    for model_name in args.models:
        entry = calibrate_model(model_name, args.formats)
        if not args.dry_run:
            manifest_lib.update_model_entry(entry)


if __name__ == "__main__":
    main()
