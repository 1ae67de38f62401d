"""Movie review sentiment: naive-Bayes-weighted n-grams with a learned linear layer, trained on IMDB.

Run:
    python training/train_sentiment.py --data ../shared/data/aclImdb_v1_labeled.tar.gz

Without ``--data`` (or ``$IMDB_TARBALL``) the script downloads the public ``aclImdb_v1.tar.gz``. The
tarball is read in place with ``tarfile`` (nothing is extracted). Reviews are normalized and turned into
the ids of their known unigrams, bigrams and trigrams by ``showcase.tasks.sentiment``, the module the app
uses too, so training and serving cannot drift apart.

The model is NBSVM's idea (Wang & Manning 2012, "Baselines and Bigrams") written as a TF model: each
review is the set of its n-grams (binary presence); each n-gram's naive-Bayes log-count ratio r, computed
on the training reviews, is a fixed weight, and a learned factor per n-gram and a bias on top make a
logistic regression on the r-scaled features (L2-regularized, Adam, early stopping on validation loss).
The served model folds r and the learned factors into one weight per id, so it is an embedding bag of
width 1: the review's logit is the bias plus the sum of its n-grams' weights, which the page splits
exactly into one share per word.

The vocabulary is a hashed table of the n-grams found in at least two training reviews
(``sentiment.Vocabulary``): 2 MB instead of a file listing about 800,000 n-grams.

Classical baselines are measured in the same run on the same words, with scikit-learn (dev requirements
only): TF-IDF logistic regression on unigrams and bigrams, and NB-weighted logistic regression on
unigrams + bigrams and on unigrams + bigrams + trigrams with a vocabulary of the most frequent n-grams.
Their regularization is chosen on the validation reviews; test reviews are used only for the final numbers.

Names are masked (one token for every capitalized name) so that swapping "Emma" for "Linda" cannot
move a score: the names are the words the training reviews nearly always capitalize (actors,
characters, places) and the US census first names shipped in the ``names`` package (MIT).

Writes models/sentiment/{savedmodel,model.tflite,model.onnx,ngram_table.npy,person_names.txt} (and
model_int8.tflite when full-integer quantization keeps the accuracy and the probabilities; see
``drop_int8_if_worse``), samples/sentiment/reviews.csv and the "sentiment" entry of models/manifest.json.
"""

# ## Setup

from __future__ import annotations

import argparse
import importlib.resources
import shutil
import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import data_path, evaluate_formats, manifest_entry, share, start_run, training_record
from keras import layers, ops

from showcase import datasets, paths
from showcase import manifest as manifest_lib
from showcase.export import export_all
from showcase.formats import SAVEDMODEL, TFLITE_INT8
from showcase.tasks import sentiment

SEED = 1337
VALIDATION_SIZE = 2500
BATCH_SIZE = 64
DATA_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
COMMAND = "python training/train_sentiment.py --data ../shared/data/aclImdb_v1_labeled.tar.gz"
# Laplace smoothing of the naive-Bayes counts (Wang & Manning's alpha).
NB_SMOOTHING = 1.0
# Full-int8 quantization is kept only if it costs at most this much test accuracy...
INT8_TOLERANCE = 0.002
# ... and only if no test review's probability moves by more than this from the SavedModel's.
INT8_MAX_PROBABILITY_DIFFERENCE = 0.05
# The inverse regularization strengths the baselines choose from on the validation reviews.
BASELINE_C = (0.1, 0.5, 1.0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="path to the aclImdb tarball; default: $IMDB_TARBALL or download")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--l2", type=float, default=4e-5, help="L2 penalty on the learned factors (sum of squares)")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--no-export", action="store_true", help="train and evaluate only (for comparisons)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the scikit-learn baselines")
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


def review_ids(vocabulary, tokens):
    """The distinct ids of one review's known n-grams, as the served model reads them (without the rows)."""
    return np.unique(vocabulary.occurrences(tokens)[0]).astype(np.int32)


def padded(id_lists):
    """Id lists right-padded with 0 into one int32 array (reviews, longest list)."""
    array = np.zeros((len(id_lists), max(len(ids) for ids in id_lists)), dtype=np.int32)
    for row, ids in zip(array, id_lists):
        row[: len(ids)] = ids
    return array


def nb_ratios(id_lists, labels, buckets):
    """Wang & Manning's log-count ratio per id: log((p / |p|_1) / (q / |q|_1)), p and q the smoothed counts of
    positive and negative reviews holding the id; 0 for the padding id."""
    counts = np.zeros((2, buckets))
    for ids, label in zip(id_lists, labels):
        counts[int(label), ids] += 1
    negative, positive = counts + NB_SMOOTHING
    ratios = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    ratios[sentiment.PADDING_ID] = 0.0
    return ratios.astype("float32")


def make_dataset(ids, labels, shuffle=False):
    dataset = tf.data.Dataset.from_tensor_slices((ids, labels.astype("float32")))
    if shuffle:
        dataset = dataset.shuffle(len(ids), seed=SEED)
    return dataset.batch(BATCH_SIZE if shuffle else 512).prefetch(tf.data.AUTOTUNE)


# ## Model


class NgramLogit(layers.Layer):
    """Bias + sum over the input ids of ratio[id] * factor[id]: logistic regression on NB-scaled binary n-grams.

    ``ratio`` is fixed (the naive-Bayes log-count ratios); ``factor`` is learned, starting at zero, with an L2
    penalty. Padding (id 0) has ratio 0, so it adds nothing. The sum is written out (gather, multiply, sum)
    so the exported graph holds only plain ops that TFLite builtins and ONNX both have.
    """

    def __init__(self, ratios=None, buckets=None, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.buckets = len(ratios) if ratios is not None else buckets
        self.initial_ratios = ratios
        self.l2 = l2

    def build(self, input_shape):
        self.ratio = self.add_weight(name="nb_ratio", shape=(self.buckets,), trainable=False, initializer="zeros")
        if self.initial_ratios is not None:
            self.ratio.assign(self.initial_ratios)
        self.factor = self.add_weight(name="factor", shape=(self.buckets,), initializer="zeros",
                                      regularizer=keras.regularizers.L2(self.l2) if self.l2 else None)
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def weights_per_id(self):
        return ops.convert_to_numpy(self.ratio * self.factor)

    def call(self, ids):
        weights = ops.take(self.ratio, ids) * ops.take(self.factor, ids)
        return ops.sum(weights, axis=1, keepdims=True) + self.bias


def build_training_model(ratios, l2):
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    logit = NgramLogit(ratios, l2=l2, name="nb_logistic_regression")(ids)
    return keras.Model(ids, logit, name="nb_ngram_logistic_regression")


def build_served_model(weights, bias):
    """The exported model: a row of ``WINDOW`` ids -> its logit, the bias plus the sum of the ids' weights."""
    ids = keras.Input(shape=(sentiment.WINDOW,), dtype="int32", name="token_ids")
    embedding = layers.Embedding(len(weights), 1, name="ngram_weights")
    logit = layers.Identity(name="positive_logit")(ops.sum(embedding(ids), axis=1) + np.float32(bias))
    weights = np.array(weights, dtype="float32")
    weights[sentiment.PADDING_ID] = 0.0  # Padding adds nothing (its NB ratio is 0 already).
    embedding.set_weights([weights[:, None]])
    return keras.Model(ids, logit, name="nb_ngram_embedding_bag")


def export_folded_savedmodel(weights, bias, directory):
    """The served model as a SavedModel whose weights are constants of its one function (8.4 MB).

    Keras's export stores the 2^21 weights twice (16.8 MB), and a SavedModel that holds them in a variable converts
    to a TFLite file without them (the Formats page converts the committed SavedModel into its variants).
    """
    shutil.rmtree(directory, ignore_errors=True)
    weights = tf.constant(np.asarray(weights, dtype="float32")[:, None])
    bias = tf.constant(np.float32(bias))

    @tf.function(input_signature=[tf.TensorSpec((None, sentiment.WINDOW), tf.int32, name="token_ids")])
    def serve(token_ids):
        return tf.reduce_sum(tf.gather(weights, token_ids), axis=1) + bias

    root = tf.Module()
    root.serve = serve
    tf.saved_model.save(root, str(directory), signatures={"serving_default": serve})
    return directory


# ## Train


def train(model, train_data, validation_data, epochs, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)],
    )
    # Millions of weights on 22,496 reviews overfit quickly: keep the weights of the best validation epoch.
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    history = model.fit(train_data, validation_data=validation_data, epochs=epochs, callbacks=[stop], verbose=2)
    return len(history.history["loss"])


# ## Baselines


def ngram_strings(tokens, order):
    return [term for term, _ in sentiment.ngrams(tokens) if term.count(" ") < order]


def baselines(fit_tokens, fit_labels, validation_tokens, validation_labels, test_tokens, test_labels):
    """The classical baselines on the same words: {name: {"accuracy", "validation_accuracy", "C", "features",
    "seconds", "source"}}. Each one's C is chosen on the validation reviews."""
    import scipy.sparse
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def fit_best(name, vectorizer, nb_weighted, source):
        start = time.perf_counter()
        x_fit = vectorizer.fit_transform(fit_tokens)
        x_validation, x_test = vectorizer.transform(validation_tokens), vectorizer.transform(test_tokens)
        if nb_weighted:
            positive = np.asarray(x_fit[fit_labels == 1].sum(0)).ravel() + NB_SMOOTHING
            negative = np.asarray(x_fit[fit_labels == 0].sum(0)).ravel() + NB_SMOOTHING
            scale = scipy.sparse.diags(np.log(positive / positive.sum()) - np.log(negative / negative.sum()))
            x_fit, x_validation, x_test = x_fit @ scale, x_validation @ scale, x_test @ scale
        best = None
        for c in BASELINE_C:
            model = LogisticRegression(C=c, solver="liblinear", max_iter=1000).fit(x_fit, fit_labels)
            accuracy = float(np.mean(model.predict(x_validation) == validation_labels))
            if best is None or accuracy > best[0]:
                best = (accuracy, c, model)
        accuracy, c, model = best
        figures = {"accuracy": share(model.predict(x_test) == test_labels), "validation_accuracy": round(accuracy, 5),
                   "C": c, "features": int(x_fit.shape[1]), "seconds": round(time.perf_counter() - start, 1),
                   "source": source}
        print(f"baseline {name}: {figures}")
        return figures

    def analyzer(order):
        return lambda tokens: ngram_strings(tokens, order)

    return {
        "tfidf_lr_uni_bi": fit_best(
            "TF-IDF LR", TfidfVectorizer(analyzer=analyzer(2), min_df=2, sublinear_tf=True), False,
            "TF-IDF (sublinear tf, n-grams in ≥2 reviews) + logistic regression, scikit-learn"),
        "nb_lr_uni_bi": fit_best(
            "NB-LR 1-2", CountVectorizer(analyzer=analyzer(2), binary=True, max_features=1_500_000), True,
            "NBSVM-style NB-weighted logistic regression (Wang & Manning 2012), up to the 1.5M most frequent n-grams"),
        "nb_lr_uni_bi_tri": fit_best(
            "NB-LR 1-3", CountVectorizer(analyzer=analyzer(3), binary=True, max_features=2_000_000), True,
            "NB-weighted logistic regression with trigrams (as Mesnil et al. 2015), up to the 2M most frequent n-grams"),
    }


# ## Evaluate


def evaluate_test_reviews(formats, vocabulary, test_tokens, test_labels):
    """Test accuracy of every exported format and its agreement with the SavedModel; and the SavedModel's
    review probabilities."""
    rows = [vocabulary.encode_words(tokens) for tokens in test_tokens]
    owner = np.concatenate([np.full(len(review_rows), index) for index, review_rows in enumerate(rows)])
    rows = np.concatenate(rows)

    def review_probabilities(predictor):
        row_logits = np.concatenate([predictor.predict(batch) for batch in np.array_split(rows, 100)])
        return sentiment.review_probabilities(row_logits[:, 0], owner, len(test_labels))

    def figures(probabilities, reference):
        return {
            "accuracy": share((probabilities >= 0.5) == test_labels),
            "label_agreement_with_savedmodel": share((probabilities >= 0.5) == (reference >= 0.5)),
            "max_abs_probability_difference": round(float(np.abs(probabilities - reference).max()), 6),
        }

    per_format, probabilities = evaluate_formats("sentiment", formats, review_probabilities, figures)
    return per_format, probabilities[SAVEDMODEL]


def drop_int8_if_worse(entry, per_format):
    """Remove the full-int8 TFLite artifact when it loses accuracy or moves any review's probability too much.

    Its figures stay in ``extra`` for the record.
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
    validation_texts = [train_texts[i] for i in validation_index]
    fit_labels, validation_labels = train_labels[fit_index], train_labels[validation_index]
    person_names = sentiment.capitalized_names(fit_texts, census_first_names())
    vocabulary = sentiment.Vocabulary.build(fit_texts, person_names=person_names)
    fit_tokens, validation_tokens, test_tokens = (
        [vocabulary.words(text) for text in texts] for texts in (fit_texts, validation_texts, test_texts))
    fit_ids = [review_ids(vocabulary, tokens) for tokens in fit_tokens]
    validation_ids = [review_ids(vocabulary, tokens) for tokens in validation_tokens]
    print(f"{vocabulary.size:,} n-grams in {vocabulary.buckets:,} buckets, {len(person_names)} person names; "
          f"{len(fit_texts)} training, {len(validation_texts)} validation, {len(test_texts)} test reviews "
          f"({stopwatch.seconds:.0f} s).")

    ratios = nb_ratios(fit_ids, fit_labels, vocabulary.buckets)
    model = build_training_model(ratios, args.l2)
    epochs_run = train(
        model,
        make_dataset(padded(fit_ids), fit_labels, shuffle=True),
        make_dataset(padded(validation_ids), validation_labels),
        args.epochs,
        args.learning_rate,
    )
    training_seconds = stopwatch.seconds
    layer = model.get_layer("nb_logistic_regression")
    served = build_served_model(layer.weights_per_id(), float(ops.convert_to_numpy(layer.bias)[0]))
    test_rows = [vocabulary.encode_words(tokens) for tokens in test_tokens]
    owner = np.concatenate([np.full(len(rows), index) for index, rows in enumerate(test_rows)])
    row_logits = served.predict(np.concatenate(test_rows), batch_size=1024, verbose=0)[:, 0]
    keras_accuracy = share((sentiment.review_logits(row_logits, owner, len(test_labels)) >= 0) == test_labels)
    print(f"Test accuracy {keras_accuracy:.4f} ({len(test_texts)} reviews), {vocabulary.size:,} learned weights, "
          f"trained in {training_seconds:.0f} s.")
    compared = {} if args.no_baselines else baselines(
        fit_tokens, fit_labels, validation_tokens, validation_labels, test_tokens, test_labels)
    if args.no_export:
        return

    output_dir = paths.MODELS_DIR / "sentiment"
    calibration_rows = np.concatenate([vocabulary.encode_words(tokens) for tokens in fit_tokens[:256]])
    artifacts = export_all(served, output_dir, lambda: np.array_split(calibration_rows, len(calibration_rows)))
    layer_weights = served.get_layer("ngram_weights").get_weights()[0][:, 0]
    export_folded_savedmodel(layer_weights, float(ops.convert_to_numpy(layer.bias)[0]), output_dir / "savedmodel")
    vocabulary_path = vocabulary.save(output_dir / sentiment.VOCABULARY_FILE)
    names_path = vocabulary.save_person_names(output_dir / sentiment.PERSON_NAMES_FILE)
    write_samples(test_texts, test_labels)

    entry = manifest_entry(
        "sentiment",
        title="Movie review sentiment",
        task="binary text classification (negative / positive)",
        summary="Type or paste a movie review; naive-Bayes-weighted n-grams with a learned linear layer, trained "
        "on IMDB, say how positive it is and which words drove that.",
        labels=["negative", "positive"],
        input_shape=(sentiment.WINDOW,), input_dtype="int32", input_range=(0, vocabulary.buckets - 1),
        preprocessing=sentiment.PREPROCESSING_ID,
        data=f"IMDB Large Movie Review Dataset: {len(fit_texts)} training and {VALIDATION_SIZE} "
        f"validation reviews (a seeded random sample of the train split), {len(test_texts)} test reviews "
        "(the labeled test split, 4 corrupted files left out). Reviews are polar: ≤4 or ≥7 stars of 10.",
        data_source="Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011 "
        "(ai.stanford.edu/~amaas/data/sentiment)",
        data_license="for research use; cite Maas et al. (2011)",
        architecture=f"NB-weighted n-gram logistic regression (NBSVM's features, Wang & Manning 2012) as a TF "
        f"model: the {vocabulary.size:,} unigrams, bigrams and trigrams found in ≥{sentiment.MIN_DOCUMENTS} "
        f"training reviews, in a hashed table of {vocabulary.buckets:,} buckets; binary presence × fixed "
        "naive-Bayes log-count ratio × a learned factor per n-gram, summed, plus a bias, into one logit (L2 "
        f"{args.l2:g}, Adam {args.learning_rate:g}, early stopping on validation loss). Served folded: one weight "
        f"per id, {sentiment.WINDOW} ids per row, a review's logit the sum over its rows. Capitalized names "
        f"({len(person_names):,} proper nouns of the reviews and census first names, and unknown capitalized "
        "words) share one token.",
        artifacts=artifacts,
        parameters=vocabulary.buckets + 1,
        training=training_record(training_seconds, epochs_run, SEED, BATCH_SIZE, COMMAND),
        metrics={"dataset": "IMDB", "split": "test", "n": len(test_texts), "headline": "accuracy", "values": {}},
        extra={
            "vocabulary": manifest_lib.describe_artifact(vocabulary_path)
            | {"ngrams": vocabulary.size, "buckets": vocabulary.buckets, "min_documents": sentiment.MIN_DOCUMENTS},
            "person_names": manifest_lib.describe_artifact(names_path) | {"names": len(person_names)},
            "window": sentiment.WINDOW,
            "baselines": compared,
        },
    )
    manifest_lib.update_model_entry(entry)

    per_format, reference = evaluate_test_reviews(list(artifacts), vocabulary, test_tokens, test_labels)
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
