"""Model cards (Mitchell et al. 2019, "Model Cards for Model Reporting") generated from the manifest.

    python -m showcase.model_cards               # write docs/model_cards/<name>.md for every model
    python -m showcase.model_cards --bootstrap   # first measure the anomaly model's ROC-AUC bootstrap intervals

A card's figures all come from ``models/manifest.json``: accuracies and other proportions get a 95% Wilson score
interval from their value and their n; the anomaly model's ROC-AUCs get a bootstrap interval, which needs every
test image's score, so ``--bootstrap`` scores MNIST test and its anomaly sets with the committed TFLite model and
records the intervals (with that artifact's sha256) under ``metrics.intervals`` of the manifest entry. What the
manifest cannot hold (what a model is for, what it is not for, its caveats) is written below, per model.

Every model page shows the same card in "How this model works" (``sections``); ``tests/unit/test_model_cards.py``
fails when a committed card differs from what the manifest gives now.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from showcase import manifest as manifest_lib
from showcase import paths
from showcase.formats import FORMAT_LABELS, TFLITE

CARDS_DIR = paths.REPO_ROOT / "docs" / "model_cards"
Z_95 = 1.959964
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_COMMAND = "python -m showcase.model_cards --bootstrap"
REFERENCE = ('Mitchell et al. (2019), "Model Cards for Model Reporting" '
             "([arXiv:1810.03993](https://arxiv.org/abs/1810.03993))")

# What each model is for and not for, and what a reader should keep in mind: judgement, not measurement.
USES: dict[str, dict[str, Any]] = {
    "digits": {
        "intended": "Reading one handwritten digit (0–9) drawn on the page's canvas or photographed alone on a "
                    "plain background, to demonstrate a small CNN and its export formats.",
        "out_of_scope": ["Reading several digits, letters or whole numbers (the model always answers one of ten "
                         "digits, whatever it is shown).",
                         "Cheques, forms, postcodes or any decision about a person: MNIST's writers are US Census "
                         "employees and students, not a sample of everyone's handwriting."],
        "caveats": ["A drawing that is not a digit still gets a confident digit; the Anomaly page shows how to "
                    "tell."],
    },
    "flowers": {
        "intended": "Naming which of five flowers (daisy, dandelion, rose, sunflower, tulip) a photo shows, with a "
                    "“not sure” answer below the confidence at which validation photos were 97% right.",
        "out_of_scope": ["Any other plant or object: the model knows only five classes and picks one of them.",
                         "Identifying edible or poisonous plants, or any decision with consequences."],
        "caveats": ["The photos come from Flickr: mostly close-ups in daylight, taken by hobbyists.",
                    "The accuracy is measured on a 20% validation split, also used to choose the “not sure” "
                    "threshold and the temperature (cross-fitted), so it is slightly optimistic."],
    },
    "sentiment": {
        "intended": "Saying whether an English movie review is positive or negative, and which words pushed it "
                    "which way.",
        "out_of_scope": ["Non-movie text (product reviews, tweets, news, medical or legal text): the vocabulary and "
                         "the word weights come from IMDB reviews only.",
                         "Languages other than English, sarcasm, or neutral texts (IMDB's reviews are polar: ≤4 or "
                         "≥7 stars).",
                         "Moderating, ranking or judging people by what they wrote."],
        "caveats": ["Names are replaced by one token so that actors' names carry no sentiment, but other words "
                    "learned from the reviews (genres, titles) can still carry some."],
    },
    "forecast": {
        "intended": "Showing what an honest probabilistic forecast of a daily stock price looks like: a median "
                    "and an 80% interval for the next 30 trading days, beside the naive baselines.",
        "out_of_scope": ["Investment advice or trading: daily prices are close to a random walk and the median "
                         "barely beats the last price.",
                         "Prices of other assets, intraday data, or periods unlike 2000–2013 without checking the "
                         "interval's coverage there first."],
        "caveats": ["The windows overlap (one per trading day), so neighbouring test errors are correlated and "
                    "the Wilson intervals below, which assume independent windows, are too narrow.",
                    "Four large US technology stocks only; their 2012–2013 test period was calm."],
    },
    "anomaly": {
        "intended": "Flagging an image that is not a handwritten digit in MNIST's layout (28×28, white on black, "
                    "centred), by how badly an autoencoder trained on digits rebuilds it.",
        "out_of_scope": ["Security, fraud or quality-control decisions.",
                         "Images unlike MNIST digits in layout: a photo or drawing is first put through the Digits "
                         "recipe, and after it the detector separates digits from clothing far less well (below)."],
        "caveats": ["The threshold is the 99th percentile of held-out digits' scores, so about 1% of real digits "
                    "are flagged by design."],
    },
    "gan": {
        "intended": "Drawing a requested digit in MNIST's style, reproducibly from a seed, and walking between "
                    "two seeds to show a continuous latent space.",
        "out_of_scope": ["Data augmentation or synthetic data for another model without checking it: the quality "
                         "is judged by one classifier and one feature space.",
                         "Generating anything but digits."],
        "caveats": ["“Read as requested” is measured with the project's own Digits model, which may share the "
                    "generator's blind spots; the Fréchet distance uses that model's features, not Inception's."],
    },
}


# ## Intervals


def wilson_interval(share: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``share`` observed over ``n`` independent trials."""
    if n <= 0 or not 0 <= share <= 1:
        raise ValueError(f"A Wilson interval needs a share in [0, 1] and n ≥ 1, got {share!r} and {n!r}.")
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_auc_interval(normal: np.ndarray, anomalous: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                           seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the ROC-AUC over ``resamples`` stratified bootstrap resamples."""
    from showcase.tasks.anomaly import roc_auc

    rng = np.random.default_rng(seed)
    values = [roc_auc(rng.choice(normal, normal.size), rng.choice(anomalous, anomalous.size))
              for _ in range(resamples)]
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def measure_anomaly_intervals(manifest: dict[str, Any]) -> dict[str, Any]:
    """Bootstrap intervals of every ROC-AUC of the anomaly model, from its TFLite scores of the test sets."""
    from showcase import datasets, runtime
    from showcase.tasks import anomaly
    from showcase.tasks import digits as digit_preprocessing

    entry = manifest["models"]["anomaly"]
    mnist, fashion = paths.shared_file("data/mnist.npz"), Path("/usr/share/datasets/fashion-mnist")
    if mnist is None or not fashion.exists():
        raise FileNotFoundError(f"The bootstrap needs {paths.SHARED_DIR / 'data/mnist.npz'} and {fashion} "
                                "(Debian package dataset-fashion-mnist).")
    x_test = datasets.mnist(mnist)[1][0]
    predictor = runtime.load("anomaly", TFLITE, manifest)

    def scores(images: np.ndarray) -> np.ndarray:
        batch = images.reshape(-1, 28, 28, 1).astype(np.float32)
        rebuilt = np.concatenate([predictor.predict(part) for part in np.array_split(batch, len(batch) // 500)])
        return anomaly.reconstruction_error(batch, rebuilt)

    normal = scores(digit_preprocessing.to_model_input(x_test)[..., 0])
    intervals = {}
    for kind, images in anomaly.anomaly_sets(x_test, datasets.fashion_mnist_test(fashion),
                                             entry["training"]["seed"]).items():
        anomalous = scores(images)
        low, high = bootstrap_auc_interval(normal, anomalous)
        intervals[f"roc_auc_{kind}"] = {
            "low": round(low, 5), "high": round(high, 5), "value": round(anomaly.roc_auc(normal, anomalous), 5),
            "method": "stratified bootstrap: 2.5th and 97.5th percentiles", "resamples": BOOTSTRAP_RESAMPLES,
            "seed": BOOTSTRAP_SEED,
            "n": [int(normal.size), int(anomalous.size)], "format": TFLITE,
            "artifact_sha256": entry["artifacts"][TFLITE]["sha256"], "command": BOOTSTRAP_COMMAND,
        }
    return intervals


def record_anomaly_intervals() -> None:
    manifest = manifest_lib.load_manifest()
    entry = manifest["models"]["anomaly"]
    entry["metrics"]["intervals"] = measure_anomaly_intervals(manifest)
    manifest_lib.update_model_entry(entry)


# ## The card's parts


def percent(value: float, digits: int = 2) -> str:
    return f"{100 * value:.{digits}f}%"


def interval_text(low: float, high: float, as_percent: bool = True) -> str:
    return f"{percent(low)} – {percent(high)}" if as_percent else f"{low:.4f} – {high:.4f}"


def wilson_row(name: str, share: float, n: int) -> str:
    low, high = wilson_interval(share, n)
    return f"| {name} | {percent(share)} | {n:,} | {interval_text(low, high)} | Wilson score |"


def recorded_interval(entry: dict[str, Any], metric: str) -> dict[str, Any] | None:
    """The bootstrap interval the manifest holds for ``metric``, if it was measured on the committed artifact."""
    interval = entry["metrics"].get("intervals", {}).get(metric)
    if interval and interval["artifact_sha256"] == entry["artifacts"][interval["format"]]["sha256"]:
        return interval
    return None


def auc_row(entry: dict[str, Any], metric: str, name: str) -> str:
    value = entry["metrics"]["values"][metric]
    interval = recorded_interval(entry, metric)
    if interval is None:
        return f"| {name} | {value:.4f} | 10,000 + 10,000 | not measured: run `{BOOTSTRAP_COMMAND}` | — |"
    counts = " + ".join(f"{count:,}" for count in interval["n"])
    return (f"| {name} | {value:.4f} | {counts} | {interval_text(interval['low'], interval['high'], False)} | "
            f"bootstrap ({interval['resamples']:,} resamples, "
            f"{FORMAT_LABELS[interval['format']].split(' (')[0]} scores) |")


METRICS_HEADER = "| metric | value | n | 95% interval | interval |\n|---|---:|---:|---|---|"


def classifier_metrics(entry: dict[str, Any]) -> list[str]:
    metrics = entry["metrics"]
    rows = [wilson_row("accuracy", metrics["values"]["accuracy"], metrics["n"])]
    rows += [f"| {name.replace('_', ' ')} | {percent(value)} | — | — | n not recorded |"
             for name, value in metrics["values"].items() if name in ("precision", "recall")]
    if "accuracy_after_app_preprocessing" in metrics["values"]:
        rows.append(wilson_row("accuracy after the page's preprocessing",
                               metrics["values"]["accuracy_after_app_preprocessing"], metrics["n"]))
    return rows


def per_class_recall(entry: dict[str, Any], what: str) -> list[str]:
    matrix = np.asarray(entry["extra"]["confusion_matrix"])
    lines = [f"Recall per {what} (the share of each true class read correctly), from the confusion matrix:", "",
             "| class | recall | n | 95% Wilson interval |", "|---|---:|---:|---|"]
    for label, row, correct in zip(entry["labels"], matrix, np.diag(matrix)):
        share, n = correct / row.sum(), int(row.sum())
        lines.append(f"| {label} | {percent(share)} | {n:,} | {interval_text(*wilson_interval(share, n))} |")
    return lines


def calibration_line(entry: dict[str, Any]) -> list[str]:
    record = entry.get("calibration")
    if not record:
        return []
    reference = record["per_format"][record["fitted_on"]["reference_format"]]
    return [f"Confidences are temperature-scaled (T = {record['temperature']:.3g}); expected calibration error on "
            f"{record['report_split']['split']}: {percent(reference['before']['ece'])} before, "
            f"{percent(reference['after']['ece'])} after."]


# ## Per model: metrics, per-group results and measured failure modes


def digits_parts(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    values = entry["metrics"]["values"]
    failures = [
        f"Through the page's own preprocessing (crop to the ink, scale, centre) the test accuracy is "
        f"{percent(values['accuracy_after_app_preprocessing'])} instead of {percent(values['accuracy'])}.",
        "Shifted by 3 pixels or drawn with thicker strokes, at least 98% of 2,000 test digits keep their label "
        "(`tests/model/test_digits_model.py`, which fails below that).",
    ]
    return classifier_metrics(entry), per_class_recall(entry, "digit"), failures


def flowers_parts(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    per_class = entry["extra"]["per_class"]
    groups = ["| class | precision | recall | n | recall 95% Wilson interval |", "|---|---:|---:|---:|---|"]
    for label, figures in per_class.items():
        interval = interval_text(*wilson_interval(figures["recall"], figures["support"]))
        groups.append(f"| {label} | {percent(figures['precision'])} | {percent(figures['recall'])} | "
                      f"{figures['support']} | {interval} |")
    not_sure = entry["extra"]["not_sure"]
    weakest = min(per_class, key=lambda label: per_class[label]["recall"])
    failures = [
        f"Below the “not sure” threshold ({not_sure['threshold']:.0%} confidence) validation predictions are "
        f"right only {percent(not_sure['accuracy_below'])} of the time, against {percent(not_sure['accuracy_above'])} "
        f"above it; {percent(1 - not_sure['coverage'])} of validation photos fall below.",
        f"The weakest class is {weakest} (recall {percent(per_class[weakest]['recall'])}).",
        "A horizontally flipped sample keeps its label (`tests/model/test_flowers_model.py`).",
    ]
    return classifier_metrics(entry), groups, failures


def sentiment_parts(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    rejected = entry["extra"].get("tflite_int8_rejected")
    failures = [
        "Negation lowers the score, and swapping person names in a review barely moves it "
        "(`tests/model/test_sentiment_model.py`).",
        "The model adds up the weights of n-grams of one to three words: it sees negation inside a phrase "
        "(“not good”), but not across sentences (“I expected it to be good. It wasn't.”) or sarcasm.",
    ]
    if rejected:
        failures.append(f"A full-int8 model was rejected: its accuracy ({percent(rejected['accuracy'])}) was fine, "
                        f"but it moved some reviews' probability by up to "
                        f"{rejected['max_abs_probability_difference']:.2f}.")
    return classifier_metrics(entry), ["No per-group results are recorded (IMDB has no groups beyond the label)."], \
        failures


def forecast_parts(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    from showcase.tasks import forecast

    values = entry["metrics"]["values"]
    rows = entry["extra"]["metrics_table"]
    lstm = [row for row in rows if row["method"] == "lstm"]
    metrics = []
    for days in forecast.EVALUATION_HORIZONS:
        n = sum(row["n"] for row in lstm if row["horizon"] == days)
        ahead = f"{days} trading day{'s' if days != 1 else ''} ahead"
        metrics.append(wilson_row(f"80% interval coverage, {ahead}", values[f"coverage_80_h{days}"], n))
        metrics.append(f"| MAPE of the median, {ahead} (naive: {values[f'naive_mape_h{days}']:.2f}%) | "
                       f"{values[f'lstm_mape_h{days}']:.2f}% | {n:,} | — | — |")
    groups = ["| ticker | horizon (days) | n | 80% coverage | 95% Wilson interval | MAPE LSTM | MAPE naive |",
              "|---|---:|---:|---:|---|---:|---:|"]
    naive = {(row["ticker"], row["horizon"]): row for row in rows if row["method"] == "naive"}
    for row in lstm:
        interval = interval_text(*wilson_interval(row["coverage_80"], row["n"]))
        groups.append(f"| {row['ticker']} | {row['horizon']} | {row['n']} | {percent(row['coverage_80'], 1)} | "
                      f"{interval} | {row['mape']:.2f}% | {naive[(row['ticker'], row['horizon'])]['mape']:.2f}% |")
    test = forecast.held_out_test(rows)
    failures = [f"The median loses to a naive baseline in {test.losses} of {test.comparisons} comparisons on the test "
                "period (ticker × horizon × error measure × baseline).",
                f"At 20 days the 80% interval covers {percent(values['coverage_80_h20'], 1)} of prices: too narrow "
                "far ahead."]
    return metrics, groups, failures


def anomaly_parts(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    values = entry["metrics"]["values"]
    n = entry["metrics"]["n"]
    kinds = {"fashion_mnist": "Fashion-MNIST test images", "gaussian_noise": "digits with Gaussian noise",
             "occlusion_blocks": "digits with occlusion blocks", "inverted": "inverted digits"}
    metrics = [auc_row(entry, f"roc_auc_{kind}", f"ROC-AUC, test digits vs {label}")
               for kind, label in kinds.items()]
    metrics.append(wilson_row("test digits flagged (false positive rate)",
                              values["false_positive_rate_test_digits"], n))
    groups = ["| anomalies | recall at the threshold | n | 95% Wilson interval | precision |",
              "|---|---:|---:|---|---:|"]
    for kind, label in kinds.items():
        recall = values[f"recall_{kind}"]
        groups.append(f"| {label} | {percent(recall)} | {n:,} | {interval_text(*wilson_interval(recall, n))} | "
                      f"{percent(values[f'precision_{kind}'])} |")
    failures = [
        f"Put through the Digits page's recipe (as drawings and photos are), Fashion-MNIST images look far more like "
        f"digits: ROC-AUC {values['roc_auc_fashion_mnist_after_app_preprocessing']:.4f}, recall "
        f"{percent(values['recall_fashion_mnist_after_app_preprocessing'])}, and "
        f"{percent(values['false_positive_rate_test_digits_after_app_preprocessing'])} of test digits are flagged.",
        f"Occlusion blocks are the hardest corruption: recall {percent(values['recall_occlusion_blocks'])}.",
    ]
    return metrics, groups, failures


def gan_parts(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    values, extra = entry["metrics"]["values"], entry["extra"]
    generated, floor = values["frechet_distance_generated_vs_test"], values["frechet_distance_train_vs_test_floor"]
    per_digit_n = entry["metrics"]["n"] // 10
    metrics = [wilson_row("generated digits read as requested", values["digit_accuracy"], entry["metrics"]["n"]),
               f"| mean confidence in the requested digit | {percent(values['mean_confidence_in_requested_digit'])} "
               f"| {entry['metrics']['n']:,} | — | — |",
               f"| Fréchet distance, generated vs test (floor: train vs test {floor}) | {generated} | 10,000 | — | — |"]
    groups = ["| digit | read as requested | n | 95% Wilson interval |", "|---|---:|---:|---|"]
    for digit, share in enumerate(extra["digit_accuracy_per_digit"]):
        groups.append(f"| {digit} | {percent(share, 1)} | {per_digit_n:,} | "
                      f"{interval_text(*wilson_interval(share, per_digit_n))} |")
    weakest = int(np.argmin(extra["digit_accuracy_per_digit"]))
    failures = [f"The hardest digit is {weakest}: {percent(extra['digit_accuracy_per_digit'][weakest], 1)} read as "
                "requested.",
                f"The Fréchet distance is {generated / floor:.1f}× "
                "the floor between two sets of real digits: the samples are recognisable but not yet "
                "indistinguishable from real ones."]
    return metrics, groups, failures


PARTS: dict[str, Callable[[dict[str, Any]], tuple[list[str], list[str], list[str]]]] = {
    "digits": digits_parts, "flowers": flowers_parts, "sentiment": sentiment_parts, "forecast": forecast_parts,
    "anomaly": anomaly_parts, "gan": gan_parts,
}


# ## The card


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def sections(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """The card's sections as (title, Markdown body), in the order of Mitchell et al."""
    name = entry["name"]
    metrics, groups, failures = PARTS[name](entry)
    uses = USES[name]
    training, data = entry["training"], entry["data"]
    artifacts = "; ".join(f"{FORMAT_LABELS.get(format_name, format_name)} {record['bytes'] / 1e6:.2f} MB"
                          for format_name, record in entry["artifacts"].items())
    tflite = entry["artifacts"].get(TFLITE, next(iter(entry["artifacts"].values())))
    details = [
        f"{entry['task'].capitalize()}. {entry['architecture']} {entry['parameters']:,} parameters.",
        f"Version: trained {entry['created']}; TFLite sha256 `{tflite['sha256'][:16]}…`.",
        f"Formats: {artifacts}.",
        f"Training: {training['seconds'] / 60:.1f} minutes"
        + (f", {training['epochs']} epochs" if "epochs" in training else "")
        + f", seed {training['seed']}, on {training.get('machine', 'an unrecorded machine')}; "
        f"reproduce with `{training['command']}`.",
        "Libraries: " + ", ".join(f"{package} {version}" for package, version in entry["versions"].items()) + ".",
        "Licence: code MIT; the weights are derived from the training data below, under its licence.",
    ]
    evaluation = entry["metrics"]
    return [
        ("Model details", bullets(details)),
        ("Intended use", uses["intended"]),
        ("Out-of-scope uses", bullets(uses["out_of_scope"])),
        ("Training data", f"{data['description']} Source: {data['source']}. Licence: {data['license']}."),
        ("Evaluation data", f"{evaluation['dataset']}, {evaluation['split']} split, n = {evaluation['n']:,}, never "
                            "used for training. Same source and licence as the training data."),
        ("Metrics", "95% intervals: Wilson score intervals for proportions (accuracies, coverage, recall), from the "
                    "value and its n; a bootstrap for ROC-AUC. “—”: no interval (a mean or a distance, or an n "
                    "the manifest does not record).\n\n" + METRICS_HEADER + "\n" + "\n".join(metrics)),
        *([("Compared with", comparison_table(entry))] if entry.get("extra", {}).get("baselines") else []),
        ("Per-group results", "\n".join(groups)),
        ("Known failure modes (measured)", bullets(failures)),
        ("Caveats and recommendations", bullets(uses["caveats"] + calibration_line(entry))),
    ]


# The baselines' names in the sentiment entry's ``extra.baselines`` (training/train_sentiment.py), as a table shows them.
BASELINE_NAMES = {
    "tfidf_lr_uni_bi": "TF-IDF logistic regression, unigrams + bigrams",
    "nb_lr_uni_bi": "NB-weighted logistic regression, unigrams + bigrams",
    "nb_lr_uni_bi_tri": "NB-weighted logistic regression, unigrams + bigrams + trigrams",
}
# Figures from the literature on the same IMDB split (25,000 test reviews), for the comparison table.
PUBLISHED_SENTIMENT = [
    ("NBSVM-bi, published", 0.9122, "Wang & Manning 2012, “Baselines and Bigrams”"),
    ("NBSVM with trigrams, published", 0.9187, "Mesnil et al. 2015, “Ensemble of Generative and Discriminative "
                                              "Techniques for Sentiment Analysis of Movie Reviews”"),
]


def comparison_table(entry: dict[str, Any]) -> str:
    """The served model beside the baselines measured in its training run, the comparison models recorded with
    it and the published figures, as a Markdown table."""
    extra, metrics = entry["extra"], entry["metrics"]
    rows = [(f"**{entry['title']} (served)**", metrics["values"]["accuracy"], entry["training"]["command"])]
    rows += [(BASELINE_NAMES.get(name, name), figures["accuracy"], figures["source"])
             for name, figures in extra["baselines"].items()]
    transformer = extra.get("transformer")
    if transformer:
        rows.append((f"Transformer encoder ({transformer['parameters']:,} parameters)", transformer["accuracy"],
                     transformer["command"]))
    lines = [f"{metrics['dataset']} {metrics['split']} accuracy, n = {metrics['n']:,}; rows without “published” were "
             "measured here on the same words and split.", "", "| model | accuracy | source |", "|---|---|---|"]
    lines += [f"| {name} | {percent(accuracy)} | {source} |" for name, accuracy, source in rows]
    lines += [f"| {name} | {percent(accuracy)} | {source} |" for name, accuracy, source in PUBLISHED_SENTIMENT]
    return "\n".join(lines)


def markdown(entry: dict[str, Any]) -> str:
    """The whole card as one Markdown document, as committed in ``docs/model_cards/<name>.md``."""
    header = (f"# Model card: {entry['title']}\n\nGenerated from `models/manifest.json` by "
              f"`python -m showcase.model_cards`; do not edit by hand. Sections follow {REFERENCE}.\n")
    return header + "".join(f"\n## {title}\n\n{body}\n" for title, body in sections(entry))


def card_path(name: str) -> Path:
    return CARDS_DIR / f"{name}.md"


def write_cards(manifest: dict[str, Any], folder: Path = CARDS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, entry in manifest["models"].items():
        if name in PARTS:
            path = folder / f"{name}.md"
            path.write_text(markdown(entry))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m showcase.model_cards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", action="store_true",
                        help="first measure the anomaly model's ROC-AUC bootstrap intervals into the manifest")
    args = parser.parse_args(argv)
    if args.bootstrap:
        record_anomaly_intervals()
    for path in write_cards(manifest_lib.load_manifest()):
        print(path)


if __name__ == "__main__":
    main()
