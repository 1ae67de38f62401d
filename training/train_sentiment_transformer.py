"""Movie review sentiment with a small Transformer encoder trained from scratch: the comparison model.

Run (after training/train_sentiment.py, whose manifest entry it adds to):
    python training/train_sentiment_transformer.py --data ../shared/data/aclImdb_v1_labeled.tar.gz

The encoder follows keras.io's "Text classification with Transformer", sized for two CPU cores: the first
``SEQUENCE_LENGTH`` words of a review (the same words as the served model's, names masked) as ids of the
``VOCABULARY_SIZE`` most frequent training words, a [CLS] token in front, learned position embeddings, two
encoder blocks (4 heads, d = 64, feed-forward 128, dropout 0.1), the [CLS] position's output into a logistic unit.
Same split as the served model: the 2,500 seeded validation reviews for early stopping, the 24,996 test reviews
only for the final number.

It is not served. The script exports it to SavedModel, TFLite (builtin ops only) and ONNX in the ignored cache
folder, records which exports work, their sizes, test accuracy and the p50 of one 200-word review (tokenization
included), and writes them into the sentiment entry's ``extra.transformer`` for docs/sentiment.md and the
Formats page.
"""

# ## Setup

from __future__ import annotations

import argparse
import collections
import time

import keras
import numpy as np
import tensorflow as tf
from common import data_path, share, start_run
from keras import layers, ops

from showcase import datasets, paths, runtime
from showcase import manifest as manifest_lib
from showcase.export import export_onnx, export_savedmodel, export_tflite
from showcase.formats import ONNX, SAVEDMODEL, TFLITE
from showcase.tasks import sentiment

SEED = 1337
VALIDATION_SIZE = 2500  # training/train_sentiment.py's split
SEQUENCE_LENGTH = 256
VOCABULARY_SIZE = 20_000
MODEL_DIM, HEADS, FEED_FORWARD, LAYERS = 64, 4, 128, 2
BATCH_SIZE = 64
PADDING, UNKNOWN, CLS = 0, 1, 2
COMMAND = "python training/train_sentiment_transformer.py --data ../shared/data/aclImdb_v1_labeled.tar.gz"
OUTPUT_DIR = paths.CACHE_DIR / "sentiment_transformer"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to the aclImdb tarball; default: $IMDB_TARBALL")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--budget-minutes", type=float, default=20.0, help="stop training after this long")
    return parser.parse_args()


# ## Data


class WordIds:
    """The most frequent training words -> ids 3.. (0 padding, 1 unknown, 2 [CLS])."""

    def __init__(self, token_lists):
        counts = collections.Counter(word for tokens in token_lists for word in tokens)
        self.ids = {word: index + 3 for index, (word, _) in enumerate(counts.most_common(VOCABULARY_SIZE - 3))}

    def encode(self, tokens) -> np.ndarray:
        ids = [CLS] + [self.ids.get(word, UNKNOWN) for word in tokens[: SEQUENCE_LENGTH - 1]]
        row = np.zeros(SEQUENCE_LENGTH, dtype=np.int32)
        row[: len(ids)] = ids
        return row


# ## Model


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(VOCABULARY_SIZE, MODEL_DIM)
        self.positions = layers.Embedding(SEQUENCE_LENGTH, MODEL_DIM)

    def call(self, ids):
        return self.tokens(ids) + self.positions(ops.arange(SEQUENCE_LENGTH))


def encoder_block(x, padding_mask, index):
    attention = layers.MultiHeadAttention(HEADS, MODEL_DIM // HEADS, dropout=0.1, name=f"attention_{index}")
    attended = attention(x, x, attention_mask=padding_mask)
    x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(attended))
    forward = layers.Dense(FEED_FORWARD, activation="relu")(x)
    forward = layers.Dense(MODEL_DIM)(forward)
    return layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(forward))


def build_model():
    ids = keras.Input(shape=(SEQUENCE_LENGTH,), dtype="int32", name="word_ids")
    # Every position may attend to the real tokens only: (batch, query, key) with padding keys masked out.
    keys = ops.cast(ops.not_equal(ids, PADDING), "int32")
    padding_mask = ops.cast(ops.expand_dims(keys, 1) * ops.ones_like(ops.expand_dims(keys, 2)), "bool")
    x = TokenAndPositionEmbedding()(ids)
    for index in range(LAYERS):
        x = encoder_block(x, padding_mask, index)
    cls = x[:, 0, :]
    probability = layers.Dense(1, activation="sigmoid", name="positive_probability")(layers.Dropout(0.1)(cls))
    return keras.Model(ids, probability, name="transformer_encoder")


# ## Train


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the epoch that passes the budget."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start = seconds, time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def train(model, x_fit, y_fit, x_validation, y_validation, epochs, budget_seconds):
    model.compile(optimizer=keras.optimizers.Adam(5e-4), loss=keras.losses.BinaryCrossentropy(),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    history = model.fit(x_fit, y_fit.astype("float32"), validation_data=(x_validation, y_validation.astype("float32")),
                        batch_size=BATCH_SIZE, epochs=epochs, callbacks=[stop, TimeBudget(budget_seconds)], verbose=2)
    return len(history.history["loss"])


# ## Evaluate and export


def try_export(name, export):
    """The exported path, or the error's first line when the export fails (part of the finding)."""
    try:
        return export(), None
    except Exception as error:  # noqa: BLE001 - any converter failure is recorded, not raised.
        return None, f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"


def p50_milliseconds(predictor, words, vocabulary, runs=200):
    """Median time to tokenize and score the 200-word benchmark review."""
    def score():
        predictor.predict(words.encode(vocabulary.words(sentiment.BENCHMARK_REVIEW))[None, :])

    for _ in range(10):
        score()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        score()
        times.append((time.perf_counter() - start) * 1000)
    return round(float(np.percentile(times, 50)), 3)


def size_of(path):
    return manifest_lib.file_digest(path)[0]


def main() -> None:
    args = parse_args()
    stopwatch = start_run(SEED)
    data = datasets.imdb(data_path(args.data, "IMDB_TARBALL") or datasets.local_copy(datasets.IMDB))
    train_texts, train_labels = data["train"]
    test_texts, test_labels = data["test"]
    order = np.random.default_rng(SEED).permutation(len(train_texts))
    validation_index, fit_index = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    vocabulary = sentiment.load_vocabulary(manifest_lib.model_entry("sentiment"))
    fit_tokens = [vocabulary.words(train_texts[i]) for i in fit_index]
    words = WordIds(fit_tokens)

    def encoded(texts):
        return np.stack([words.encode(vocabulary.words(text)) for text in texts])

    x_fit = np.stack([words.encode(tokens) for tokens in fit_tokens])
    x_validation = encoded([train_texts[i] for i in validation_index])
    x_test = encoded(test_texts)
    model = build_model()
    model.summary(print_fn=lambda line, **_: print(line))
    epochs_run = train(model, x_fit, train_labels[fit_index], x_validation, train_labels[validation_index],
                       args.epochs, args.budget_minutes * 60)
    training_seconds = stopwatch.seconds
    keras_accuracy = share((model.predict(x_test, batch_size=512, verbose=0)[:, 0] >= 0.5) == test_labels)
    print(f"Transformer: test accuracy {keras_accuracy:.4f}, trained in {training_seconds:.0f} s.")

    savedmodel = export_savedmodel(model, OUTPUT_DIR / "savedmodel")
    exports = {SAVEDMODEL: (savedmodel, None),
               TFLITE: try_export(TFLITE, lambda: export_tflite(savedmodel, OUTPUT_DIR / "model.tflite")),
               ONNX: try_export(ONNX, lambda: export_onnx(model, OUTPUT_DIR / "model.onnx"))}
    formats = {}
    for name, (path, error) in exports.items():
        if path is None:
            formats[name] = {"exported": False, "error": error}
            continue
        predictor = runtime.open_file(path, name)
        probabilities = np.concatenate([predictor.predict(batch) for batch in np.array_split(x_test, 100)])[:, 0]
        formats[name] = {"exported": True, "bytes": size_of(path),
                         "accuracy": share((probabilities >= 0.5) == test_labels),
                         "p50_200_words_ms": p50_milliseconds(predictor, words, vocabulary)}
        print(f"  {name}: {formats[name]}")

    entry = manifest_lib.model_entry("sentiment")
    entry["extra"]["transformer"] = {
        "architecture": f"Transformer encoder from scratch: {LAYERS} layers, {HEADS} heads, d = {MODEL_DIM}, "
        f"feed-forward {FEED_FORWARD}, learned positions, [CLS] pooling; the first {SEQUENCE_LENGTH - 1} words, "
        f"{VOCABULARY_SIZE:,}-word vocabulary",
        "parameters": int(model.count_params()),
        "accuracy": formats[SAVEDMODEL]["accuracy"],
        "n": len(test_labels),
        "training_seconds": training_seconds,
        "epochs": epochs_run,
        "formats": formats,
        "command": COMMAND,
        "created": manifest_lib.utc_now(),
    }
    manifest_lib.update_model_entry(entry)


if __name__ == "__main__":
    tf.config.threading.set_inter_op_parallelism_threads(2)
    main()
