"""The sentiment recipe (normalization, n-gram ids, chunks) and the serving helpers, with a fake predictor.

The fake predictor scores a chunk by how many of its ids belong to "good" terms, so these tests check the
plumbing (chunking, averaging, word shares, CSV handling) without the trained model.
"""

import numpy as np
import pandas as pd
import pytest

from showcase.tasks import sentiment
from showcase.tasks import sentiment as recipe

VOCABULARY = recipe.Vocabulary(["the", "film", "good", "not", "bad", "not good", "good film", "great"])
POSITIVE_IDS = {VOCABULARY.ids[term] for term in ("good", "good film", "great")}
NEGATIVE_IDS = {VOCABULARY.ids[term] for term in ("bad", "not good")}


class FakePredictor:
    """p(positive) = sigmoid(#positive ids - #negative ids), one row per chunk, like the real model's output."""

    format_name = "fake"

    def __init__(self):
        self.calls = []

    def predict(self, batch):
        batch = np.asarray(batch)
        assert batch.dtype == np.int32 and batch.shape[1] == recipe.WINDOW
        self.calls.append(batch.shape)
        positive = np.isin(batch, list(POSITIVE_IDS)).sum(1)
        negative = np.isin(batch, list(NEGATIVE_IDS)).sum(1)
        return (1 / (1 + np.exp(-(positive - negative)))).astype(np.float32)[:, None]


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
    vocabulary = recipe.Vocabulary(["liked", "the", "film", "will", "emma"], person_names=["emma", "will"])
    assert vocabulary.words("Emma liked the film. Will Priya? emma will") == [
        recipe.PERSON, "liked", "the", "film", recipe.PERSON, recipe.PERSON, "emma", "will"]
    # Masking replaces words one for one, so word effects still map back onto the pieces of the text.
    assert len(vocabulary.words("Priya's FILM")) == len(recipe.words("Priya's FILM"))


def test_names_are_the_listed_first_names_and_words_the_texts_capitalize():
    texts = ["Will you watch it? I will, and so will Emma.", "Emma was great.", "Seagal again. Seagal, Seagal."]
    # "will" is mostly lower case; "seagal" is always capitalized; "zoe" is listed and never contradicted.
    assert recipe.capitalized_names(texts, {"will", "emma", "zoe"}, min_count=3) == ["emma", "seagal", "zoe"]


def test_the_vocabulary_counts_masked_names_and_saves_them(tmp_path):
    vocabulary = recipe.Vocabulary.build(["Emma good", "Linda good"], max_terms=10, min_documents=1,
                                         person_names=["emma", "linda"])
    assert f"{recipe.PERSON} good" in vocabulary.ids and "emma" not in vocabulary.ids
    loaded = recipe.Vocabulary.load(vocabulary.save(tmp_path / "terms.txt"),
                                    vocabulary.save_person_names(tmp_path / "names.txt"))
    assert loaded.person_names == {"emma", "linda"} and loaded.ids == vocabulary.ids


def test_ngrams_are_unigrams_then_bigrams():
    assert recipe.ngrams(["not", "good", "film"]) == ["not", "good", "film", "not good", "good film"]


def test_encoding_pads_to_the_window_and_drops_unknown_terms():
    ids = VOCABULARY.encode_chunks("Not good, the film!")
    expected = [VOCABULARY.ids[t] for t in ("not", "good", "the", "film", "not good")]
    assert ids.shape == (1, recipe.WINDOW) and ids.dtype == np.int32
    assert ids[0, : len(expected)].tolist() == expected and not ids[0, len(expected):].any()


def test_long_texts_are_cut_into_chunks():
    ids = VOCABULARY.encode_chunks("good " * (2 * recipe.WORDS_PER_CHUNK + 5))
    assert ids.shape == (3, recipe.WINDOW)
    assert (ids[2] != 0).sum() == 5 + 0  # five unigrams; "good good" is not in the vocabulary


def test_vocabulary_round_trips_through_its_file(tmp_path):
    path = VOCABULARY.save(tmp_path / "vocabulary.txt")
    assert recipe.Vocabulary.load(path).ids == VOCABULARY.ids


def test_vocabulary_is_built_from_document_frequency():
    vocabulary = recipe.Vocabulary.build(["good film", "good film", "good day", "bad"], max_terms=2, min_documents=2)
    assert vocabulary.terms == ["good", "film"]


def test_score_averages_the_chunks():
    fake = FakePredictor()
    long_review = "good " * recipe.WORDS_PER_CHUNK + "bad " * recipe.WORDS_PER_CHUNK
    score = sentiment.score_text(fake, VOCABULARY, long_review)
    assert len(score.chunk_probabilities) == 2 and fake.calls == [(2, recipe.WINDOW)]
    assert score.probability == pytest.approx(np.mean(score.chunk_probabilities))


@pytest.mark.parametrize("bad_text", ["", "   \n\t ", "😀🎬!!"])
def test_empty_or_wordless_text_is_refused_with_a_message(bad_text):
    with pytest.raises(sentiment.TextInputError, match="empty|no words"):
        sentiment.score_text(FakePredictor(), VOCABULARY, bad_text)


def test_a_megabyte_of_text_is_cut_with_a_flag():
    score = sentiment.score_text(FakePredictor(), VOCABULARY, "good film. " * 100_000)
    assert score.truncated
    assert score.words == len(recipe.words(("good film. " * 100_000)[: sentiment.MAX_CHARACTERS]))


def test_word_shares_follow_the_words():
    effects = sentiment.word_effects(FakePredictor(), VOCABULARY, "the film is not good but great")
    by_word = dict(zip(recipe.words("the film is not good but great"), effects))
    assert by_word["great"] > 0 and by_word["not"] < 0 and by_word["the"] == 0


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

ENTRY = {"calibration": {"temperature": 0.5, "applies_to": "review probability (mean of the chunks' probabilities)",
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
