"""The sentiment recipe (normalization, n-grams, the hashed vocabulary, rows) and the serving helpers, with a fake
predictor.

The fake predictor gives a row the logit (number of "good" ids - number of "bad" ids), a model linear in its ids
like the real one, so these tests check the plumbing (rows, summing, word shares, CSV handling) without the
trained model.
"""

import numpy as np
import pandas as pd
import pytest

from showcase.tasks import sentiment
from showcase.tasks import sentiment as recipe

TEXTS = ["the film", "good", "not", "bad", "not good", "good film", "great"]
VOCABULARY = recipe.Vocabulary.build(TEXTS, buckets=2**12, min_documents=1)
POSITIVE_IDS = set(VOCABULARY.term_ids(["good", "good film", "great"]).tolist())
NEGATIVE_IDS = set(VOCABULARY.term_ids(["bad", "not good"]).tolist())


class FakePredictor:
    """Row logit = #positive ids - #negative ids (no bias), one row in, one logit out, like the real model."""

    format_name = "fake"

    def __init__(self):
        self.calls = []

    def predict(self, batch):
        batch = np.asarray(batch)
        assert batch.dtype == np.int32 and batch.shape[1] == recipe.WINDOW
        self.calls.append(batch.shape)
        positive = np.isin(batch, list(POSITIVE_IDS)).sum(1)
        negative = np.isin(batch, list(NEGATIVE_IDS)).sum(1)
        return (positive - negative).astype(np.float32)[:, None]


def test_normalize_strips_html_punctuation_and_apostrophes():
    raw = "I <b>didn&#39;t</b> LIKE it.<br /><br />Not good -- at all!!! 😀"
    assert recipe.normalize(raw) == "i didnt like it not good at all"


def test_non_latin_words_survive_and_emoji_vanish():
    assert recipe.words("Très bien 東京 👍👍") == ["très", "bien", "東京"]
    assert recipe.words("😀 🎬 !!! ...") == []


def test_pieces_map_back_onto_the_words():
    raw = "It's <i>great</i>,honestly!<br />Not bad... 5/10"
    assert [word for _, piece_words in recipe.pieces(raw) for word in piece_words] == recipe.words(raw)


def test_capitalized_person_names_and_unknown_capitalized_words_become_one_token():
    vocabulary = recipe.Vocabulary.build(["liked the film will emma"], buckets=2**10, min_documents=1,
                                         person_names=["emma", "will"])
    assert vocabulary.words("Emma liked the film. Will Priya? emma will") == [
        recipe.PERSON, "liked", "the", "film", recipe.PERSON, recipe.PERSON, "emma", "will"]
    # Masking replaces words one for one, so word effects still map back onto the pieces of the text.
    assert len(vocabulary.words("Priya's FILM")) == len(recipe.words("Priya's FILM"))


def test_names_are_the_listed_first_names_and_words_the_texts_capitalize():
    texts = ["Will you watch it? I will, and so will Emma.", "Emma was great.", "Seagal again. Seagal, Seagal."]
    # "will" is mostly lower case; "seagal" is always capitalized; "zoe" is listed and never contradicted.
    assert recipe.capitalized_names(texts, {"will", "emma", "zoe"}, min_count=3) == ["emma", "seagal", "zoe"]


def test_the_vocabulary_counts_masked_names_and_saves_them(tmp_path):
    vocabulary = recipe.Vocabulary.build(["Emma good", "Linda good"], buckets=2**10, min_documents=1,
                                         person_names=["emma", "linda"])
    assert vocabulary.knows([f"{recipe.PERSON} good", "good"]).all() and not vocabulary.knows(["emma"]).any()
    loaded = recipe.Vocabulary.load(vocabulary.save(tmp_path / "table.npy"),
                                    vocabulary.save_person_names(tmp_path / "names.txt"))
    assert loaded.person_names == {"emma", "linda"}
    np.testing.assert_array_equal(loaded.table, vocabulary.table)


def test_ngrams_are_unigrams_then_bigrams_then_trigrams_with_their_positions():
    assert recipe.ngrams(["not", "good", "film"]) == [
        ("not", (0,)), ("good", (1,)), ("film", (2,)), ("not good", (0, 1)), ("good film", (1, 2)),
        ("not good film", (0, 1, 2))]


def test_every_stored_ngram_has_its_own_id_and_unknown_ones_have_none():
    ids = VOCABULARY.term_ids(TEXTS + ["the", "film"])
    assert len(set(ids.tolist())) == len(ids) and (ids > 0).all() and ids.max() < VOCABULARY.buckets
    assert VOCABULARY.size == len(TEXTS) + 2
    assert VOCABULARY.term_ids(["terrible", "the good", "not good film"]).tolist() == [0, 0, 0]


def test_the_vocabulary_keeps_ngrams_found_in_enough_texts():
    vocabulary = recipe.Vocabulary.build(["good film", "good film", "good day", "bad"], buckets=2**10,
                                         min_documents=2)
    assert vocabulary.knows(["good", "film", "good film"]).all()
    assert not vocabulary.knows(["day", "bad", "good day"]).any() and vocabulary.size == 3


@pytest.mark.parametrize("length, dtype, fill, message", [
    (1000, "uint8", 0, "power of two"),
    (1024, "int64", 0, "uint8"),
    (1024, "uint8", 1, "padding"),
])
def test_a_malformed_table_is_refused(length, dtype, fill, message):
    with pytest.raises(ValueError, match=message):
        recipe.Vocabulary(np.full(length, fill, dtype=dtype))


def test_encoding_sorts_the_distinct_ids_pads_and_ends_with_an_empty_row():
    rows = VOCABULARY.encode("Not good, the film! Not good.")
    expected = sorted(set(VOCABULARY.term_ids(["not", "good", "the", "film", "not good", "the film"]).tolist()))
    assert rows.shape == (2, recipe.WINDOW) and rows.dtype == np.int32
    assert rows[0, : len(expected)].tolist() == expected and not rows[0, len(expected):].any()
    assert not rows[1].any()


def test_long_texts_take_several_rows_and_their_logits_add_up():
    words = [f"w{index}" for index in range(350)]  # 350 + 349 + 348 n-grams: two rows of ids
    vocabulary = recipe.Vocabulary.build([" ".join(words)], buckets=2**14, min_documents=1)
    rows = vocabulary.encode_words(words)
    assert rows.shape == (3, recipe.WINDOW) and (rows[:2] > 0).sum() == vocabulary.size
    # Row logits 3 and 5 with a bias of 1 (the empty row): the review's logit is 1 + 2 + 4.
    assert recipe.review_logits(np.array([3.0, 5.0, 1.0])).tolist() == [7.0]
    owner = np.array([0, 0, 0, 1, 1])
    np.testing.assert_allclose(recipe.review_logits(np.array([3.0, 5.0, 1.0, 2.0, 1.0]), owner, 2), [7.0, 2.0])


def test_score_sums_the_rows_of_a_long_text():
    fake = FakePredictor()
    score = sentiment.score_text(fake, VOCABULARY, "good " * 3 + "great bad")
    assert fake.calls == [(2, recipe.WINDOW)]
    assert score.logit == 1.0 and score.probability == pytest.approx(1 / (1 + np.exp(-1.0)))


@pytest.mark.parametrize("bad_text", ["", "   \n\t ", "😀🎬!!"])
def test_empty_or_wordless_text_is_refused_with_a_message(bad_text):
    with pytest.raises(sentiment.TextInputError, match="empty|no words"):
        sentiment.score_text(FakePredictor(), VOCABULARY, bad_text)


def test_a_megabyte_of_text_is_cut_with_a_flag():
    score = sentiment.score_text(FakePredictor(), VOCABULARY, "good film. " * 100_000)
    assert score.truncated
    assert score.words == len(recipe.words(("good film. " * 100_000)[: sentiment.MAX_CHARACTERS]))


def test_word_shares_follow_the_words_and_add_up_to_the_logit():
    review = "the film is not good but great, good"
    effects = sentiment.word_effects(FakePredictor(), VOCABULARY, review)
    by_word = dict(zip(recipe.words(review), effects))
    assert by_word["great"] > 0 and by_word["not"] < 0 and by_word["the"] == 0
    # "good" occurs twice but counts once; its weight is shared by both occurrences.
    assert effects.sum() == pytest.approx(sentiment.score_text(FakePredictor(), VOCABULARY, review).logit)
    halved = sentiment.word_effects(FakePredictor(), VOCABULARY, review, temperature=2.0)
    np.testing.assert_allclose(halved, effects / 2)


def test_highlighted_pieces_keep_the_visitors_text():
    review = "Great film!!! 😀"
    pieces = sentiment.highlighted_pieces(review, sentiment.word_effects(FakePredictor(), VOCABULARY, review))
    assert [surface for surface, _ in pieces] == ["Great", "film!!!", "😀"]
    assert pieces[0][1] > 0 and pieces[2][1] is None


def csv_bytes(frame, **options):
    return frame.to_csv(index=False, **options).encode(options.pop("encoding", "utf-8"))


def test_csv_rows_are_scored_and_empty_cells_get_a_note():
    frame = pd.DataFrame({"id": [1, 2, 3], "review": ["a good film", "", "bad, bad"]})
    table, encoding = sentiment.read_csv_upload(csv_bytes(frame))
    assert encoding == "utf-8-sig" and sentiment.text_columns(table) == ["review"]
    scored = sentiment.score_table(FakePredictor(), VOCABULARY, table, "review").table
    assert scored["label"].tolist() == ["positive", "", "negative"]
    assert np.isnan(scored["probability_positive"][1]) and "empty" in scored["note"][1]


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_csv_in_other_encodings_is_read(encoding):
    frame = pd.DataFrame({"review": ["Très bon film, génial", "mauvais"]})
    table, used = sentiment.read_csv_upload(frame.to_csv(index=False).encode(encoding))
    assert table["review"][0] == "Très bon film, génial" and used == encoding


def test_semicolon_separated_csv_is_read():
    table, _ = sentiment.read_csv_upload("id;review\n1;good film\n2;bad film\n".encode())
    assert list(table.columns) == ["id", "review"]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    (b'review\n"an unterminated quote\n', "could not be read"),
    ("review\nGood, but long\n".encode(), "more fields than the header"),
])
def test_files_that_are_not_csv_get_a_message(data, message):
    with pytest.raises(sentiment.TextInputError, match=message):
        sentiment.read_csv_upload(data)


def test_a_csv_without_text_has_no_text_column():
    table, _ = sentiment.read_csv_upload(b"id,score\n1,0.5\n2,0.7\n")
    assert sentiment.text_columns(table) == []


def test_rows_beyond_the_limit_are_left_out():
    data = ("review\n" + "good film\n" * (sentiment.MAX_CSV_ROWS + 50)).encode()
    table, _ = sentiment.read_csv_upload(data)
    assert len(sentiment.score_table(FakePredictor(), VOCABULARY, table, "review").table) == sentiment.MAX_CSV_ROWS


def test_a_scored_table_counts_the_skipped_blank_and_cut_rows():
    long_review = "good film. " * 10_000
    frame = pd.DataFrame({"id": range(6), "review": ["a good film", "", "   ", "😀 !!", long_review, "bad, bad"]})
    table, _ = sentiment.read_csv_upload(csv_bytes(frame))
    scored = sentiment.score_table(FakePredictor(), VOCABULARY, table, "review")
    assert (scored.skipped, scored.blank, scored.truncated, scored.scored) == (3, 2, 1, 3)
    # The counts agree with the notes the rows carry.
    notes = scored.table["note"]
    assert (notes != "").sum() == scored.skipped + scored.truncated
    assert notes.str.startswith("only the first").sum() == scored.truncated


def test_read_reviews_gives_the_text_columns_or_a_message():
    table, encoding, columns = sentiment.read_reviews(b"id,review\n1,a good film\n2,bad\n")
    assert columns == ["review"] and encoding == "utf-8-sig" and len(table) == 2
    with pytest.raises(sentiment.TextInputError, match="no column with text"):
        sentiment.read_reviews(b"id,score\n1,0.5\n")


# ## The serving class and the page's renderings

ENTRY = {"calibration": {"temperature": 0.5, "applies_to": "review logit",
                         "per_format": {"fake": {"temperature": 0.8}}}}


def test_the_classifier_scores_calibrates_and_explains_like_the_functions_it_wraps():
    classifier = sentiment.SentimentClassifier(FakePredictor(), VOCABULARY, ENTRY)
    review = "The film is not good, but the ending is great."
    result = classifier.score(review)
    assert classifier.temperature == 0.8  # The format's own temperature, not the reference format's.
    expected = sentiment.score_text(FakePredictor(), VOCABULARY, review, 0.8)
    assert result.probability == expected.probability and result.label == expected.label
    assert result.words == expected.words and result.known_words == expected.known_words
    assert result.probability != sentiment.score_text(FakePredictor(), VOCABULARY, review).probability
    effects = sentiment.word_effects(FakePredictor(), VOCABULARY, review, 0.8)
    np.testing.assert_array_equal(result.effects, effects)
    assert result.pieces == sentiment.highlighted_pieces(review, effects)
    assert result.milliseconds >= 0 and not result.explanation_cut


def test_a_review_without_known_words_gets_no_explanation():
    result = sentiment.SentimentClassifier(FakePredictor(), VOCABULARY, {}).score("Zorblax quuxed")
    assert result.known_words == 0 and result.effects is None and result.pieces == []
    with pytest.raises(sentiment.TextInputError, match="no words"):
        sentiment.SentimentClassifier(FakePredictor(), VOCABULARY, {}).score("😀 !!")


def test_the_classifier_scores_a_table_with_its_temperature():
    table, _, _ = sentiment.read_reviews(b"id,review\n1,the film is good\n2,\n3,not good\n")
    done = []
    scored = sentiment.SentimentClassifier(FakePredictor(), VOCABULARY, ENTRY).score_table(table, "review", done.append)
    expected = sentiment.score_table(FakePredictor(), VOCABULARY, table, "review", temperature=0.8)
    pd.testing.assert_frame_equal(scored.table, expected.table)
    assert (scored.scored, scored.skipped, scored.blank) == (2, 1, 1) and done[-1] == 1.0


def test_the_gauge_marks_the_probability_and_the_decision_line():
    spec = sentiment.gauge_chart(0.73).to_dict()
    assert len(spec["layer"]) == 3 and spec["layer"][1]["mark"]["color"] == "#0072b2"
    assert sentiment.gauge_chart(0.2).to_dict()["layer"][1]["mark"]["color"] == "#d55e00"
    datasets = list(spec["datasets"].values())
    assert [{"probability": 0.73, "label": "positive"}] in datasets and [{"x": 0.5}] in datasets


def test_highlights_shade_words_by_their_share_and_show_markup_as_typed():
    markup = sentiment.highlighted_html([("**great**", 0.4), ("<b>film</b>", None), ("[bad](x)", -0.2), ("$x$", 0.0)])
    assert markup.startswith('<div style="line-height: 1.9">') and markup.endswith("</div>")
    assert 'title="+0.4000" style="background: rgba(0,114,178,0.80)' in markup
    assert 'title="-0.2000" style="background: rgba(213,94,0,0.46)' in markup
    assert "<b>" not in markup and "&lt;b&gt;film&lt;/b&gt;" in markup
    assert not any(character in markup for character in "*[]$")
