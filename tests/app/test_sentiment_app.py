"""AppTest: the Sentiment page scores typed text and uploaded CSVs, and explains bad input.

Seams used: the example buttons (keys ``sentiment_example_<name>``), the text area (``sentiment_text``),
the format picker (``sentiment_format``), the CSV uploader (``sentiment_csv``) and its column picker
(``sentiment_column``).
"""

import csv
import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from showcase import manifest as manifest_lib
from showcase import paths

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")
FORMATS = list(manifest_lib.model_entry("sentiment")["artifacts"])


def open_sentiment_page() -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=90)
    app.run()
    app.switch_page("pages/sentiment.py")
    app.run()
    return app


def messages(app) -> str:
    return " | ".join(element.value for kind in ("error", "warning", "info") for element in getattr(app, kind))


def test_the_page_starts_with_a_prompt():
    app = open_sentiment_page()
    assert not app.exception
    assert app.title[0].value == "Movie review sentiment"
    assert "Type a review" in messages(app) and not app.metric


@pytest.mark.parametrize("format_name", FORMATS)
def test_typed_review_is_scored_and_explained_in_every_format(format_name):
    app = open_sentiment_page()
    app.selectbox(key="sentiment_format").set_value(format_name).run()
    app.text_area(key="sentiment_text").set_value("A great, moving film with a wonderful cast.").run()
    assert not app.exception
    assert app.metric[0].value == "Positive"
    assert any("This prediction took" in caption.value for caption in app.caption)
    highlights = [block.value for block in app.markdown if "rgba(0,114,178" in block.value]
    assert highlights and "great," in highlights[0]


def test_example_buttons_fill_the_text_area():
    app = open_sentiment_page()
    app.button(key="sentiment_example_Pan").click().run()
    assert not app.exception
    assert app.text_area(key="sentiment_text").value.startswith("An awful, boring film")
    assert app.metric[0].value == "Negative"


@pytest.mark.parametrize("review, message", [
    ("   \n\t  ", "Type a review"),
    ("😀🎬🍿 !!! ???", "no words"),
    ("東京の映画はとても素晴らしいです", "doesn't read like an English movie review"),
])
def test_bad_text_gets_a_clear_message(review, message):
    app = open_sentiment_page()
    app.text_area(key="sentiment_text").set_value(review).run()
    assert not app.exception
    assert message in messages(app), messages(app)


def test_a_megabyte_of_text_is_cut_and_scored_with_a_notice():
    app = open_sentiment_page()
    app.text_area(key="sentiment_text").set_value("This is a great film and I loved every minute of it. " * 20_000).run()
    assert not app.exception
    assert app.metric[0].value == "Positive"
    assert "only the first 100,000 were scored" in messages(app)


def scored_tables(app):
    """The batch results (the "How this model works" expander holds other tables)."""
    return [frame.value for frame in app.dataframe if "probability_positive" in frame.value.columns]


def upload(app, data: bytes, name="reviews.csv"):
    app.file_uploader(key="sentiment_csv").set_value((name, data, "text/csv")).run()
    return app


def test_the_sample_csv_is_scored_with_a_table_and_a_download():
    app = upload(open_sentiment_page(), (paths.SAMPLES_DIR / "sentiment" / "reviews.csv").read_bytes())
    assert not app.exception
    assert app.selectbox(key="sentiment_column").value == "review"
    table = scored_tables(app)[0]
    scored = table[table["review"] != ""]
    assert set(scored["label"]) <= {"positive", "negative"} and scored["probability_positive"].between(0, 1).all()
    assert (scored["label"] == scored["true_label"]).mean() >= 0.75
    assert "could not be scored" in messages(app)  # the sample's deliberately empty row
    assert app.get("download_button")


def test_utf16_csv_with_empty_cells_keeps_every_row():
    frame = pd.DataFrame({"id": [1, 2, 3], "texte": ["A wonderful café scene, great acting", "", "awful and boring"]})
    app = upload(open_sentiment_page(), frame.to_csv(index=False).encode("utf-16"))
    assert not app.exception
    table = scored_tables(app)[0]
    assert len(table) == 3 and table["label"].tolist() == ["positive", "", "negative"]
    assert "empty" in table["note"].iloc[1]


def test_cp1252_csv_is_read_with_a_notice():
    data = 'review\n"A great story, and the café scene is wonderful"\n'.encode("cp1252")
    app = upload(open_sentiment_page(), data)
    assert not app.exception
    assert "cp1252" in messages(app)
    assert scored_tables(app)[0]["review"].iloc[0] == "A great story, and the café scene is wonderful"


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300), "not a text CSV"),
    (b"id,score\n1,0.5\n2,0.75\n", "no column with text"),
    (b"", "empty"),
])
def test_bad_csv_gets_a_clear_message(data, message):
    app = upload(open_sentiment_page(), data)
    assert not app.exception
    assert message in messages(app), messages(app)
    assert not scored_tables(app)


@pytest.fixture
def downloads(monkeypatch):
    """The bytes of every file the app hands to a download button, by the file name the visitor gets."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    captured = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes):
            captured[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return captured


FORMULAS = ["=cmd|' /C calc'!A0 great film", "+1+1 a great film", "-2+3 an awful film", "@SUM(A1) a good film",
            "\t=1+1 a bad film", "\r=1+1 a fine film"]


def test_the_scored_csv_download_neutralises_formulas_and_says_so(downloads):
    frame = pd.DataFrame({"=id": range(len(FORMULAS)), "review": FORMULAS})
    app = upload(open_sentiment_page(), frame.to_csv(index=False, quoting=csv.QUOTE_ALL).encode())
    assert not app.exception
    assert any("leading '" in caption.value and "formulas" in caption.value for caption in app.caption)
    written = pd.read_csv(io.BytesIO(downloads["scored_reviews.csv"]), dtype=str, keep_default_na=False)
    assert list(written.columns) == ["'=id", "review", "label", "probability_positive_calibrated", "note"]
    assert written["review"].tolist() == ["'" + cell for cell in FORMULAS]
    # A cell that reads like a spreadsheet command rather than a review gets no label, and its note says why.
    labelled = written["label"].isin(["positive", "negative"])
    assert labelled.any() and (written["note"][~labelled] == "This doesn't read like an English movie review").all()


@pytest.mark.parametrize("text", [
    "Ce film est une pure merveille, les acteurs sont excellents et la mise en scène est très soignée.",
    "Dieser Film ist wirklich großartig, die Schauspieler sind hervorragend.",
    "asdfghjkl qwertyuiop zxcvbnm asdf jkl; qwer uiop",
    "for (int i = 0; i < n; i++) { total += values[i]; }",
    "https://www.imdb.com/title/tt0111161/reviews?ref_=tt_urv",
    "12345 67890",
])
def test_text_that_is_not_an_english_review_gets_the_third_state(text):
    app = open_sentiment_page()
    app.text_area(key="sentiment_text").set_value(text).run()
    assert not app.exception
    assert "This doesn't read like an English movie review." in messages(app), messages(app)
    assert not app.metric and not any("rgba(0,114,178" in block.value for block in app.markdown)


def test_a_short_real_review_is_still_scored():
    app = open_sentiment_page()
    app.text_area(key="sentiment_text").set_value("Loved it.").run()
    assert not app.exception
    assert app.metric[0].value == "Positive" and "doesn't read like" not in messages(app)


def test_a_csv_marks_rows_that_are_not_english_reviews():
    data = ("review\n\"A great, moving film with a wonderful cast.\"\n"
            "\"Esta película es maravillosa, los actores están increíbles.\"\n").encode()
    app = upload(open_sentiment_page(), data)
    assert not app.exception
    table = scored_tables(app)[0]
    assert table["label"].tolist() == ["positive", ""]
    assert table["note"].iloc[1] == "This doesn't read like an English movie review"
    assert "1 rows don't read like English movie reviews" in messages(app)


def test_how_this_model_works_shows_the_out_of_distribution_figures():
    app = open_sentiment_page()
    record = manifest_lib.model_entry("sentiment")["ood"]
    text = " ".join(block.value for block in app.markdown)
    assert "Knowing when not to answer" in text
    assert f"{record['figures']['all']['coverage']:.1%} of the IMDB test reviews answered" in text
