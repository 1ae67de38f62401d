"""Handwritten digit classifier: a small CNN trained on MNIST, robust to digits drawn on a canvas.

Run:
    python training/train_digits.py --data ../shared/data/mnist.npz

Without ``--data`` (or ``$MNIST_NPZ``) the script downloads MNIST through ``keras.datasets``.
The model sees 28×28 grayscale digits, white ink on black, scaled to [0, 1] -- exactly what
``showcase.tasks.digits`` makes of a canvas drawing or a photo. Canvas drawings differ from
MNIST in stroke width, slant and placement, so training augments every batch with small rotations,
zoom, shifts and thicker or thinner strokes. Augmentation lives in the tf.data pipeline, not in the
model, so the exported model holds no random ops and converts cleanly to TFLite and ONNX.

Writes models/digits/{savedmodel,model.tflite,model_int8.tflite,model.onnx}, a few sample digits in
samples/digits/, and the "digits" entry of models/manifest.json.
"""

# ## Setup

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from common import (
    FORMATS,
    MNIST_LICENSE,
    MNIST_SOURCE,
    classification_figures,
    evaluate_formats,
    load_mnist,
    manifest_entry,
    start_run,
    training_record,
)
from keras import layers
from PIL import Image

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.export import export_all
from showcase.formats import SAVEDMODEL, TFLITE
from showcase.tasks import digits

SEED = 1337
VALIDATION_SIZE = 5000
BATCH_SIZE = 128
COMMAND = "python training/train_digits.py --data ../shared/data/mnist.npz"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to mnist.npz (keras load_data layout); default: $MNIST_NPZ or download")
    # An epoch takes 100-145 s on the 2-core machine: 8 keep the whole script within 20 minutes.
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--evaluate-only", action="store_true",
                        help="skip training: re-evaluate the committed artifacts and rewrite their metrics")
    parser.add_argument("--limit", type=int, help="use only the first N training and N test digits (smoke runs)")
    parser.add_argument("--output", type=Path,
                        help="export into this folder and print the figures, leaving models/, samples/ and the "
                        "manifest untouched (smoke runs)")
    return parser.parse_args()


# ## Data


def split_validation(x_train_full, y_train_full):
    """The last VALIDATION_SIZE training digits (a fifth of a smaller slice) for validation, the rest to train."""
    size = min(VALIDATION_SIZE, len(x_train_full) // 5)
    return (x_train_full[:-size], y_train_full[:-size]), (x_train_full[-size:], y_train_full[-size:])


def augmentation():
    """A tf.data map: random stroke width, rotation (±6°), zoom (±6%) and shift (±2 px) for a batch of digits."""
    affine = keras.Sequential(
        [
            keras.layers.RandomRotation(6 / 360, fill_mode="constant", seed=SEED),
            keras.layers.RandomZoom(0.06, fill_mode="constant", seed=SEED),
            keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=SEED),
        ]
    )

    def augment(images, labels):
        # Stroke width: dilate (max-pool) a quarter of the digits, erode (min-pool) a tenth, keep the rest.
        # Geometric augmentation stays mild: the app re-centres and rescales every drawing with the MNIST
        # recipe, and stronger distortions cost test accuracy at this training budget.
        thicker = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
        thinner = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
        choice = tf.random.uniform([tf.shape(images)[0], 1, 1, 1])
        images = tf.where(choice < 0.25, thicker, tf.where(choice < 0.35, thinner, images))
        images = affine(images, training=True)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return augment


def one_hot(labels):
    return np.eye(10, dtype=np.float32)[labels]


def make_datasets(x_train, y_train, x_validation, y_validation):
    train = (
        tf.data.Dataset.from_tensor_slices((digits.to_model_input(x_train), one_hot(y_train)))
        .shuffle(len(x_train), seed=SEED)
        .batch(BATCH_SIZE)
        .map(augmentation(), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    validation = tf.data.Dataset.from_tensor_slices(
        (digits.to_model_input(x_validation), one_hot(y_validation))
    ).batch(512)
    return train, validation


# ## Model


def build_model():
    """Three convolution stages (32, 64-64, 128 filters) with batch norm, global pooling, a softmax head.

    The first stage has a single convolution: at 28×28 it is the costliest layer per filter, and one is
    enough to find strokes. Batch norm uses momentum 0.9 so that its moving statistics settle within
    the first few hundred steps.
    """

    def conv_block(x, filters):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = conv_block(inputs, 32)
    x = layers.MaxPooling2D()(x)
    x = conv_block(x, 64)
    x = conv_block(x, 64)
    x = layers.MaxPooling2D()(x)
    x = conv_block(x, 128)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


# ## Train


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of each epoch and the machine's load average after it."""

    def __init__(self):
        super().__init__()
        self.log = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.log.append({"seconds": round(time.perf_counter() - self.start, 1),
                         "load_average": round(os.getloadavg()[0], 2)})


def train(model, train_data, validation_data, epochs, steps_per_epoch):
    """Fit the model; return the wall-clock seconds of each epoch and the machine's load average after it."""
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=epochs * steps_per_epoch, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        # Label smoothing keeps the network from growing over-confident on the training digits.
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    timer = EpochTimer()
    # verbose=2 prints one line per epoch: readable in CI logs and terminals alike.
    model.fit(train_data, validation_data=validation_data, epochs=epochs, verbose=2, callbacks=[timer])
    return timer.log


def fit_and_export(args, x_train_full, y_train_full, directory: Path):
    """Train the model and export every format into ``directory``; returns the model, artifacts and timings."""
    stopwatch = start_run(SEED)
    (x_train, y_train), (x_validation, y_validation) = split_validation(x_train_full, y_train_full)
    train_data, validation_data = make_datasets(x_train, y_train, x_validation, y_validation)

    model = build_model()
    model.summary(print_fn=lambda line, **_: print(line))
    epoch_log = train(model, train_data, validation_data, args.epochs, steps_per_epoch=len(train_data))
    training_seconds = stopwatch.seconds

    calibration = digits.to_model_input(x_train[:512])
    artifacts = export_all(model, directory, lambda: np.array_split(calibration, len(calibration)))
    return model, artifacts, epoch_log, training_seconds


# ## Evaluate


def recipe_accuracy(x_test, y_test):
    """Accuracy when the test digits first go through the app's preprocessing (crop, rescale, recentre)."""
    prepared = np.stack([digits.prepare_digit(image) for image in x_test])
    predictions = runtime.load("digits", TFLITE).predict(digits.to_model_input(prepared)).argmax(1)
    return float(np.mean(predictions == y_test))


def evaluate(entry, x_test, y_test):
    """Measure every format on the MNIST test set and write the figures into the manifest entry."""
    batch = digits.to_model_input(x_test)

    def figures(probabilities, reference):
        return classification_figures(probabilities, reference, y_test) | {
            "max_abs_probability_difference": float(np.abs(probabilities - reference).max())}

    per_format, probabilities = evaluate_formats("digits", FORMATS, lambda predictor: predictor.predict(batch),
                                                 figures)
    recipe = recipe_accuracy(x_test, y_test)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, probabilities[SAVEDMODEL].argmax(1)), 1)
    entry["metrics"]["values"] = {
        "accuracy": per_format[SAVEDMODEL]["accuracy"],
        "accuracy_after_app_preprocessing": round(recipe, 5),
    }
    entry["metrics"]["per_format"] = per_format
    entry["extra"] = {"confusion_matrix": confusion.tolist()}
    manifest_lib.update_model_entry(entry)
    print(f"Test accuracy {per_format[SAVEDMODEL]['accuracy']:.4f} ({len(x_test)} images); "
          f"after app preprocessing {recipe:.4f}; trained in {entry['training']['seconds']:.0f} s.")
    for name, figures in per_format.items():
        print(f"  {name:12s} {figures}")


# ## Export


def write_samples(x_test, y_test):
    """Save one typical test image per digit as a small PNG, for the app's sample picker and the tests.

    "Typical" is chosen without the model: the test image closest to its class's mean image.
    """
    directory = paths.SAMPLES_DIR / "digits"
    directory.mkdir(parents=True, exist_ok=True)
    for old_sample in directory.glob("*.png"):
        old_sample.unlink()
    images = x_test.astype(np.float32)
    for digit in range(10):
        indices = np.flatnonzero(y_test == digit)
        distances = ((images[indices] - images[indices].mean(axis=0)) ** 2).sum(axis=(1, 2))
        index = int(indices[np.argmin(distances)])
        Image.fromarray(x_test[index]).save(directory / f"{digit}_mnist_test_{index}.png", optimize=True)


def train_into_folder(args, x_train_full, y_train_full, x_test, y_test):
    """A smoke run: train and export into ``args.output``, then print each exported format's test accuracy."""
    _, artifacts, _, seconds = fit_and_export(args, x_train_full, y_train_full, args.output / "digits")
    batch = digits.to_model_input(x_test)
    for name, path in artifacts.items():
        accuracy = float(np.mean(runtime.open_file(path, name).predict(batch).argmax(1) == y_test))
        print(f"  {name:12s} accuracy {accuracy:.4f} on {len(x_test)} test digits ({path})")
    print(f"Trained {args.epochs} epoch(s) on {len(x_train_full)} digits in {seconds:.0f} s into {args.output}.")


def train_and_export(args, x_train_full, y_train_full, x_test):
    """Train, export every format, and write the manifest entry (its metrics are filled in by evaluate)."""
    model, artifacts, epoch_log, training_seconds = fit_and_export(
        args, x_train_full, y_train_full, paths.MODELS_DIR / "digits"
    )
    (x_train, _), (x_validation, _) = split_validation(x_train_full, y_train_full)
    entry = manifest_entry(
        "digits",
        title="Handwritten digits",
        task="image classification (10 classes)",
        summary="Draw a digit or upload a photo of one; a small CNN trained on MNIST reads it.",
        labels=[str(digit) for digit in range(10)],
        input_shape=(28, 28, 1), input_dtype="float32", input_range=(0.0, 1.0),
        preprocessing=digits.PREPROCESSING_ID,
        data=f"MNIST: {len(x_train)} training and {len(x_validation)} validation digits "
        f"(the last {VALIDATION_SIZE} of the training set), {len(x_test)} test digits.",
        data_source=MNIST_SOURCE,
        data_license=MNIST_LICENSE,
        architecture="CNN: 4 conv layers (32 / 64-64 / 128 filters, 3×3, batch norm, ReLU) with 2 max-pools, "
        "global average pooling, dropout 0.1, softmax over 10 digits. Trained with augmentation "
        "(stroke width, ±6° rotation, ±6% zoom, ±2 px shift), Adam with cosine decay, label smoothing 0.1.",
        artifacts=artifacts,
        parameters=model.count_params(),
        training=training_record(training_seconds, args.epochs, SEED, BATCH_SIZE, COMMAND,
                                 progress={"epoch_log": epoch_log}),
        metrics={"dataset": "MNIST", "split": "test", "n": len(x_test), "headline": "accuracy", "values": {}},
    )
    manifest_lib.update_model_entry(entry)
    return entry


def main() -> None:
    args = parse_args()
    (x_train_full, y_train_full), (x_test, y_test) = load_mnist(args.data)
    if args.limit:
        x_train_full, y_train_full = x_train_full[: args.limit], y_train_full[: args.limit]
        x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    if args.output:
        train_into_folder(args, x_train_full, y_train_full, x_test, y_test)
        return
    if args.evaluate_only:
        entry = manifest_lib.model_entry("digits")
    else:
        entry = train_and_export(args, x_train_full, y_train_full, x_test)
    evaluate(entry, x_test, y_test)
    write_samples(x_test, y_test)


if __name__ == "__main__":
    main()
