"""Held-out evaluation of the conditional GAN with the project's Digits classifier.

- Digit accuracy: 10,000 generated digits (1,000 per requested digit) are read by the Digits model
  (TFLite, the way the app serves it); the share read as the requested digit.
- Fréchet distance on the Digits model's penultimate layer (its 128 global-average-pooled channels):
  generated digits against the MNIST test set, and, as the floor that real digits reach, 10,000 MNIST
  training digits against the same test set.
- Format agreement: every exported format draws the same 10,000 digits; the largest pixel difference to
  the SavedModel.

The penultimate features come from a Keras copy of the Digits model: ``train_digits.build_model()`` with
the variables of the committed ``models/digits/savedmodel`` assigned to it, checked to reproduce the
SavedModel's probabilities before it is used (the exported formats only output probabilities).
"""

# ## Setup

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import train_digits
from common import evaluate_formats, share

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.formats import ONNX, SAVEDMODEL, TFLITE
from showcase.tasks import gan
from showcase.tasks.digits import to_model_input

EVALUATION_SEED = 2024
SAMPLES_PER_DIGIT = 1000
FLOOR_SAMPLE_SEED = 99
CHUNK = 1000


# ## Generated digits and the Digits model's features


def evaluation_inputs():
    """10,000 generator inputs: 1,000 latent vectors per digit, digits in blocks (0,0,...,1,1,...)."""
    count = SAMPLES_PER_DIGIT * gan.NUM_CLASSES
    digits = np.repeat(np.arange(gan.NUM_CLASSES), SAMPLES_PER_DIGIT)
    return gan.generator_input(gan.latent_vectors(EVALUATION_SEED, count), digits), digits


def generate(predictor, inputs):
    return np.concatenate([predictor.predict(inputs[start : start + CHUNK]) for start in range(0, len(inputs), CHUNK)])


def digits_feature_extractor():
    """A Keras model: 28×28×1 digits -> the Digits classifier's 128 penultimate (pooled) features."""
    savedmodel_dir = paths.MODELS_DIR / "digits" / "savedmodel"
    loaded = tf.saved_model.load(str(savedmodel_dir))
    model = train_digits.build_model()
    # Match variables by order, not by name: Keras numbers layer names per process (conv2d, conv2d_1, ...), so
    # the names differ when the GAN was built first. The shapes are checked here and the outputs below.
    if len(loaded.variables) != len(model.variables):
        raise ValueError(f"The Digits SavedModel has {len(loaded.variables)} variables, build_model() makes "
                         f"{len(model.variables)}: was the Digits model retrained with another architecture?")
    for variable, saved in zip(model.variables, loaded.variables):
        if tuple(variable.shape) != tuple(saved.shape):
            raise ValueError(f"Variable {variable.path} has shape {variable.shape}, the SavedModel's {saved.name} "
                             f"has {saved.shape}.")
        variable.assign(saved.numpy())
    probe = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype(np.float32)
    difference = np.abs(model.predict(probe, verbose=0) - loaded.serve(tf.constant(probe)).numpy()).max()
    if difference > 1e-5:
        raise ValueError(f"The rebuilt Digits model differs from its SavedModel by {difference}.")
    # The penultimate layer: global average pooling, before dropout (inactive at inference) and the softmax.
    pooled = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D)).output
    return keras.Model(model.inputs, pooled, name="digits_features"), float(difference)


# ## Evaluate


def evaluate(x_train, x_test) -> dict:
    """The GAN entry's values, per-format figures and extra records, measured on the exported formats."""
    inputs, requested = evaluation_inputs()
    classifier = runtime.load("digits", TFLITE)

    def generated_and_read(predictor):
        generated = generate(predictor, inputs)
        return generated, generate(classifier, generated)

    def figures(outputs, reference):
        (generated, probabilities), (reference_images, _) = outputs, reference
        return {
            "digit_accuracy": share(probabilities.argmax(1) == requested),
            "max_abs_pixel_difference_vs_savedmodel": float(np.abs(generated - reference_images).max()),
        }

    per_format, outputs = evaluate_formats("gan", manifest_lib.model_entry("gan")["artifacts"], generated_and_read,
                                           figures)
    reference, probabilities = outputs[SAVEDMODEL]
    correct = probabilities.argmax(1) == requested
    per_digit = [round(float(correct[requested == digit].mean()), 4) for digit in range(10)]
    confidence = float(probabilities[np.arange(len(requested)), requested].mean())

    extractor, rebuild_difference = digits_feature_extractor()
    rng = np.random.default_rng(FLOOR_SAMPLE_SEED)
    train_sample = x_train[rng.choice(len(x_train), size=len(x_test), replace=False)]
    features = {
        "generated": extractor.predict(reference, batch_size=500, verbose=0),
        "test": extractor.predict(to_model_input(x_test), batch_size=500, verbose=0),
        "train": extractor.predict(to_model_input(train_sample), batch_size=500, verbose=0),
    }
    frechet = gan.frechet_distance
    fp32_differences = [per_format[name]["max_abs_pixel_difference_vs_savedmodel"] for name in (TFLITE, ONNX)]
    values = {
        "digit_accuracy": per_format[SAVEDMODEL]["digit_accuracy"],
        "mean_confidence_in_requested_digit": round(confidence, 5),
        "frechet_distance_generated_vs_test": round(frechet(features["generated"], features["test"]), 4),
        "frechet_distance_train_vs_test_floor": round(frechet(features["train"], features["test"]), 4),
        "max_abs_pixel_difference_across_fp32_formats": max(fp32_differences),
    }
    extra = {
        "evaluation": f"{len(requested)} generated digits ({SAMPLES_PER_DIGIT} per digit, latent seed "
        f"{EVALUATION_SEED}) read by the Digits model (TFLite); Fréchet distances on its 128 penultimate "
        f"features against the {len(x_test)} MNIST test digits; floor: {len(train_sample)} MNIST training "
        f"digits (sample seed {FLOOR_SAMPLE_SEED}).",
        "digit_accuracy_per_digit": per_digit,
        "samples_per_digit": SAMPLES_PER_DIGIT,
        "feature_extractor_max_difference_to_savedmodel": rebuild_difference,
    }
    return {"values": values, "per_format": per_format, "extra": extra}
