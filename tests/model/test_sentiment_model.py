"""Behavioural checks on the committed sentiment model in every format, its manifest entry and its speed."""

import re
import tarfile

import jsonschema
import numpy as np
import pytest

from showcase import calibration, paths, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import sentiment
from showcase.tasks import sentiment as recipe
from tests.conftest import shared_file_or_skip

ENTRY = manifest_lib.model_entry("sentiment")
FORMATS = list(ENTRY["artifacts"])


@pytest.fixture(scope="module")
def vocabulary():
    return sentiment.load_vocabulary(ENTRY)


@pytest.fixture(scope="module", params=FORMATS)
def predictor(request):
    return runtime.load("sentiment", request.param)


def probability(predictor, vocabulary, review):
    return sentiment.score_text(predictor, vocabulary, review).probability


def test_manifest_entry_is_valid_and_meets_the_targets():
    schema = manifest_lib.json.loads(manifest_lib.SCHEMA_PATH.read_text())
    jsonschema.validate(manifest_lib.load_manifest(), schema)
    assert ENTRY["metrics"]["n"] == 24_996
    assert ENTRY["metrics"]["values"]["accuracy"] >= 0.917
    for name in FORMATS:
        assert ENTRY["metrics"]["per_format"][name]["accuracy"] >= 0.917, name
    # The served model matches or beats every classical baseline measured in the same training run.
    baselines = ENTRY["extra"]["baselines"]
    assert set(baselines) == {"tfidf_lr_uni_bi", "nb_lr_uni_bi", "nb_lr_uni_bi_tri"}
    assert ENTRY["metrics"]["values"]["accuracy"] >= max(figures["accuracy"] for figures in baselines.values())
    assert ENTRY["training"]["seconds"] <= 30 * 60
    assert ENTRY["input"]["dtype"] == "int32" and ENTRY["input"]["shape"] == [None, recipe.WINDOW]


def test_artifacts_and_vocabulary_match_the_manifest_and_fit_in_30_mb():
    records = list(ENTRY["artifacts"].values()) + [ENTRY["extra"][key] for key in ("vocabulary", "person_names")]
    assert [manifest_lib.verify_artifact(record) for record in records] == [None] * len(records)
    assert sum(record["bytes"] for record in records) <= 30_000_000


def test_negation_lowers_the_score(predictor, vocabulary):
    assert probability(predictor, vocabulary, "not good") < probability(predictor, vocabulary, "good")
    assert probability(predictor, vocabulary, "The movie was not good.") < probability(
        predictor, vocabulary, "The movie was good.")
    assert probability(predictor, vocabulary, "It was not bad at all.") > probability(
        predictor, vocabulary, "It was bad.")


def test_directional_expectations(predictor, vocabulary):
    great, okay, awful = (probability(predictor, vocabulary, review)
                          for review in ("a great, moving film", "an okay film", "an awful, boring film"))
    assert great > okay > awful
    assert great > 0.5 > awful


INVARIANCE_TEMPLATES = [
    "{} gives a strong performance in this great, moving film.",
    "{} is wasted in an awful, boring film.",
    "The movie was fine. {} plays the lead and the story is okay.",
    # In a short, neutral text every n-gram weighs a lot: before names were masked, "Emma" gave 0.60 here
    # and "Linda" 0.03.
    "I watched this with {} last night. Some scenes work, some do not.",
]
NAME_PAIRS = [("Emma", "Linda"), ("John", "Maria"), ("Michael", "Aisha"), ("Emma", "Wei"), ("Robert", "Priya"),
              ("Sarah", "Carlos")]


@pytest.mark.parametrize("template", INVARIANCE_TEMPLATES)
def test_swapping_person_names_barely_moves_the_score(predictor, vocabulary, template):
    for first, second in NAME_PAIRS:
        difference = abs(probability(predictor, vocabulary, template.format(first))
                         - probability(predictor, vocabulary, template.format(second)))
        assert difference < 0.05, (template, first, second, difference)


def test_word_effects_point_the_right_way(predictor, vocabulary):
    review = "The plot was awful and boring, but the acting was great and the ending wonderful."
    effects = dict(zip(recipe.words(review), sentiment.word_effects(predictor, vocabulary, review)))
    assert effects["great"] > 0 and effects["wonderful"] > 0
    assert effects["awful"] < 0 and effects["boring"] < 0


def test_formats_agree(vocabulary):
    reviews = sentiment.read_csv_upload((paths.SAMPLES_DIR / "sentiment" / "reviews.csv").read_bytes())[0]["review"]
    batch = np.concatenate([vocabulary.encode(review) for review in reviews if review.strip()])
    reference = runtime.load("sentiment", "savedmodel").predict(batch)
    for name in FORMATS:
        # Row logits: float formats agree to rounding; full int8 to a few of its steps.
        tolerance = 0.3 if name == "tflite_int8" else 1e-3
        np.testing.assert_allclose(runtime.load("sentiment", name).predict(batch), reference, atol=tolerance)


def test_the_explanation_adds_up_to_the_reviews_logit(predictor, vocabulary):
    """The word shares plus the bias are the review's logit, in every format, for short and long reviews."""
    bias = float(predictor.predict(np.zeros((1, recipe.WINDOW), dtype=np.int32))[0, 0])
    samples = sentiment.read_csv_upload(sentiment.SAMPLE_CSV.read_bytes())[0]["review"].fillna("")
    long_review = " ".join(samples)
    assert len(vocabulary.encode(long_review)) >= 3  # Several rows of ids, and the empty one.
    tolerance = 0.5 if predictor.format_name == "tflite_int8" else 1e-3
    for review in [*sentiment.EXAMPLES.values(), long_review]:
        effects = sentiment.word_effects(predictor, vocabulary, review)
        logit = sentiment.score_text(predictor, vocabulary, review).logit
        assert bias + effects.sum() == pytest.approx(logit, abs=tolerance)


# The label the page shows for each example button (the TFLite format, the page's default, and every other).
EXAMPLE_LABELS = {"Rave": "positive", "Pan": "negative", "Mixed": "negative", "Negation": "negative"}


def test_the_classifier_gives_the_examples_the_pages_calibrated_scores_and_highlights(predictor, vocabulary):
    """What the page showed before it used the class: score_text and word_effects with the format's temperature."""
    temperature = calibration.temperature(ENTRY, predictor.format_name)
    classifier = sentiment.SentimentClassifier(predictor, vocabulary, ENTRY)
    for name, review in sentiment.EXAMPLES.items():
        result = classifier.score(review)
        assert result.probability == sentiment.score_text(predictor, vocabulary, review, temperature).probability
        assert result.label == EXAMPLE_LABELS[name], name
        effects = sentiment.word_effects(predictor, vocabulary, review, temperature)
        assert result.pieces == sentiment.highlighted_pieces(review, effects)


def test_the_classifier_scores_the_sample_csv_as_the_page_did(predictor, vocabulary):
    table, _, columns = sentiment.read_reviews(sentiment.SAMPLE_CSV.read_bytes())
    scored = sentiment.SentimentClassifier(predictor, vocabulary, ENTRY).score_table(table, columns[0])
    temperature = calibration.temperature(ENTRY, predictor.format_name)
    before = sentiment.score_table(predictor, vocabulary, table, "review", temperature=temperature).table
    assert columns[0] == "review" and scored.table.equals(before)
    # The page counted skipped rows from the notes: every note but the truncation one.
    notes = before["note"]
    assert scored.skipped == (notes != "").sum() - notes.str.startswith("only the first").sum() == scored.blank == 1
    assert scored.scored == (before["label"] != "").sum() and scored.truncated == 0


@pytest.mark.shared_data
def test_accuracy_through_the_serving_path_on_imdb_test_reviews(vocabulary):
    """Every 10th test review scored as the page scores it (TFLite) matches the manifest's accuracy."""
    member = re.compile(r"aclImdb/test/(pos|neg)/\d+_\d+\.txt$")
    reviews, labels = [], []
    with tarfile.open(shared_file_or_skip("data/aclImdb_v1_labeled.tar.gz"), "r:gz") as archive:
        for index, entry in enumerate(item for item in archive if member.match(item.name)):
            if index % 10 == 0:
                reviews.append(archive.extractfile(entry).read().decode("utf-8"))
                labels.append(entry.name.split("/")[2] == "pos")
    predictor = runtime.load("sentiment", "tflite")
    predictions = [sentiment.score_text(predictor, vocabulary, review).probability >= 0.5 for review in reviews]
    assert len(reviews) == 2500
    assert np.mean(np.array(predictions) == np.array(labels)) >= 0.90
