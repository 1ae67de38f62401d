"""Conditional DCGAN: generate a handwritten digit of your choice, trained on MNIST.

Run:
    python training/train_gan.py --data ../shared/data/mnist.npz

Without ``--data`` (or ``$MNIST_NPZ``) the script downloads MNIST through ``keras.datasets``.
Follows the keras.io DCGAN example (a ``keras.Model`` whose ``train_step`` updates the discriminator, then
the generator) with the digit as a condition on both networks:

- the generator's single input is ``[z, one_hot(digit)]`` (64 + 10 numbers), so that every serving
  format (SavedModel, TFLite, ONNX) takes one tensor, built by ``showcase.tasks.gan.generator_input``;
- the discriminator sees the image and the one-hot digit. It scores "real or fake" with a projection
  head (the score gains ``embed(digit) · features``, Miyato & Koyama 2018) and also predicts the digit
  (an auxiliary classifier, Odena et al. 2017): the generator is rewarded when its fakes pass as real
  AND are recognised as the requested digit.

Quality is measured with the project's own Digits classifier (``models/digits``), which the GAN never
saw during training: the share of 10,000 generated digits (1,000 per digit) it reads as the requested
digit, and the Fréchet distance between its penultimate-layer features of generated digits and of the
MNIST test set (with MNIST training digits against the test set as the floor).

Writes models/gan/{savedmodel,model.tflite,model_int8.tflite,model.onnx}, a grid per epoch in .cache/gan/,
the final grid in samples/gan/, and the "gan" entry of models/manifest.json.

``--dry-run`` builds both networks and trains them for two steps on random images, printing what it checked
as one line of JSON: a check of the networks and the training step that needs no data and writes nothing.
"""

# ## Setup

from __future__ import annotations

import argparse
import json
import time

import gan_evaluation
import keras
import numpy as np
import tensorflow as tf
from common import MNIST_LICENSE, MNIST_SOURCE, load_mnist, manifest_entry, start_run, training_record
from keras import layers

from showcase import manifest as manifest_lib
from showcase import paths
from showcase.export import export_all
from showcase.tasks import gan

SEED = 1337
BATCH_SIZE = 64
LATENT_DIM = gan.LATENT_DIM
NUM_CLASSES = gan.NUM_CLASSES
# Weight of the auxiliary "which digit is this?" loss next to the real/fake loss.
CLASS_LOSS_WEIGHT = 1.0
JIT = False
# Channels of the generator's 7×7 stage (halved at 14×14) and of the discriminator's first convolution (doubled
# in the second). Small on purpose: the whole run must fit in 30 minutes on two CPU cores.
GENERATOR_WIDTH = 64
DISCRIMINATOR_WIDTH = 32
# A fixed 10×10 grid (row = digit, column = latent vector) saved after every epoch to watch training.
MONITOR_SEED = 7
SAMPLE_DIR = paths.SAMPLES_DIR / "gan"
DEFAULT_EPOCHS = 12
DEFAULT_TIME_BUDGET = 25.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to mnist.npz (keras load_data layout); default: $MNIST_NPZ or download")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--limit", type=int, help="train on the first LIMIT digits only (quick trials)")
    parser.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET,
                        help="minutes of training, at most (default 25); the run stops after the batch that spends it")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="skip training: re-evaluate the artifacts already in models/gan and update the manifest")
    parser.add_argument("--dry-run", action="store_true",
                        help="build both networks, train them for two steps on random images and print what was "
                        "checked as JSON; needs no data and writes nothing")
    return parser.parse_args()


def command(args) -> str:
    """The command line of this run, for the manifest (options left at their defaults are left out)."""
    return ("python training/train_gan.py --data ../shared/data/mnist.npz"
            + (f" --epochs {args.epochs}" if args.epochs != DEFAULT_EPOCHS else "")
            + (f" --limit {args.limit}" if args.limit else "")
            + (f" --time-budget {args.time_budget:g}" if args.time_budget != DEFAULT_TIME_BUDGET else ""))


# ## Data


def make_dataset(x_train, y_train):
    images = x_train.reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
    return (
        tf.data.Dataset.from_tensor_slices((images, y_train.astype(np.int32)))
        .shuffle(len(images), seed=SEED)
        .batch(BATCH_SIZE, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


# ## Model


def build_generator():
    """[z, one-hot digit] -> 7×7 -> 14×14 -> 28×28×1 in [0, 1] (sigmoid: the Digits model's input range)."""
    inputs = keras.Input(shape=(LATENT_DIM + NUM_CLASSES,), name="latent_and_digit")
    x = layers.Dense(7 * 7 * GENERATOR_WIDTH, use_bias=False)(inputs)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((7, 7, GENERATOR_WIDTH))(x)
    x = layers.Conv2DTranspose(GENERATOR_WIDTH // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU()(x)
    outputs = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid", name="image")(x)
    return keras.Model(inputs, outputs, name="generator")


def build_discriminator():
    """(image, one-hot digit) -> (real/fake logit with a projection term, 10 digit logits)."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    digit = keras.Input(shape=(NUM_CLASSES,), name="digit")
    x = layers.Conv2D(DISCRIMINATOR_WIDTH, 4, strides=2, padding="same")(image)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * DISCRIMINATOR_WIDTH, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    features = layers.Dropout(0.3)(layers.Flatten()(x))
    # Projection conditioning: a per-digit embedding dotted with the features adds to the real/fake score.
    embedding = layers.Dense(features.shape[-1], use_bias=False, name="digit_embedding")(digit)
    projection = layers.Dot(axes=1)([features, embedding])
    score = layers.Add(name="real_or_fake")([layers.Dense(1)(features), projection])
    class_logits = layers.Dense(NUM_CLASSES, name="digit_logits")(features)
    return keras.Model([image, digit], [score, class_logits], name="discriminator")


class ConditionalGAN(keras.Model):
    """The keras.io DCGAN training loop, conditioned on the digit."""

    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.real_or_fake_loss = keras.losses.BinaryCrossentropy(from_logits=True)
        self.class_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_class_acc")}

    def compile(self, d_optimizer, g_optimizer):
        super().compile(jit_compile=JIT)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _fakes(self, codes):
        latents = tf.random.normal((tf.shape(codes)[0], LATENT_DIM))
        return self.generator(tf.concat([latents, codes], axis=1), training=True)

    def train_step(self, data):
        real_images, labels = data
        codes = tf.one_hot(labels, NUM_CLASSES)
        batch = tf.shape(real_images)[0]

        # Discriminator: real digits score high (one-sided label smoothing: target 0.9), fakes low, and
        # real digits are classified correctly. Fakes are not used for its classifier, so it learns
        # what each digit looks like from real data only.
        fakes = self._fakes(codes)
        with tf.GradientTape() as tape:
            real_score, real_class = self.discriminator([real_images, codes], training=True)
            fake_score, _ = self.discriminator([fakes, codes], training=True)
            d_loss = (
                self.real_or_fake_loss(tf.fill([batch, 1], 0.9), real_score)
                + self.real_or_fake_loss(tf.zeros([batch, 1]), fake_score)
                + CLASS_LOSS_WEIGHT * self.class_loss(labels, real_class)
            )
        gradients = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(gradients, self.discriminator.trainable_weights))

        # Generator: fakes should pass as real and be recognised as the requested digit.
        with tf.GradientTape() as tape:
            fake_score, fake_class = self.discriminator([self._fakes(codes), codes], training=True)
            g_loss = self.real_or_fake_loss(tf.ones([batch, 1]), fake_score) + CLASS_LOSS_WEIGHT * self.class_loss(
                labels, fake_class
            )
        gradients = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(gradients, self.generator.trainable_weights))

        accuracy = tf.reduce_mean(tf.cast(tf.argmax(real_class, 1, output_type=tf.int32) == labels, tf.float32))
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("d_class_acc", accuracy)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def monitor_grid_input():
    """Ten latent vectors, each drawn as every digit: row = digit, column = latent vector."""
    latents = gan.latent_vectors(MONITOR_SEED, 10)
    return np.concatenate([gan.generator_input(latents, digit) for digit in range(NUM_CLASSES)])


class SaveGrid(keras.callbacks.Callback):
    """Saves the monitor grid after every epoch into .cache/gan/ (git-ignored)."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator
        self.directory = paths.CACHE_DIR / "gan"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.batch = monitor_grid_input()

    def on_epoch_end(self, epoch, logs=None):
        images = self.generator.predict(self.batch, verbose=0)
        grid = gan.image_grid(images, columns=10, scale=2)
        (self.directory / f"epoch_{epoch + 1:02d}.png").write_bytes(gan.png_bytes(grid))


# ## Train


class TimeBudget(keras.callbacks.Callback):
    """Stop training once the time budget is spent, at the end of the current batch.

    The machine is shared, so the speed of a step varies; the budget keeps the whole run within the
    project's 30 minutes. The manifest records the epochs begun and the exact number of steps.
    """

    def __init__(self, minutes):
        super().__init__()
        self.minutes = minutes

    def on_train_begin(self, logs=None):
        self.start, self.epochs_begun, self.steps = time.perf_counter(), 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_begun = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.perf_counter() - self.start > self.minutes * 60 and not self.model.stop_training:
            print(f"\nStopping after {self.steps} steps: the {self.minutes:g}-minute budget is spent.")
            self.model.stop_training = True


def compile_gan(conditional_gan):
    # Adam with beta_1 = 0.5, the DCGAN paper's setting; the keras.io example uses the same.
    conditional_gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )


def train(conditional_gan, dataset, epochs, budget_minutes):
    """Train; return the number of epochs begun and of steps run."""
    compile_gan(conditional_gan)
    budget = TimeBudget(budget_minutes)
    conditional_gan.fit(dataset, epochs=epochs, callbacks=[SaveGrid(conditional_gan.generator), budget], verbose=2)
    return budget.epochs_begun, budget.steps


def dry_run() -> dict:
    """Build both networks, run them once and train them for two steps on 16 random images; what was seen."""
    generator, discriminator = build_generator(), build_discriminator()
    images = np.asarray(generator(gan.generator_input(gan.latent_vectors(0, 4), [0, 1, 2, 3]), training=False))
    score, logits = discriminator([np.zeros((3, 28, 28, 1), np.float32), gan.one_hot([1, 2, 3])])
    conditional_gan = ConditionalGAN(generator, discriminator)
    compile_gan(conditional_gan)
    weights = generator.trainable_weights + discriminator.trainable_weights
    before = [np.array(weight) for weight in weights]
    rng = np.random.default_rng(0)
    random_images = rng.uniform(size=(16, 28, 28, 1)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((random_images, rng.integers(0, 10, 16).astype(np.int32))).batch(8)
    history = conditional_gan.fit(dataset, epochs=1, verbose=0).history
    return {
        "generator_input_shape": list(generator.input_shape),
        "images_shape": list(images.shape), "images_min": float(images.min()), "images_max": float(images.max()),
        "score_shape": list(score.shape), "logits_shape": list(logits.shape),
        "d_loss": float(history["d_loss"][-1]), "g_loss": float(history["g_loss"][-1]),
        "weights_moved": [not np.allclose(old, np.array(new)) for old, new in zip(before, weights)],
    }


# ## Evaluate


def evaluate_and_record(entry, x_train, x_test):
    """Measure the exported generator with the Digits model and write the figures into the manifest entry."""
    evaluation = gan_evaluation.evaluate(x_train, x_test)
    entry["metrics"]["values"] = evaluation["values"]
    entry["metrics"]["per_format"] = evaluation["per_format"]
    entry["extra"] = entry.get("extra", {}) | evaluation["extra"]
    manifest_lib.update_model_entry(entry)
    print(f"Trained in {entry['training']['seconds']:.0f} s.")
    for name, value in evaluation["values"].items():
        print(f"  {name:46s} {value}")
    for name, figures in evaluation["per_format"].items():
        print(f"  {name:12s} {figures}")


# ## Export


def representative_inputs():
    """Generator inputs for int8 calibration: 512 latent vectors, every digit equally often."""
    latents = gan.latent_vectors(SEED, 512)
    return gan.generator_input(latents, np.arange(512) % NUM_CLASSES)


def write_final_grid(generator):
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    grid = gan.image_grid(generator.predict(monitor_grid_input(), verbose=0), columns=10, scale=1)
    path = SAMPLE_DIR / "final_grid.png"
    path.write_bytes(gan.png_bytes(grid))
    return path


def main() -> None:
    args = parse_args()
    if args.dry_run:
        print(json.dumps(dry_run()))
        return
    stopwatch = start_run(SEED)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data)
    if args.evaluate_only:
        evaluate_and_record(manifest_lib.model_entry("gan"), x_train, x_test)
        return
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    generator, discriminator = build_generator(), build_discriminator()
    generator.summary(print_fn=lambda line, **_: print(line))
    discriminator.summary(print_fn=lambda line, **_: print(line))
    epochs, steps = train(ConditionalGAN(generator, discriminator), make_dataset(x_train, y_train), args.epochs,
                          args.time_budget)
    training_seconds = stopwatch.seconds

    calibration = representative_inputs()
    artifacts = export_all(generator, paths.MODELS_DIR / "gan", lambda: np.array_split(calibration, 512))
    grid_path = write_final_grid(generator)

    entry = manifest_entry(
        "gan",
        title="Digit GAN",
        task="conditional image generation (10 digits)",
        summary="Pick a digit and a seed: a conditional DCGAN trained on MNIST draws it; walk between two seeds.",
        labels=[str(digit) for digit in range(NUM_CLASSES)],
        input_shape=(LATENT_DIM + NUM_CLASSES,), input_dtype="float32", input_range=(-6.0, 6.0),
        preprocessing="gan/latent-and-one-hot-v1",
        data=f"MNIST: {len(x_train)} training digits for the GAN; quality measured against the "
        f"{len(x_test)} MNIST test digits with the Digits classifier (trained separately, on MNIST train).",
        data_source=MNIST_SOURCE,
        data_license=MNIST_LICENSE,
        architecture=f"Conditional DCGAN. Generator: [64-d latent, one-hot digit] -> dense 7×7×{GENERATOR_WIDTH} "
        f"-> transposed conv {GENERATOR_WIDTH // 2} (4×4, stride 2) -> transposed conv 1 (stride 2, sigmoid), batch "
        f"norm + ReLU. Discriminator: conv {DISCRIMINATOR_WIDTH} and {2 * DISCRIMINATOR_WIDTH} (4×4, stride 2, "
        "LeakyReLU), a real/fake score with a projection term for the digit, and an auxiliary digit classifier. "
        "Adam 2e-4, β1 = 0.5. The exported model is the generator.",
        artifacts=artifacts,
        parameters=generator.count_params(),
        training=training_record(training_seconds, epochs, SEED, BATCH_SIZE, command(args), progress={"steps": steps}),
        # The values are filled in by the evaluation, once the runtime can load the artifacts.
        metrics={"dataset": "MNIST", "split": "test", "n": len(x_test), "headline": "digit_accuracy", "values": {}},
        extra={"final_grid": grid_path.relative_to(paths.REPO_ROOT).as_posix(), "latent_dim": LATENT_DIM},
    )
    manifest_lib.update_model_entry(entry)
    evaluate_and_record(entry, x_train, x_test)


if __name__ == "__main__":
    main()
