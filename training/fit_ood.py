"""
Title: Knowing when not to answer: fitting the Flowers page's out-of-distribution check
Description: Compare OOD scores on the same data, choose the threshold on validation flowers only, measure AUROC,
FPR at 95% TPR, coverage and the accuracy of the answered flowers on the validation photos and an
out-of-distribution set, and add an ``ood`` block to the flowers manifest entry. Nothing is retrained.

Run (after ``training/export_flowers_outputs.py`` and ``training/calibrate.py``; re-run it after a retrain):
    python training/fit_ood.py flowers      # writes models/flowers/ood.npz and the flowers entry's "ood"
    python training/fit_ood.py digits       # the digit check: writes the digits and anomaly entries' "ood"
    python training/fit_ood.py sentiment    # writes models/sentiment/english_words.txt and the sentiment "ood"

Scores compared on the same data (the reference format, ONNX), each with the threshold that keeps 95% of the
735 **validation** photos: the softmax's top probability (the baseline), the max logit and the energy (Liu et
al. 2020), and the Mahalanobis distance of the 1280-d pooled features to the nearest class mean, with class
means and one shared covariance fitted on the centre crops of the 2,935 **training** photos only (Lee et al.
2018), on the raw features and on L2-normalized ones (Mahalanobis++, Mueller & Hein 2025), at several ranks of
its low-rank form (``showcase.ood.GaussianModel``); and a combination (the larger of the normalized Mahalanobis
and the energy, each divided by its own validation threshold). The one served is ``SERVED``; its threshold is
chosen per served format (each format's own features). Out-of-distribution set: ``showcase.ood_images`` (the
committed real photos, synthetic noise, flat colours, gradients, text and screenshots, MNIST and Fashion-MNIST
upscaled). A first pass takes about five minutes on two cores (model outputs are cached in .cache/ood/).

Digits and Anomaly share one check, made on the uploaded image before the MNIST recipe: the ranges of its ink
statistics (``showcase.tasks.digits.ink_statistics``) over MNIST training digits, canvas drawings and photos of
written digits made from them (``showcase.ood_images``), with the threshold keeping 99% of each kind of validation
digit (the last MNIST training digits). Compared on the same images: each statistic's range alone, all together,
a Mahalanobis distance of the statistics, the autoencoder's reconstruction error and the digits model's top
probability after the recipe, and the check or the autoencoder (what the Anomaly page flags). Figures on MNIST test
digits (as they are, drawn, photographed) and the non-digit set. About five minutes on two cores.

Sentiment: does a text read like an English movie review? The IMDB training reviews are split as
training/train_sentiment.py splits them (a seed-1337 permutation; the first 2,500 are validation). The other 22,496
build the English word list (words in at least three of them) and fit the beta of each signal's rate
(``showcase.tasks.sentiment.SIGNALS``); the threshold keeps 99.8% of the validation reviews. Figures: all IMDB test
reviews, and the written texts of samples/sentiment/not_english.csv; each signal alone is compared with their largest
(served). It reads no model output, so it needs no retrain and survives one. About 25 seconds on two cores.
"""

# ## Setup

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from showcase import calibration, datasets, ood, ood_images, paths, runtime
from showcase import manifest as manifest_lib
from showcase.formats import ONNX
from showcase.imaging import read_image
from showcase.tasks import anomaly, digits, flowers, sentiment

CACHE = paths.CACHE_DIR / "ood"
BATCH = 32
UPSCALED_PER_DATASET = 40
FLOWERS_RANK = 256
FLOWERS_RANKS = (64, 128, 256, 512)
# The score served: the Mahalanobis distance on normalized features at FLOWERS_RANK (see the comparison).
SERVED = f"mahalanobis_normalized_rank_{FLOWERS_RANK}"
FOLDS, FOLD_SEED = 5, 17
COMMAND = "python training/fit_ood.py"


def data(dataset) -> Path:
    path = datasets.local_copy(dataset)
    if path is None:
        raise SystemExit(f"{dataset[0]} is not in {paths.SHARED_DIR} or the Keras download cache.")
    return path


def cached(name: str, make):
    """A dict of arrays kept in .cache/ood/<name>.npz, made once."""
    path = CACHE / f"{name}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    arrays = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def out_of_distribution_images() -> dict[str, list[bytes]]:
    """Every out-of-distribution kind's images, as uploaded bytes: real photos, synthetic, upscaled datasets."""
    sets = {"photo": list(ood_images.photos().values())} | ood_images.synthetic()
    _, (mnist_test, _) = datasets.mnist(data(datasets.MNIST))
    sets["mnist_upscaled"] = ood_images.upscaled(mnist_test, UPSCALED_PER_DATASET)
    if datasets.FASHION_MNIST_DIR.exists():
        sets["fashion_mnist_upscaled"] = ood_images.upscaled(
            datasets.fashion_mnist_test(datasets.FASHION_MNIST_DIR), UPSCALED_PER_DATASET)
    return sets


def figures_by_kind(in_scores, out_scores: dict[str, np.ndarray], threshold: float) -> dict[str, Any]:
    """Figures against all out-of-distribution images together, and the share answered of each kind."""
    everything = np.concatenate(list(out_scores.values()))
    return {"all": ood.figures(in_scores, everything, threshold),
            "answered_by_kind": {kind: round(ood.answered(scores, threshold), 4) for kind, scores in out_scores.items()},
            "auroc_by_kind": {kind: round(ood.auroc(in_scores, scores), 4) for kind, scores in out_scores.items()}}


def out_of_fold_coverage(scores: np.ndarray, coverage: float = ood.TARGET_COVERAGE) -> float:
    """The share of in-distribution items answered when each fold's threshold is chosen on the other folds."""
    folds = np.random.default_rng(FOLD_SEED).permutation(len(scores)) % FOLDS
    kept = [ood.answered(scores[folds == k], ood.threshold_at_coverage(scores[folds != k], coverage))
            * np.sum(folds == k) for k in range(FOLDS)]
    return round(float(np.sum(kept) / len(scores)), 4)


def file_record(path: Path) -> dict[str, Any]:
    return manifest_lib.describe_artifact(path)


# ## Flowers


def flower_views(names: list[str]) -> np.ndarray:
    photos = datasets.flower_photos(data(datasets.FLOWER_PHOTOS))
    views = [flowers.prepare_photo(photos[name])[1] for name in names]
    return np.round(np.stack(views) * 255).astype(np.uint8)


def flower_outputs(format_name: str, entry, split: str, views) -> dict[str, np.ndarray]:
    """The model's three outputs for uint8 views, cached by the artifact's sha256 and the split's name."""
    key = hashlib.sha256((entry["artifacts"][format_name]["sha256"] + split).encode()).hexdigest()[:16]

    def make():
        predictor = runtime.load("flowers", format_name)
        batches = [predictor.predict_outputs(views()[i:i + BATCH].astype(np.float32) / 255)
                   for i in range(0, len(views()), BATCH)]
        return {name: np.concatenate([batch[name] for batch in batches]) for name in flowers.OUTPUT_NAMES}

    return cached(f"flowers_{format_name}_{split}_{key}", make)


def flower_splits():
    """Lazy uint8 views of each split (cached), the cache name of each split, the labels, and the OOD kinds."""
    split = json.loads((paths.MODELS_DIR / "flowers" / "split.json").read_text())
    images = out_of_distribution_images()
    kinds = {kind: len(items) for kind, items in images.items()}

    def ood_views():
        views = [flowers.prepare_photo(item)[1] for items in images.values() for item in items]
        return {"views": np.round(np.stack(views) * 255).astype(np.uint8)}

    # The out-of-distribution set's cache entries are named for its contents, so that a changed set is redone.
    ood_name = "ood_" + hashlib.sha256(b"".join(item for items in images.values() for item in items)).hexdigest()[:8]
    lazy = {"train": lambda: cached("flowers_train_views", lambda: {"views": flower_views(split["train"])})["views"],
            "validation": lambda: cached("flowers_validation_views",
                                         lambda: {"views": flower_views(split["validation"])})["views"],
            ood_name: lambda: cached(f"flowers_{ood_name}_views", ood_views)["views"]}
    labels = {name: np.array([flowers.LABELS.index(n.split("/")[0]) for n in split[name]])
              for name in ("train", "validation")}
    return lazy, ood_name, labels, kinds


def split_by_kind(scores: np.ndarray, kinds: dict[str, int]) -> dict[str, np.ndarray]:
    bounds = np.cumsum([0, *kinds.values()])
    return {kind: scores[bounds[i]:bounds[i + 1]] for i, kind in enumerate(kinds)}


def fit_gaussians(train) -> dict[str, ood.GaussianModel]:
    """The compared Mahalanobis models, fitted on the training photos' features only."""
    labels, features = train["labels"], train["features"]
    return {f"mahalanobis{'_normalized' if normalized else ''}_rank_{rank}":
            ood.GaussianModel.fit(features, labels, rank, normalized)
            for normalized in (False, True) for rank in FLOWERS_RANKS}


def flower_scores(outputs, gaussians: dict[str, ood.GaussianModel]) -> dict[str, np.ndarray]:
    """Every compared single score (higher is more unusual) of one split's outputs."""
    scores = {"max_softmax": -outputs["probabilities"].max(1), "max_logit": -outputs["logits"].max(1),
              "energy": ood.energy(outputs["logits"])}
    return scores | {name: model.score(outputs["features"]) for name, model in gaussians.items()}


def combined(in_scores: dict[str, np.ndarray], out_scores: dict[str, np.ndarray], names: tuple[str, str]):
    """The larger of two scores, each as its distance above its own validation threshold in validation standard
    deviations (so that either score can refuse an input)."""
    scales = {name: (ood.threshold_at_coverage(in_scores[name]), float(np.std(in_scores[name]))) for name in names}
    return [np.max([(scores[name] - scales[name][0]) / scales[name][1] for name in names], axis=0)
            for scores in (in_scores, out_scores)]


def compare_flower_scores(validation, outside, gaussians, kinds) -> dict[str, Any]:
    """Each score's figures on the same validation and out-of-distribution outputs."""
    in_scores, out_scores = flower_scores(validation, gaussians), flower_scores(outside, gaussians)
    pair = (SERVED, "energy")
    in_scores["combined_normalized_mahalanobis_and_energy"], out_scores[
        "combined_normalized_mahalanobis_and_energy"] = combined(in_scores, out_scores, pair)
    comparison = {}
    for method in in_scores:
        threshold = ood.threshold_at_coverage(in_scores[method])
        figures = figures_by_kind(in_scores[method], split_by_kind(out_scores[method], kinds), threshold)
        kept = in_scores[method] <= threshold
        comparison[method] = figures["all"] | {"accuracy_answered": round(float(validation["correct"][kept].mean()),
                                                                          4),
                                               "answered_by_kind": figures["answered_by_kind"]}
        print(f"{method:44s} {comparison[method]}")
    return comparison


def format_figures(model: ood.GaussianModel, validation, outside, kinds) -> dict[str, Any]:
    """The served score's threshold and figures for one format's outputs."""
    inside, out = model.score(validation["features"]), model.score(outside["features"])
    threshold = ood.threshold_at_coverage(inside)
    kept, correct = inside <= threshold, validation["correct"]
    return {"threshold": round(threshold, 3),
            **figures_by_kind(inside, split_by_kind(out, kinds), threshold),
            "out_of_fold_coverage": out_of_fold_coverage(inside),
            "accuracy_answered": round(float(correct[kept].mean()), 4),
            "accuracy_refused": round(float(correct[~kept].mean()), 4) if (~kept).any() else None,
            "accuracy_all": round(float(correct.mean()), 4)}


def fit_flowers() -> None:
    entry = manifest_lib.model_entry("flowers")
    start = time.perf_counter()
    views, ood_name, labels, kinds = flower_splits()

    def outputs(format_name: str, split: str) -> dict[str, np.ndarray]:
        result = flower_outputs(format_name, entry, split, views[split])
        if split in labels:
            result |= {"labels": labels[split], "correct": result["probabilities"].argmax(1) == labels[split]}
        return result

    gaussians = fit_gaussians(outputs(ONNX, "train"))
    comparison = compare_flower_scores(outputs(ONNX, "validation"), outputs(ONNX, ood_name), gaussians, kinds)
    served = gaussians[SERVED]
    ood_path = paths.MODELS_DIR / "flowers" / "ood.npz"
    np.savez(ood_path, **served.arrays())
    per_format = {format_name: format_figures(served, outputs(format_name, "validation"),
                                              outputs(format_name, ood_name), kinds)
                  for format_name in entry["artifacts"]}
    for format_name, figures in per_format.items():
        print(f"{format_name:12s} {figures}")
    record = per_format[ONNX]
    entry["ood"] = {
        "method": f"Mahalanobis distance (Lee et al. 2018) of the L2-normalized 1280-d pooled features "
                  f"(Mahalanobis++, Mueller & Hein 2025) to the nearest class mean: five class means and one "
                  f"shared covariance fitted on the centre crops of the {len(labels['train'])} training photos "
                  f"only, the covariance kept as its {FLOWERS_RANK} leading eigenvectors plus one variance for the "
                  f"rest; the model outputs its features beside its probabilities in every format",
        "signal": "squared Mahalanobis distance of the photo's normalized features to the nearest flower class",
        "threshold": record["threshold"],
        "threshold_rule": f"the score under which {ood.TARGET_COVERAGE:.0%} of the "
                          f"{len(labels['validation'])} validation photos fall, per format (validation flowers "
                          f"only; nothing out of distribution is used to choose it)",
        "artifact": file_record(ood_path),
        "in_distribution": {"split": "validation (20%, stratified)", "n": len(labels["validation"])},
        "evaluation_set": out_of_distribution_description(kinds),
        "figures": {key: record[key] for key in ("all", "answered_by_kind", "auroc_by_kind", "out_of_fold_coverage",
                                                 "accuracy_answered", "accuracy_refused", "accuracy_all")},
        "reference_format": ONNX,
        "per_format": per_format,
        "comparison": {"format": ONNX, "served": SERVED,
                       "note": "each score's threshold keeps 95% of the validation photos; the combination takes "
                               "the larger of the normalized Mahalanobis score and the energy, each measured from "
                               "its own threshold in validation standard deviations",
                       "not_compared": "the ImageNet head as a deny-list: the fine-tuned top (block 16 and the "
                                       "last 1×1 convolution) no longer feeds the ImageNet classifier, so it would "
                                       "need the original top as a second 3.5 MB network at serving time",
                       "methods": comparison},
        "seconds": round(time.perf_counter() - start, 1),
        "command": f"{COMMAND} flowers",
        "created": manifest_lib.utc_now(),
    }
    manifest_lib.update_model_entry(entry)


def out_of_distribution_description(kinds: dict[str, int]) -> dict[str, Any]:
    return {"description": "showcase.ood_images: real photos that are not flowers (samples/ood/, scikit-image "
                           "sample images, each whole and as a centre close-up; source and licence of each in "
                           "samples/ood/CREDITS.md); synthetic noise, flat colours, gradients, rendered text and "
                           "screenshot-like layouts (seed 0); MNIST test digits and Fashion-MNIST test images "
                           "upscaled to 320×320 (seeded sample)",
            "counts": kinds, "n": int(sum(kinds.values()))}


# ## Digits and Anomaly: is this one handwritten digit?

DIGIT_COVERAGE = 0.99
RANGE_PERCENTILES = (0.5, 99.5)
SCRIBBLES = 40
FASHION_COUNT = 200
# Digits whose statistics set the ranges, and digits that choose the threshold (MNIST training file); test digits
# only for the figures.
DIGIT_SETS = {"ranges": {"mnist": slice(0, 3000), "drawing": slice(3000, 5000), "digit_photo": slice(5000, 6000)},
              "validation": {"mnist": slice(-1000, None), "drawing": slice(-2000, -1000),
                             "digit_photo": slice(-2500, -2000)},
              "test": {"mnist": slice(0, None, 5), "drawing": slice(1, None, 10), "digit_photo": slice(2, None, 20)}}
DIGIT_SERVED = "ink_statistics_ranges"


def digit_inputs(images: np.ndarray, kind: str, seed: int) -> list:
    """Uploads of one in-distribution kind: MNIST digits as they are (28×28), drawn on the canvas, photographed."""
    rng = np.random.default_rng(seed)
    if kind == "mnist":
        return list(images)
    if kind == "drawing":
        return [ood_images.canvas_drawing(image, rng) for image in images]
    return [read_image(ood_images.digit_photo(image, rng)) for image in images]


def non_digit_inputs() -> dict[str, list]:
    """Every kind of image that is not one handwritten digit, as the pages receive it."""
    sets = {"photo": [read_image(data) for data in ood_images.photos().values()]}
    sets |= {kind: [read_image(data) for data in items] for kind, items in ood_images.synthetic().items()}
    fashion = datasets.fashion_mnist_test(datasets.FASHION_MNIST_DIR)
    sets["fashion_mnist"] = list(fashion[:FASHION_COUNT])
    sets["fashion_mnist_upscaled"] = [read_image(data) for data in ood_images.upscaled(fashion, UPSCALED_PER_DATASET)]
    rng = np.random.default_rng(0)
    sets["canvas_scribble"] = [ood_images.scribble(rng) for _ in range(SCRIBBLES)]
    return sets


def measured(images: list) -> dict[str, np.ndarray]:
    """Each image's ink statistics, its MNIST-recipe image, and whether it had ink at all."""
    statistics, prepared, inked = [], [], []
    for image in images:
        try:
            prepared.append(digits.prepare_digit(image))
            statistics.append(digits.statistics_vector(digits.ink_statistics(image)))
            inked.append(True)
        except digits.EmptyImageError:
            prepared.append(np.zeros((28, 28), np.float32))
            statistics.append(np.zeros(len(digits.INK_STATISTICS)))
            inked.append(False)
    return {"statistics": np.stack(statistics), "prepared": np.stack(prepared), "inked": np.array(inked)}


def digit_measurements() -> tuple[dict, dict]:
    """Measurements of every in-distribution set (by role and kind, with labels) and out-of-distribution kind."""
    (x_train, y_train), (x_test, y_test) = datasets.mnist(data(datasets.MNIST))
    inside = {}
    for role, kinds in DIGIT_SETS.items():
        images, labels = (x_test, y_test) if role == "test" else (x_train, y_train)
        for seed, (kind, rows) in enumerate(kinds.items()):
            chosen, seed = images[rows], seed + 10 * len(role)
            inside[role, kind] = cached(f"digits_{role}_{kind}", lambda chosen=chosen, kind=kind, seed=seed: measured(
                digit_inputs(chosen, kind, seed))) | {"labels": labels[rows]}
    outside = {kind: cached(f"digits_ood_{kind}", lambda items=items: measured(items))
               for kind, items in non_digit_inputs().items()}
    return inside, outside


def model_scores(measurement: dict) -> dict[str, np.ndarray]:
    """The autoencoder's reconstruction error and the digits model's probabilities on the recipe's images."""
    batch = digits.to_model_input(measurement["prepared"])
    reconstruction = runtime.load("anomaly", ONNX).predict(batch)
    return {"autoencoder_error": anomaly.reconstruction_error(batch, reconstruction),
            "probabilities": calibration.calibrated(runtime.load("digits", ONNX),
                                                    manifest_lib.model_entry("digits")).predict(batch)}


def per_kind_threshold(scores: dict[str, np.ndarray]) -> float:
    """The smallest score that keeps DIGIT_COVERAGE of every in-distribution validation kind."""
    return max(ood.threshold_at_coverage(kind_scores, DIGIT_COVERAGE) for kind_scores in scores.values())


def digit_scores(measurements: dict, low, high, gaussian) -> dict[str, np.ndarray]:
    """Every compared score of one set (higher is more unusual; an image without ink is refused by the recipe)."""
    statistics, refused = measurements["statistics"], np.where(measurements["inked"], 0.0, np.inf)
    scores = {f"range_{name}": digits.range_score(statistics[:, [i]], low[[i]], high[[i]], (name,)) + refused
              for i, name in enumerate(digits.INK_STATISTICS)}
    scores[DIGIT_SERVED] = digits.range_score(statistics, low, high) + refused
    scores["mahalanobis_ink_statistics"] = gaussian.score(statistics) + refused
    models = model_scores(measurements)
    scores["autoencoder_error"] = models["autoencoder_error"] + refused
    scores["digits_max_probability"] = -models["probabilities"].max(1) + refused
    return scores


def fit_digits() -> None:
    start = time.perf_counter()
    inside, outside = digit_measurements()
    pooled = np.concatenate([inside["ranges", kind]["statistics"] for kind in DIGIT_SETS["ranges"]])
    low, high = np.percentile(pooled, RANGE_PERCENTILES, axis=0)
    gaussian = ood.GaussianModel.fit(pooled, np.zeros(len(pooled)), pooled.shape[1])
    scores = {key: digit_scores(value, low, high, gaussian) for key, value in inside.items()}
    out_scores = {kind: digit_scores(value, low, high, gaussian) for kind, value in outside.items()}
    kinds = list(DIGIT_SETS["test"])
    methods = list(scores["test", "mnist"])
    thresholds = {method: per_kind_threshold({kind: scores["validation", kind][method] for kind in kinds})
                  for method in methods}
    # The Anomaly page flags an image refused by the check or scored above the autoencoder's threshold: its score
    # is the larger of the two, each measured from its threshold in validation standard deviations.
    autoencoder_threshold = float(manifest_lib.model_entry("anomaly")["extra"]["per_format_threshold"][ONNX])
    pair = {DIGIT_SERVED: thresholds[DIGIT_SERVED], "autoencoder_error": autoencoder_threshold}
    spread = {name: float(np.std(np.concatenate([scores["validation", kind][name] for kind in kinds])))
              for name in pair}
    for table in [*scores.values(), *out_scores.values()]:
        with np.errstate(invalid="ignore"):
            table["check_or_autoencoder"] = np.max([(table[name] - pair[name]) / spread[name] for name in pair], axis=0)
    thresholds["check_or_autoencoder"] = 0.0
    comparison = {}
    for method, threshold in thresholds.items():
        test_in = np.concatenate([scores["test", kind][method] for kind in kinds])
        test_out = np.concatenate([table[method] for table in out_scores.values()])
        comparison[method] = figures_with_infinity(test_in, test_out, threshold) | {
            "threshold": round(float(threshold), 4),
            "coverage_by_kind": {kind: round(ood.answered(scores["test", kind][method], threshold), 4)
                                 for kind in kinds}}
        print(f"{method:28s} {comparison[method]}")
    counts = {kind: len(value["inked"]) for kind, value in outside.items()}
    for name, method in (("digits", DIGIT_SERVED), ("anomaly", "check_or_autoencoder")):
        record = digit_record(name, method, thresholds, scores, out_scores, inside, counts, comparison, low, high)
        record["seconds"] = round(time.perf_counter() - start, 1)
        entry = manifest_lib.model_entry(name)
        entry["ood"] = record
        manifest_lib.update_model_entry(entry)


def figures_with_infinity(in_scores, out_scores, threshold) -> dict[str, Any]:
    """``ood.figures``, with the images the recipe calls blank (score infinity) counted as refused."""
    return ood.figures(np.minimum(in_scores, 1e12), np.minimum(out_scores, 1e12), threshold)


def digit_record(name, method, thresholds, scores, out_scores, inside, counts, comparison, low, high):
    """The "ood" record of the Digits (the check) or the Anomaly page (the check or the autoencoder)."""
    kinds = list(DIGIT_SETS["test"])
    threshold = thresholds[method]
    test_in = {kind: scores["test", kind][method] for kind in kinds}
    out = {kind: table[method] for kind, table in out_scores.items()}
    figures = figures_by_kind(np.concatenate(list(test_in.values())), out, threshold)
    figures["all"] = figures_with_infinity(np.concatenate(list(test_in.values())), np.concatenate(list(out.values())),
                                           threshold)
    figures["auroc_by_kind"] = {kind: round(ood.auroc(np.minimum(np.concatenate(list(test_in.values())), 1e12),
                                                      np.minimum(values, 1e12)), 4) for kind, values in out.items()}
    figures["coverage_by_kind"] = {kind: round(ood.answered(values, threshold), 4) for kind, values in test_in.items()}
    validation = np.concatenate([scores["validation", kind][DIGIT_SERVED] for kind in kinds])
    figures["out_of_fold_coverage"] = out_of_fold_coverage(validation, DIGIT_COVERAGE)
    if name == "digits":
        correct = {kind: model_scores(inside["test", kind])["probabilities"].argmax(1) == inside["test", kind]["labels"]
                   for kind in kinds}
        kept = {kind: test_in[kind] <= threshold for kind in kinds}
        everything, answered_correct = np.concatenate(list(correct.values())), np.concatenate(
            [correct[kind][kept[kind]] for kind in kinds])
        figures["accuracy_answered"] = round(float(answered_correct.mean()), 4)
        figures["accuracy_all"] = round(float(everything.mean()), 4)
        figures["accuracy_answered_by_kind"] = {kind: round(float(correct[kind][kept[kind]].mean()), 4) for kind in kinds}
    check_threshold = thresholds[DIGIT_SERVED]
    validation_counts = ", ".join(f"{len(inside['validation', kind]['inked'])} {kind}" for kind in kinds)
    return {
        "method": "ranges of nine statistics of the uploaded image's ink, measured before the MNIST recipe "
                  f"({', '.join(name.replace('_', ' ') for name in digits.INK_STATISTICS)}; showcase.tasks.digits."
                  f"ink_statistics): each range runs from the {RANGE_PERCENTILES[0]}th to the "
                  f"{RANGE_PERCENTILES[1]}th percentile over {sum(len(inside['ranges', k]['inked']) for k in kinds)} "
                  "MNIST training digits, canvas drawings and photos of written digits, and the score is the largest "
                  f"excess over a range, in range widths (above it only for {', '.join(digits.ONLY_ABOVE)}; below "
                  f"it only for {', '.join(digits.ONLY_BELOW)})" + (
                      "; the page also flags what the autoencoder rebuilds worse than its own threshold"
                      if name == "anomaly" else ""),
        "signal": "how far the image's ink statistics fall outside those of handwritten digits, in range widths",
        "threshold": round(float(check_threshold), 4),
        "threshold_rule": f"the smallest score that keeps {DIGIT_COVERAGE:.0%} of each kind of validation digit "
                          f"({validation_counts} images, all made from the last MNIST training digits; nothing out "
                          "of distribution is used to choose it)",
        "ranges": {stat: [round(float(low[i]), 5), round(float(high[i]), 5)]
                   for i, stat in enumerate(digits.INK_STATISTICS)},
        "in_distribution": {"what": "test digits", "split": "MNIST test digits as 28×28 images, drawn on the canvas and photographed on paper "
                                     "(showcase.ood_images.canvas_drawing, digit_photo)",
                            "n": int(sum(len(v) for v in test_in.values())),
                            "counts": {kind: int(len(v)) for kind, v in test_in.items()}},
        "evaluation_set": {"what": "images that are not one handwritten digit",
                           "description": "images that are not one handwritten digit: the real photos of samples/ood/ "
                                          "(source and licence in samples/ood/CREDITS.md), showcase.ood_images' "
                                          "synthetic kinds (seed 0; a flat image is refused as blank by the recipe), "
                                          f"{FASHION_COUNT} Fashion-MNIST test images as they are and "
                                          f"{UPSCALED_PER_DATASET} upscaled, and {SCRIBBLES} scribbles covering the "
                                          "drawing canvas",
                           "counts": counts, "n": int(sum(counts.values()))},
        "figures": figures,
        "reference_format": ONNX,
        "comparison": {"format": ONNX, "served": method,
                       "note": f"each score's threshold keeps {DIGIT_COVERAGE:.0%} of every kind of validation digit; "
                               "range_<statistic> is one statistic's range alone; the autoencoder and digits-model "
                               "scores read the MNIST recipe's 28×28 image; check_or_autoencoder flags what either "
                               "the served check or the autoencoder (its own threshold) flags",
                       "not_compared": "the digits model's energy: the model outputs probabilities only",
                       "methods": comparison},
        "command": f"{COMMAND} digits",
        "created": manifest_lib.utc_now(),
    }


# ## Sentiment: does this read like an English movie review?

SENTIMENT_SEED, SENTIMENT_VALIDATION = 1337, 2500  # the split of training/train_sentiment.py
SENTIMENT_COVERAGE = 0.998
MAX_ENGLISH_WORDS = 40_000
NOT_ENGLISH = paths.SAMPLES_DIR / "sentiment" / "not_english.csv"


def imdb_splits() -> dict[str, list[str]]:
    """IMDB's training reviews split as the sentiment model's training split them (validation: the first 2,500
    of a seeded permutation; the word list and the rates: the rest), and the test reviews."""
    reviews = datasets.imdb(data(datasets.IMDB))
    train = reviews["train"][0]
    order = np.random.default_rng(SENTIMENT_SEED).permutation(len(train))
    return {"fit": [train[i] for i in order[SENTIMENT_VALIDATION:]],
            "validation": [train[i] for i in order[:SENTIMENT_VALIDATION]], "test": reviews["test"][0]}


def review_frequencies(texts: list[str]) -> dict[str, int]:
    """How many of the texts each word (``sentiment.letter_words``) appears in."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in set(sentiment.letter_words(sentiment._TAG.sub(" ", text))):
            counts[word] = counts.get(word, 0) + 1
    return counts


def english_words(frequencies: dict[str, int]) -> list[str]:
    """The ``MAX_ENGLISH_WORDS`` words found in the most reviews (at least ``sentiment.MIN_REVIEWS``), ties
    alphabetical."""
    kept = sorted((word for word, count in frequencies.items() if count >= sentiment.MIN_REVIEWS),
                  key=lambda word: (-frequencies[word], word))
    return kept[:MAX_ENGLISH_WORDS]


def not_english_texts() -> dict[str, list[str]]:
    """The written texts that are not English reviews, by kind (samples/sentiment/not_english.csv)."""
    kinds: dict[str, list[str]] = {}
    with NOT_ENGLISH.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            kinds.setdefault(row["kind"], []).append(row["text"])
    return kinds


def sentiment_scores(check, texts: list[str]) -> dict[str, np.ndarray]:
    """Every signal's score of each text, and the served score (the largest)."""
    table = [check.surprises(text[:sentiment.MAX_CHARACTERS]) for text in texts]
    scores = {name: np.array([row[name] for row in table]) for name in sentiment.SIGNALS}
    scores[SENTIMENT_SERVED] = np.max([scores[name] for name in sentiment.SIGNALS], axis=0)
    return scores


SENTIMENT_SERVED = "largest_signal"


def fit_sentiment() -> None:
    start = time.perf_counter()
    splits = imdb_splits()
    frequencies = review_frequencies(splits["fit"])
    words = english_words(frequencies)
    words_path = paths.MODELS_DIR / "sentiment" / sentiment.ENGLISH_WORDS_FILE
    words_path.write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    known = frozenset(words)
    # A fit review's rates are measured as if it had not helped build the list: a word it contains is known only
    # when enough other reviews contain it too.
    known_elsewhere = frozenset(word for word in words if frequencies[word] > sentiment.MIN_REVIEWS)
    counts = [sentiment.signal_counts(text, known_elsewhere) for text in splits["fit"]]
    rates = {name: sentiment.BetaBinomial.fit([row[name] for row in counts]) for name in sentiment.SIGNALS}
    check = sentiment.EnglishReviewCheck(known, rates, 0.0)
    validation = sentiment_scores(check, splits["validation"])
    test = sentiment_scores(check, splits["test"])
    outside_texts = not_english_texts()
    outside = {kind: sentiment_scores(check, texts) for kind, texts in outside_texts.items()}
    thresholds = {name: ood.threshold_at_coverage(np.minimum(validation[name], 1e12), SENTIMENT_COVERAGE)
                  for name in validation}
    comparison = {}
    for method, threshold in thresholds.items():
        out = np.concatenate([scores[method] for scores in outside.values()])
        comparison[method] = figures_with_infinity(test[method], out, threshold) | {
            "threshold": round(float(threshold), 4),
            "validation_coverage": round(ood.answered(validation[method], threshold), 4)}
        print(f"{method:20s} {comparison[method]}")
    threshold = thresholds[SENTIMENT_SERVED]
    out = {kind: np.minimum(scores[SENTIMENT_SERVED], 1e12) for kind, scores in outside.items()}
    test_scores = np.minimum(test[SENTIMENT_SERVED], 1e12)
    figures = figures_by_kind(test_scores, out, threshold)
    figures["validation_coverage"] = round(ood.answered(validation[SENTIMENT_SERVED], threshold), 4)
    figures["out_of_fold_coverage"] = out_of_fold_coverage(np.minimum(validation[SENTIMENT_SERVED], 1e12),
                                                           SENTIMENT_COVERAGE)
    figures["refused_by_signal"] = {name: round(float(np.mean(np.concatenate([s[name] for s in outside.values()])
                                                              > threshold)), 4) for name in sentiment.SIGNALS}
    entry = manifest_lib.model_entry("sentiment")
    counts_by_kind = {kind: len(texts) for kind, texts in outside_texts.items()}
    entry["ood"] = {
        "method": "five counts of the text, each judged against how it varies over English IMDB reviews: "
                  + "; ".join(what for what, _ in sentiment.SIGNALS.values())
                  + f". Each count's surprise is -log10 of its beta-binomial tail probability (counts of texts longer "
                  f"than {sentiment.MAX_COUNTED} scaled to {sentiment.MAX_COUNTED}; the beta of each rate fitted by "
                  f"moments on the {len(splits['fit']):,} fit reviews), the score is the largest surprise, and a "
                  "text without a single word in letters is refused. The check reads the text alone (an English "
                  f"word list of {len(words):,} words found in at least {sentiment.MIN_REVIEWS} of the fit reviews, "
                  "and a fixed list of English function words), never the model, so it is the same in every format",
        "signal": check.signal,
        "threshold": float(threshold),  # not rounded: the scores of short texts tie, some at the threshold
        "threshold_rule": f"the smallest score that keeps {SENTIMENT_COVERAGE:.1%} of the {SENTIMENT_VALIDATION:,} "
                          f"validation reviews (the first {SENTIMENT_VALIDATION:,} of a seed-{SENTIMENT_SEED} "
                          "permutation of the IMDB training reviews, as training/train_sentiment.py splits them; not "
                          "used for the word list or the rates; nothing out of distribution is used to choose it)",
        "artifact": file_record(words_path),
        "word_list": {"words": len(words), "min_reviews": sentiment.MIN_REVIEWS, "max_words": MAX_ENGLISH_WORDS,
                      "built_from": f"the {len(splits['fit']):,} IMDB training reviews outside the validation ones"},
        "rates": {name: {"alpha": rate.alpha, "beta": rate.beta,
                         "mean": round(rate.alpha / (rate.alpha + rate.beta), 6),
                         "unusual_when": "high" if sentiment.SIGNALS[name][1] else "low"}
                  for name, rate in rates.items()},
        "in_distribution": {"what": "IMDB test reviews", "split": "the IMDB test reviews, all of them as loaded",
                            "n": len(splits["test"])},
        "validation": {"n": SENTIMENT_VALIDATION, "coverage": figures["validation_coverage"]},
        "evaluation_set": {"what": "texts that are not English reviews",
                           "description": "samples/sentiment/not_english.csv: short reviews written in 17 other "
                                          "languages, gibberish, keyboard mash, lorem ipsum, source code, web "
                                          "addresses, JSON, emoji, digits, base64 and hex",
                           "counts": counts_by_kind, "n": int(sum(counts_by_kind.values()))},
        "figures": figures,
        "reference_format": ONNX,
        "comparison": {"format": "any (the check reads the text alone)", "served": SENTIMENT_SERVED,
                       "note": f"each score's threshold keeps {SENTIMENT_COVERAGE:.1%} of the validation reviews; "
                               "a signal alone, or the largest of the five (served)",
                       "methods": comparison},
        "seconds": round(time.perf_counter() - start, 1),
        "command": f"{COMMAND} sentiment",
        "created": manifest_lib.utc_now(),
    }
    manifest_lib.update_model_entry(entry)
    print(json.dumps({key: entry["ood"][key] for key in ("threshold", "figures", "artifact")}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=("flowers", "digits", "sentiment"),
                        help="digits fits the check shared by the Digits and Anomaly pages and records it in both")
    arguments = parser.parse_args()
    {"flowers": fit_flowers, "digits": fit_digits, "sentiment": fit_sentiment}[arguments.model]()


if __name__ == "__main__":
    main()
