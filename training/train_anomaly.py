"""Anomaly detection: a convolutional autoencoder that learns what handwritten digits look like.

Run:
    python training/train_anomaly.py --data ../shared/data/mnist.npz \
        --fashion /usr/share/datasets/fashion-mnist

Without ``--data`` (or ``$MNIST_NPZ``) MNIST is downloaded through ``keras.datasets``; without ``--fashion``
(or ``$FASHION_MNIST_DIR``) Fashion-MNIST is too. The autoencoder squeezes each 28×28 digit through a
32-number bottleneck and rebuilds it. It only learns to rebuild digits, so the reconstruction error of an
image (``showcase.tasks.anomaly.reconstruction_error``) is its anomaly score. The threshold is the 99th
percentile of the scores of held-out validation digits. Detection quality is measured on the MNIST test
digits (normal) against Fashion-MNIST test images and three corruptions of the test digits (anomalies).

Writes models/anomaly/{savedmodel,model.tflite,model_int8.tflite,model.onnx}, two sample inputs in
samples/anomaly/, and the "anomaly" entry of models/manifest.json.
"""

# ## Setup

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from common import (
    FORMATS,
    MNIST_LICENSE,
    MNIST_SOURCE,
    data_path,
    evaluate_formats,
    load_mnist,
    manifest_entry,
    start_run,
    training_record,
)
from keras import layers
from PIL import Image

from showcase import datasets, paths, runtime
from showcase import manifest as manifest_lib
from showcase.export import export_all
from showcase.formats import ONNX, SAVEDMODEL, TFLITE
from showcase.tasks import anomaly
from showcase.tasks import digits as digit_preprocessing

SEED = 1337
VALIDATION_SIZE = 5000
BATCH_SIZE = 128
LATENT_SIZE = 32
COMMAND = "python training/train_anomaly.py --data ../shared/data/mnist.npz --fashion /usr/share/datasets/fashion-mnist"
FASHION_URL = "https://github.com/zalandoresearch/fashion-mnist"
CORRUPTION_DESCRIPTIONS = {
    "gaussian_noise": f"add N(0, {anomaly.NOISE_SIGMA}²) to every pixel, clip to [0, 1]",
    "occlusion_blocks": f"{anomaly.OCCLUSION_BLOCKS} solid squares, side {anomaly.OCCLUSION_SIZE[0]}-"
    f"{anomaly.OCCLUSION_SIZE[1]} px, grey level uniform in {list(anomaly.OCCLUSION_LEVEL)}, random positions",
    "inverted": "1 - pixel (black ink on white)",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to mnist.npz (keras load_data layout); default: $MNIST_NPZ or download")
    parser.add_argument("--fashion", help="folder with Fashion-MNIST's t10k-images-idx3-ubyte.gz; "
                        "default: $FASHION_MNIST_DIR or download")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--evaluate-only", action="store_true",
                        help="skip training: re-evaluate the committed artifacts and rewrite the manifest's figures")
    return parser.parse_args()


# ## Data


def load_fashion_test(folder: Path | None) -> np.ndarray:
    """The 10,000 Fashion-MNIST test images, uint8 (10000, 28, 28), white objects on black like MNIST."""
    if folder is None:
        return keras.datasets.fashion_mnist.load_data()[1][0]
    return datasets.fashion_mnist_test(folder)


def severity_sweep_sets(x_test: np.ndarray) -> dict[str, np.ndarray]:
    """Weaker and stronger corruptions of the first 2,000 test digits, to show where detection stops working."""
    digits = digit_preprocessing.to_model_input(x_test[:2000])[..., 0]
    rng = np.random.default_rng(SEED + 1)
    sets = {f"gaussian_noise_sigma_{sigma}": anomaly.gaussian_noise(digits, rng, sigma)
            for sigma in (0.05, 0.1, 0.2, 0.5)}
    sets["occlusion_one_block"] = anomaly.occlusion_blocks(digits, rng, blocks=1)
    sets["occlusion_black_blocks"] = anomaly.occlusion_blocks(digits, rng, level=(0.0, 0.0))
    return sets


# ## Model


def build_model():
    """Encoder: two strided convolutions (28 -> 14 -> 7) and a dense 32-number bottleneck.
    Decoder: the mirror image, two transposed convolutions back to 28×28 and a sigmoid.

    The narrow bottleneck is what makes the score work: a network that could copy any image through
    would rebuild fashion items as well as digits.
    """
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    latent = layers.Dense(LATENT_SIZE, name="latent")(x)
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="digit_autoencoder")


# ## Train


def train(model, x_train, x_validation, epochs):
    train_data = (
        tf.data.Dataset.from_tensor_slices((x_train, x_train))
        .shuffle(len(x_train), seed=SEED)
        .batch(BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    steps = epochs * len(train_data)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.MeanSquaredError())
    model.fit(train_data, validation_data=(x_validation, x_validation), batch_size=512, epochs=epochs, verbose=2)


# ## Evaluate


def scores_of(predictor, images: np.ndarray) -> np.ndarray:
    batch = images.reshape(-1, 28, 28, 1).astype(np.float32)
    parts = np.array_split(batch, max(1, len(batch) // 1000))
    reconstructions = np.concatenate([predictor.predict(part) for part in parts])
    return anomaly.reconstruction_error(batch, reconstructions)


def detection_metrics(scores: dict[str, np.ndarray], threshold: float) -> dict[str, dict[str, float]]:
    return {
        name: anomaly.detection_report(scores["digits"], values, threshold)
        for name, values in scores.items()
        if name not in ("validation", "digits")
    }


def max_relative_difference(scores: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> float:
    return max(float(np.max(np.abs(scores[name] - reference[name]) / reference[name])) for name in reference)


def evaluate_and_record(entry, x_validation, x_test, fashion) -> None:
    """Score every evaluation set with every format; write metrics, threshold and histograms to the manifest."""
    evaluation_sets = {"validation": x_validation, "digits": digit_preprocessing.to_model_input(x_test)[..., 0],
                       **anomaly.anomaly_sets(x_test, fashion, SEED)}

    def scores_per_set(predictor):
        return {name: scores_of(predictor, images) for name, images in evaluation_sets.items()}

    def format_figures(format_scores, reference):
        threshold = anomaly.choose_threshold(reference["validation"])
        detection = detection_metrics(format_scores, threshold)
        figures = {f"roc_auc_{kind}": report["roc_auc"] for kind, report in detection.items()}
        figures["max_relative_score_difference_vs_savedmodel"] = max_relative_difference(format_scores, reference)
        return figures

    per_format, scores = evaluate_formats("anomaly", FORMATS, scores_per_set, format_figures)
    reference = scores[SAVEDMODEL]
    threshold = anomaly.choose_threshold(reference["validation"])
    metrics = detection_metrics(reference, threshold)

    # The app feeds drawings and photos through the Digits page's MNIST recipe (crop, rescale to 20 px,
    # recentre); measure what that does to test digits and to Fashion-MNIST when both go through it.
    savedmodel = runtime.load("anomaly", SAVEDMODEL)
    recipe_digits = scores_of(savedmodel, np.stack([digit_preprocessing.prepare_digit(image) for image in x_test]))
    recipe_fashion = scores_of(savedmodel, np.stack([digit_preprocessing.prepare_digit(image) for image in fashion]))
    after_recipe = anomaly.detection_report(recipe_digits, recipe_fashion, threshold)
    sweep = {name: anomaly.detection_report(reference["digits"][:2000], scores_of(savedmodel, images), threshold)
             for name, images in severity_sweep_sets(x_test).items()}

    values = {f"roc_auc_{kind}": figures["roc_auc"] for kind, figures in metrics.items()}
    for kind, figures in metrics.items():
        values[f"precision_{kind}"] = figures["precision"]
        values[f"recall_{kind}"] = figures["recall"]
    values["false_positive_rate_test_digits"] = metrics["fashion_mnist"]["false_positive_rate"]
    values["false_positive_rate_test_digits_after_app_preprocessing"] = after_recipe["false_positive_rate"]
    values["roc_auc_fashion_mnist_after_app_preprocessing"] = after_recipe["roc_auc"]
    values["recall_fashion_mnist_after_app_preprocessing"] = after_recipe["recall"]
    values["threshold"] = round(threshold, 6)
    entry["metrics"]["values"] = values
    entry["metrics"]["per_format"] = per_format
    fp32_difference = max(per_format[name]["max_relative_score_difference_vs_savedmodel"] for name in (TFLITE, ONNX))
    entry["extra"] = {
        "score": "mean squared reconstruction error per image (showcase.tasks.anomaly.reconstruction_error)",
        "threshold": threshold,
        "threshold_rule": f"{anomaly.THRESHOLD_PERCENTILE:g}th percentile of the {len(x_validation)} "
        "validation digits' scores",
        # The int8 model's scores are systematically different; it gets its own threshold by the same rule.
        "per_format_threshold": {name: anomaly.choose_threshold(format_scores["validation"])
                                 for name, format_scores in scores.items()},
        "max_relative_score_difference_fp32_formats": fp32_difference,
        "detection": metrics,
        "corruptions": CORRUPTION_DESCRIPTIONS,
        "severity_sweep": sweep,
        "fashion_mnist_after_app_preprocessing": after_recipe,
        "histograms": {
            "validation_digits": anomaly.log_histogram(reference["validation"]),
            "test_digits": anomaly.log_histogram(reference["digits"]),
            "fashion_mnist": anomaly.log_histogram(reference["fashion_mnist"]),
        },
        "score_percentiles_validation": {str(percentile): float(np.percentile(reference["validation"], percentile))
                                         for percentile in (50, 90, 99, 99.9)},
    }
    manifest_lib.update_model_entry(entry)
    print(f"Threshold {threshold:.5f}; fp32 formats agree within relative {fp32_difference:.2e}.")
    for name, figures in {**metrics, "after app recipe": after_recipe, **sweep, **per_format}.items():
        print(f"  {name:30s} {figures}")


# ## Export


def write_samples(fashion: np.ndarray) -> None:
    """A fashion item (Fashion-MNIST test image 0, an ankle boot) and a noise image, for the page and tests."""
    directory = paths.SAMPLES_DIR / "anomaly"
    directory.mkdir(parents=True, exist_ok=True)
    Image.fromarray(fashion[0]).save(directory / "fashion_mnist_test_0.png", optimize=True)
    noise = anomaly.uniform_noise(np.random.default_rng(SEED))[0]
    Image.fromarray((noise * 255).round().astype(np.uint8)).save(directory / "uniform_noise.png", optimize=True)


def main() -> None:
    args = parse_args()
    stopwatch = start_run(SEED)
    (x_train_full, _), (x_test, _) = load_mnist(args.data)
    x_train = digit_preprocessing.to_model_input(x_train_full[:-VALIDATION_SIZE])
    x_validation = digit_preprocessing.to_model_input(x_train_full[-VALIDATION_SIZE:])
    fashion = load_fashion_test(data_path(args.fashion, "FASHION_MNIST_DIR"))
    if args.evaluate_only:
        evaluate_and_record(manifest_lib.model_entry("anomaly"), x_validation[..., 0], x_test, fashion)
        return

    model = build_model()
    model.summary(print_fn=lambda line, **_: print(line))
    train(model, x_train, x_validation, args.epochs)
    training_seconds = stopwatch.seconds

    calibration = x_train[:512]
    artifacts = export_all(model, paths.MODELS_DIR / "anomaly", lambda: np.array_split(calibration, 512))
    write_samples(fashion)

    entry = manifest_entry(
        "anomaly",
        title="Anomaly detection",
        task="anomaly detection (reconstruction error)",
        summary="A convolutional autoencoder learns what handwritten digits look like; whatever it cannot "
        "reconstruct is flagged as an anomaly.",
        input_shape=(28, 28, 1), input_dtype="float32", input_range=(0.0, 1.0),
        preprocessing=digit_preprocessing.PREPROCESSING_ID,
        data=f"MNIST: {len(x_train)} training and {len(x_validation)} validation digits (the last "
        f"{VALIDATION_SIZE} of the training set, used to choose the threshold); the {len(x_test)} MNIST test "
        f"digits are the normal class of the evaluation. Anomalies: the {len(fashion)} Fashion-MNIST test "
        "images and three corruptions of the MNIST test digits.",
        data_source=f"{MNIST_SOURCE}; Xiao, Rasul & Vollgraf, Fashion-MNIST ({FASHION_URL}; Debian package "
        "dataset-fashion-mnist)",
        data_license=f"MNIST: {MNIST_LICENSE}; Fashion-MNIST: MIT",
        architecture=f"Convolutional autoencoder: encoder Conv 32 and Conv 64 (3×3, stride 2, ReLU), dense "
        f"{LATENT_SIZE}-number bottleneck; decoder dense 7×7×64, two 3×3 stride-2 transposed convolutions "
        "(64, 32), 3×3 conv with sigmoid. Trained to minimise mean squared error, Adam with cosine decay. "
        "Anomaly score: mean squared reconstruction error per image.",
        artifacts=artifacts,
        parameters=model.count_params(),
        training=training_record(training_seconds, args.epochs, SEED, BATCH_SIZE, COMMAND),
        # The values are filled in by the evaluation, once the artifacts are listed and the runtime can load them.
        metrics={"dataset": "MNIST test vs Fashion-MNIST test and corrupted MNIST test", "split": "test",
                 "n": len(x_test), "headline": "roc_auc_fashion_mnist", "values": {}},
    )
    manifest_lib.update_model_entry(entry)
    evaluate_and_record(entry, x_validation[..., 0], x_test, fashion)


if __name__ == "__main__":
    main()
