"""Movie review sentiment: an n-gram embedding bag trained on the IMDB Large Movie Review Dataset.

Run:
    python training/train_sentiment.py --data ../shared/data/aclImdb_v1_labeled.tar.gz
    python training/train_sentiment.py --data ... --architecture cnn --no-export   # the comparison model

Without ``--data`` (or ``$IMDB_TARBALL``) the script downloads the public ``aclImdb_v1.tar.gz``. The
tarball is read in place with ``tarfile`` (nothing is extracted). Reviews are normalized and turned
into unigram + bigram ids by ``showcase.tasks.sentiment``, the module the app uses too, so
training and serving cannot drift apart. Reviews longer than one window (256 words) are cut into
chunks: each chunk is a training example with its review's label, and at evaluation time a review's
probability is the mean over its chunks, exactly as the app scores long texts.

The default model, an embedding bag ("fastText"-style: the mean of the n-gram embeddings, then a
logistic unit), is compared with a 1-D CNN over the same ids; docs/sentiment.md records the figures.

Names are masked (one token for every capitalized name) so that swapping "Emma" for "Linda" cannot
move a score: the names are the words the training reviews nearly always capitalize (actors,
characters, places) and the US census first names shipped in the ``names`` package (MIT).

Writes models/sentiment/{savedmodel,model.tflite,model.onnx,vocabulary.txt,person_names.txt} (and model_int8.tflite when
full-integer quantization keeps the accuracy and the probabilities; see ``drop_int8_if_worse``),
samples/sentiment/reviews.csv and the "sentiment" entry of models/manifest.json.
"""

# ## Setup

from __future__ import annotations

import argparse
import importlib.resources

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import data_path, evaluate_formats, manifest_entry, share, start_run, training_record
from keras import layers, ops

from showcase import datasets, paths, runtime
from showcase import manifest as manifest_lib
from showcase.export import export_all, export_savedmodel, export_tflite
from showcase.formats import SAVEDMODEL, TFLITE_INT8
from showcase.tasks import sentiment

SEED = 1337
VALIDATION_SIZE = 2500
BATCH_SIZE = 64
DATA_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
COMMAND = "python training/train_sentiment.py --data ../shared/data/aclImdb_v1_labeled.tar.gz"
# Full-int8 quantization is kept only if it costs at most this much test accuracy...
INT8_TOLERANCE = 0.002
# ... and only if no test review's probability moves by more than this from the SavedModel's.
INT8_MAX_PROBABILITY_DIFFERENCE = 0.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to the aclImdb tarball; default: $IMDB_TARBALL or download")
    parser.add_argument("--architecture", choices=("bag", "cnn"), default="bag")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--max-terms", type=int, default=200_000, help="vocabulary size (unigrams + bigrams)")
    parser.add_argument("--embedding-dim", type=int, default=8)
    parser.add_argument("--no-export", action="store_true", help="train and evaluate only (for comparisons)")
    return parser.parse_args()


# ## Data


def load_imdb(path):
    """{"train": (texts, labels), "test": (texts, labels)} read straight from the tarball, sorted by file name."""
    if path is None:
        path = keras.utils.get_file("aclImdb_v1.tar.gz", DATA_URL)
    return datasets.imdb(path)


def census_first_names():
    """Lower-case US census first names (1990, male and female), from the ``names`` package's data files."""
    package = importlib.resources.files("names")
    lines = [line for file in ("dist.male.first", "dist.female.first")
             for line in package.joinpath(file).read_text().splitlines()]
    return {line.split()[0].lower() for line in lines if line.strip()}


def encode_reviews(vocabulary, texts, labels):
    """Chunk ids of every review: (ids (chunks, WINDOW), chunk labels, review index of each chunk)."""
    encoded = [vocabulary.encode_chunks(review) for review in texts]
    owner = np.concatenate([np.full(len(rows), index) for index, rows in enumerate(encoded)])
    return np.concatenate(encoded), labels[owner].astype("float32"), owner


def make_dataset(ids, labels, shuffle=False):
    dataset = tf.data.Dataset.from_tensor_slices((ids, labels))
    if shuffle:
        dataset = dataset.shuffle(len(ids), seed=SEED)
    return dataset.batch(BATCH_SIZE if shuffle else 1024).prefetch(tf.data.AUTOTUNE)


# ## Model


def build_bag_model(vocabulary_size, embedding_dim):
    """Mean of the n-gram embeddings (padding excluded), dropout, one logistic unit.

    The mean is written out (mask, sum, divide) rather than with Keras masking so that the exported
    graph holds only plain ops that TFLite builtins and ONNX both have.
    """
    ids = keras.Input(shape=(sentiment.WINDOW,), dtype="int32", name="token_ids")
    embedded = layers.Embedding(vocabulary_size, embedding_dim, name="ngram_embedding")(ids)
    mask = ops.expand_dims(ops.cast(ops.not_equal(ids, sentiment.PADDING_ID), "float32"), -1)
    mean = ops.sum(embedded * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
    x = layers.Dropout(0.5)(mean)
    probability = layers.Dense(1, activation="sigmoid", name="positive_probability")(x)
    return keras.Model(ids, probability, name="ngram_embedding_bag")


def build_cnn_model(vocabulary_size, embedding_dim):
    """Embedding, two 1-D convolutions (width 5, 64 filters), global max pooling, a logistic unit."""
    ids = keras.Input(shape=(sentiment.WINDOW,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocabulary_size, embedding_dim, name="ngram_embedding")(ids)
    x = layers.Conv1D(64, 5, activation="relu")(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Conv1D(64, 5, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.5)(x)
    probability = layers.Dense(1, activation="sigmoid", name="positive_probability")(x)
    return keras.Model(ids, probability, name="ngram_cnn")


# ## Train


def train(model, train_data, validation_data, epochs, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    # Bags of n-grams overfit within a few epochs: keep the weights of the best validation epoch.
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    history = model.fit(train_data, validation_data=validation_data, epochs=epochs, callbacks=[stop], verbose=2)
    return len(history.history["loss"])


# ## Evaluate


def review_accuracy(chunk_probabilities, owner, labels):
    """Accuracy when each review's probability is the mean of its chunks' probabilities."""
    probabilities = sentiment.average_by_owner(np.ravel(chunk_probabilities), owner, len(labels))
    return float(np.mean((probabilities >= 0.5) == labels)), probabilities


def evaluate_test_reviews(formats, test_ids, test_owner, test_labels):
    """Test accuracy of every exported format and its agreement with the SavedModel; and the SavedModel's
    review probabilities."""

    def review_probabilities(predictor):
        chunk_probabilities = np.concatenate([predictor.predict(batch) for batch in np.array_split(test_ids, 50)])
        return review_accuracy(chunk_probabilities, test_owner, test_labels)[1]

    def figures(probabilities, reference):
        return {
            "accuracy": share((probabilities >= 0.5) == test_labels),
            "label_agreement_with_savedmodel": share((probabilities >= 0.5) == (reference >= 0.5)),
            "max_abs_probability_difference": round(float(np.abs(probabilities - reference).max()), 6),
        }

    per_format, probabilities = evaluate_formats("sentiment", formats, review_probabilities, figures)
    return per_format, probabilities[SAVEDMODEL]


def describe_comparison_model(model, vocabulary, architecture):
    """TFLite size and 200-word latency of a model trained with --no-export (for the architecture comparison)."""
    directory = paths.CACHE_DIR / f"sentiment_{architecture}"
    savedmodel = export_savedmodel(model, directory / "savedmodel")
    predictor = runtime.TFLitePredictor(export_tflite(savedmodel, directory / "model.tflite"))
    latency = sentiment.benchmark(predictor, vocabulary, runs=200)
    size = (directory / "model.tflite").stat().st_size
    print(f"{architecture}: TFLite {size / 1e6:.2f} MB, 200-word review p50 {latency['p50']} ms.")


def drop_int8_if_worse(entry, per_format):
    """Remove the full-int8 TFLite artifact when it loses accuracy or moves any review's probability too much.

    Averaging 8-d embeddings over a few hundred ids survives int8 on long reviews, but a short text has
    few ids, its mean lands outside the calibrated activation range and the probability can jump (by
    0.42 at worst on the test set in the first run). Its figures stay in ``extra`` for the record.
    """
    int8 = per_format.get(TFLITE_INT8)
    if int8 is None:
        return
    worse = int8["accuracy"] < per_format[SAVEDMODEL]["accuracy"] - INT8_TOLERANCE
    if worse or int8["max_abs_probability_difference"] > INT8_MAX_PROBABILITY_DIFFERENCE:
        entry["extra"]["tflite_int8_rejected"] = per_format.pop(TFLITE_INT8)
        del entry["artifacts"][TFLITE_INT8]
        (paths.MODELS_DIR / "sentiment" / "model_int8.tflite").unlink(missing_ok=True)


# ## Export


def write_samples(texts, labels):
    """A tiny CSV of real test reviews (plus an empty cell) for the page's batch mode and the tests."""
    directory = paths.SAMPLES_DIR / "sentiment"
    directory.mkdir(parents=True, exist_ok=True)
    picks = [index for index in range(0, len(texts), 997) if len(sentiment.words(texts[index])) < 120][:8]
    rows = [{"review": texts[index], "true_label": "positive" if labels[index] else "negative"} for index in picks]
    rows.append({"review": "", "true_label": ""})
    pd.DataFrame(rows).to_csv(directory / "reviews.csv", index=False)


def main() -> None:
    args = parse_args()
    stopwatch = start_run(SEED)
    data = load_imdb(data_path(args.data, "IMDB_TARBALL"))
    train_texts, train_labels = data["train"]
    test_texts, test_labels = data["test"]
    # The validation reviews are a seeded random sample of the training split, never seen by the vocabulary.
    order = np.random.default_rng(SEED).permutation(len(train_texts))
    validation_index, fit_index = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    fit_texts = [train_texts[i] for i in fit_index]
    person_names = sentiment.capitalized_names(fit_texts, census_first_names())
    vocabulary = sentiment.Vocabulary.build(fit_texts, args.max_terms, person_names=person_names)
    fit_ids, fit_labels, _ = encode_reviews(vocabulary, fit_texts, train_labels[fit_index])
    validation_ids, validation_labels, _ = encode_reviews(
        vocabulary, [train_texts[i] for i in validation_index], train_labels[validation_index]
    )
    test_ids, _, test_owner = encode_reviews(vocabulary, test_texts, test_labels)
    print(f"{len(vocabulary)} ids, {len(person_names)} person names; {len(fit_ids)} training chunks from "
          f"{len(fit_texts)} reviews; {len(test_ids)} test chunks from {len(test_texts)} reviews.")

    builder = {"bag": build_bag_model, "cnn": build_cnn_model}[args.architecture]
    model = builder(len(vocabulary), args.embedding_dim)
    model.summary(print_fn=lambda line, **_: print(line))
    epochs_run = train(
        model,
        make_dataset(fit_ids, fit_labels, shuffle=True),
        make_dataset(validation_ids, validation_labels),
        args.epochs,
        learning_rate=5e-3 if args.architecture == "bag" else 1e-3,
    )
    training_seconds = stopwatch.seconds
    keras_accuracy, _ = review_accuracy(model.predict(test_ids, batch_size=1024, verbose=0), test_owner, test_labels)
    print(f"{args.architecture}: test accuracy {keras_accuracy:.4f} ({len(test_texts)} reviews), "
          f"{model.count_params()} parameters, trained in {training_seconds:.0f} s.")
    if args.no_export:
        describe_comparison_model(model, vocabulary, args.architecture)
        return

    output_dir = paths.MODELS_DIR / "sentiment"
    calibration = fit_ids[np.random.default_rng(SEED).choice(len(fit_ids), 256, replace=False)]
    artifacts = export_all(model, output_dir, lambda: np.array_split(calibration, 256))
    vocabulary_path = vocabulary.save(output_dir / sentiment.VOCABULARY_FILE)
    names_path = vocabulary.save_person_names(output_dir / sentiment.PERSON_NAMES_FILE)
    write_samples(test_texts, test_labels)

    entry = manifest_entry(
        "sentiment",
        title="Movie review sentiment",
        task="binary text classification (negative / positive)",
        summary="Type or paste a movie review; an n-gram embedding bag trained on IMDB says how positive it "
        "is and which words drove that.",
        labels=["negative", "positive"],
        input_shape=(sentiment.WINDOW,), input_dtype="int32", input_range=(0, len(vocabulary) - 1),
        preprocessing=sentiment.PREPROCESSING_ID,
        data=f"IMDB Large Movie Review Dataset: {len(fit_texts)} training and {VALIDATION_SIZE} "
        f"validation reviews (a seeded random sample of the train split), {len(test_texts)} test reviews "
        "(the labeled test split, 4 corrupted files left out). Reviews are polar: ≤4 or ≥7 stars of 10.",
        data_source="Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011 "
        "(ai.stanford.edu/~amaas/data/sentiment)",
        data_license="for research use; cite Maas et al. (2011)",
        architecture=f"Embedding bag: {len(vocabulary) - 1:,} unigrams and bigrams → {args.embedding_dim}-d "
        f"embeddings, averaged over the ids of a {sentiment.WORDS_PER_CHUNK}-word window (padding excluded), "
        "dropout 0.5, one sigmoid unit. Longer reviews are scored per window and averaged. Capitalized "
        f"names ({len(person_names):,} proper nouns of the reviews and census first names, and unknown "
        "capitalized words) share one token. Adam (5e-3), early stopping on validation loss.",
        artifacts=artifacts,
        parameters=model.count_params(),
        training=training_record(training_seconds, epochs_run, SEED, BATCH_SIZE, COMMAND),
        metrics={"dataset": "IMDB", "split": "test", "n": len(test_texts), "headline": "accuracy", "values": {}},
        extra={
            "vocabulary": manifest_lib.describe_artifact(vocabulary_path) | {"terms": len(vocabulary) - 1},
            "person_names": manifest_lib.describe_artifact(names_path) | {"names": len(person_names)},
            "words_per_chunk": sentiment.WORDS_PER_CHUNK,
            "window": sentiment.WINDOW,
        },
    )
    manifest_lib.update_model_entry(entry)

    per_format, reference = evaluate_test_reviews(list(artifacts), test_ids, test_owner, test_labels)
    drop_int8_if_worse(entry, per_format)
    predictions = (reference >= 0.5).astype(int)
    entry["metrics"]["values"] = {
        "accuracy": per_format[SAVEDMODEL]["accuracy"],
        "precision": round(float(np.sum(predictions & test_labels) / max(np.sum(predictions), 1)), 5),
        "recall": round(float(np.sum(predictions & test_labels) / np.sum(test_labels)), 5),
    }
    entry["metrics"]["per_format"] = per_format
    manifest_lib.update_model_entry(entry)
    entry["extra"]["latency_200_words_ms"] = sentiment.benchmark_formats(entry)
    manifest_lib.update_model_entry(entry)
    print(f"Test accuracy {entry['metrics']['values']['accuracy']:.4f}; trained in {training_seconds:.0f} s.")
    for name, figures in per_format.items():
        print(f"  {name:12s} {figures} p50 {entry['extra']['latency_200_words_ms'][name]}")


if __name__ == "__main__":
    main()
