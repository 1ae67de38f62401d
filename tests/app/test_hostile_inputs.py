"""Hostile inputs on every page, through AppTest: odd and broken images, texts, CSVs, addresses, repeated clicks.

Every case asserts that no exception box appears and that the page answers with the message expected for that
input (a refusal that says why, or a result). The inputs are built in memory by tests/app/hostile_cases.py.
Each page is opened once per module and reused case after case, as a visitor would: that keeps the suite quick,
and a case that leaves the page broken shows up in the cases after it too.
"""

from __future__ import annotations

import re

import pytest
from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

from showcase import paths
from showcase.tasks import digits, flowers
from tests.app import hostile_cases as cases

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")
IMAGE_PAGES = {  # page: (input radio key, its upload option, uploader key)
    "digits": ("digits_input", "Upload a photo", "digits_upload"),
    "flowers": ("flowers_input", "Upload a photo", "flowers_upload"),
    "anomaly": ("anomaly_input", "Upload an image", "anomaly_upload"),
}


@pytest.fixture(scope="module")
def open_page():
    """Open a page once per module and hand back the same AppTest on every later call."""
    opened: dict[str, AppTest] = {}

    def open_(name: str, query: dict[str, str] | None = None) -> AppTest:
        if name not in opened or query is not None:
            app = AppTest.from_file(ENTRY, default_timeout=60)
            app.run()
            app.switch_page(f"pages/{name}.py")
            for key, value in (query or {}).items():
                app.query_params[key] = value
            app.run()
            opened[name] = app
        return opened[name]

    return open_


def messages(app: AppTest) -> str:
    return " | ".join(element.value for kind in ("error", "warning", "info", "success")
                      for element in getattr(app, kind))


def assert_no_exception(app: AppTest) -> None:
    assert not app.exception, [exception.message for exception in app.exception]


def assert_no_arrows(app: AppTest) -> None:
    """A confidence is not a change: no metric on these pages shows an up or down arrow."""
    assert all(metric.proto.direction == Metric.MetricDirection.NONE for metric in app.metric), \
        [(metric.label, metric.delta) for metric in app.metric]


# ---------------------------------------------------------------------------------------------------- uploaders

UPLOADER_RULES = {  # page: (how to reach its uploader: radio key and option, or None; the caption's rules)
    "digits": (("digits_input", "Upload a photo"), "PNG, JPG, JPEG, WEBP, BMP or GIF, at most 10 MB"),
    "flowers": (None, "PNG, JPG, JPEG, WEBP, BMP or GIF, at most 10 MB"),
    "anomaly": (("anomaly_input", "Upload an image"), "PNG, JPG, JPEG, WEBP, BMP or GIF, at most 10 MB"),
    "sentiment": (None, "CSV, TXT or TSV, at most 10 MB"),
    "forecast": (("forecast_source", "Upload a CSV"), "CSV or TXT, at most 5 MB"),
}


def test_every_uploader_goes_through_the_helper_that_captions_it():
    pages = sorted((paths.REPO_ROOT / "app" / "pages").glob("*.py"))
    assert [page.name for page in pages if "st.file_uploader(" in page.read_text()] == []
    # ui.image_uploader is ui.file_uploader with the decoded image's preview.
    helpers = ("ui.file_uploader(", "ui.image_uploader(")
    uploading = {page.stem for page in pages if any(helper in page.read_text() for helper in helpers)}
    assert uploading == set(UPLOADER_RULES)


@pytest.mark.parametrize("page", list(UPLOADER_RULES))
def test_an_uploader_states_its_types_and_size_limit_and_the_empty_state(open_page, page):
    route, rules = UPLOADER_RULES[page]
    app = open_page(page)
    if route:
        app.radio(key=route[0]).set_value(route[1]).run()
    assert_no_exception(app)
    assert any(caption.value.startswith(f"Accepted: {rules}.") for caption in app.caption)
    assert "Nothing usable uploaded yet" in messages(app) and rules in messages(app)


# ---------------------------------------------------------------------------------------------------- images

REFUSED_IMAGES = {
    "empty_file": "The file is empty",
    "random_bytes": "not an image we can read",
    "text_renamed_png": "not an image we can read",
    "html_renamed_png": "not an image we can read",
    "svg_renamed_png": "not an image we can read",
    "pickle_renamed_png": "not an image we can read",
    "png_signature_only": "not an image we can read",
    "tiff_renamed_png": "TIFF images are not supported",
    "truncated_png": "damaged or truncated",
    "truncated_jpeg": "damaged or truncated",
    "bomb_header_60000px": "too large to decode safely",
    "header_50_megapixels": "the limit is 40 MP",
}
BLANK_IMAGES = ["one_pixel_white", "one_pixel_black", "fully_transparent_rgba", "all_white", "all_black"]
# The same handwritten 7, stored in every odd way an upload can come: each must still read as a 7.
SEVENS = ["animated_gif", "cmyk_jpeg", "sixteen_bit_png", "palette_transparency", "exif_rotated_jpeg",
          "one_bit_bmp", "webp_digit", "mnist_png_control", "uppercase_extension"]
OTHER_IMAGES = ["aspect_40000x1", "aspect_1x40000", "noise", "flower_jpeg_control"]
# Not one handwritten digit: the Digits page refuses to read it (the Anomaly page flags it, a result).
NOT_DIGITS = ["noise"]
# A strip one pixel thin shrinks to next to nothing in the 28×28 MNIST recipe: a reading or "no digit" both do.
STRIPS = ["aspect_40000x1", "aspect_1x40000"]
assert set(REFUSED_IMAGES) | set(BLANK_IMAGES) | set(SEVENS) | set(OTHER_IMAGES) == set(cases.IMAGE_CASES)


def expected_image_answer(page: str, case: str) -> str:
    """What the page must say: a refusal's reason, or "result" (a prediction) — "seven" when it must read 7."""
    if case in REFUSED_IMAGES:
        return REFUSED_IMAGES[case]
    if case in BLANK_IMAGES and page != "flowers":
        return "No digit found"
    if case in STRIPS and page != "flowers":
        return "result or No digit found"
    if case in SEVENS and page == "digits":
        return "seven"
    if case in NOT_DIGITS and page == "digits":
        return digits.OOD_REASON
    if page == "flowers":
        # Most of these odd images are not flower photos: refusing them as such is an answer too.
        return "result or not a flower"
    return "result"


def upload_image(app: AppTest, page: str, case: str) -> AppTest:
    radio, option, uploader = IMAGE_PAGES[page]
    if app.radio(key=radio).value != option:
        app.radio(key=radio).set_value(option).run()
    file_name, build = cases.IMAGE_CASES[case]
    return app.file_uploader(key=uploader).set_value((file_name, build(), "application/octet-stream")).run()


def shows_a_result(app: AppTest, page: str) -> bool:
    if page == "flowers":
        return any(metric.label == "Prediction" for metric in app.metric) or "Not sure" in messages(app)
    if page == "anomaly":
        return any(metric.label == "Anomaly score" for metric in app.metric)
    return any(metric.label == "Prediction" for metric in app.metric)


@pytest.mark.parametrize("case", list(cases.IMAGE_CASES))
@pytest.mark.parametrize("page", list(IMAGE_PAGES))
def test_hostile_image(open_page, page, case):
    app = upload_image(open_page(page), page, case)
    assert_no_exception(app)
    assert_no_arrows(app)
    expected = expected_image_answer(page, case)
    if expected == "result":
        assert shows_a_result(app, page), messages(app)
    elif expected == "result or No digit found":
        assert shows_a_result(app, page) or "No digit found" in messages(app), messages(app)
    elif expected == "result or not a flower":
        assert shows_a_result(app, page) or flowers.OOD_REASON in messages(app), messages(app)
    elif expected == "seven":
        assert [metric.value for metric in app.metric if metric.label == "Prediction"] == ["7"], messages(app)
    else:
        assert expected in " ".join(warning.value for warning in app.warning)
        assert not shows_a_result(app, page)


# ---------------------------------------------------------------------------------------------------- texts

TEXT_ANSWERS = {
    "empty": ("info", "Type a review or pick an example"),
    "whitespace_only": ("info", "Type a review or pick an example"),
    "newlines_only": ("info", "Type a review or pick an example"),
    "punctuation_only": ("warning", "The text has no words"),
    "emoji_only": ("warning", "The text has no words"),
    "numbers_only": ("warning", "doesn't read like an English movie review"),
    "rtl_arabic": ("warning", "doesn't read like an English movie review"),
    "rtl_hebrew_mixed": ("warning", "doesn't read like an English movie review"),
    "markdown_js_link": ("warning", "doesn't read like an English movie review"),
    "html_entities": ("warning", "doesn't read like an English movie review"),
    "one_long_word": ("warning", "None of these words are in the model's vocabulary"),
    "over_the_limit": ("warning", "only the first 100,000 were scored"),
    "hundred_thousand_chars": ("metric", "Positive"),
    "control_review": ("metric", "Positive"),
}
# Markup a review may carry: the word highlights must show it as typed, never as working HTML or Markdown.
MARKUP = ("<script", "<img", "**", "](", "javascript:alert(1))", "_wonderful_")


@pytest.mark.parametrize("case", list(cases.TEXT_CASES))
def test_hostile_review_text(open_page, case):
    app = open_page("sentiment")
    app.text_area(key="sentiment_text").set_value(cases.TEXT_CASES[case]).run()
    assert_no_exception(app)
    assert_no_arrows(app)
    kind, expected = TEXT_ANSWERS.get(case, ("metric", None))
    if kind == "metric":
        verdicts = [metric.value for metric in app.metric if metric.label == "Sentiment"]
        assert verdicts and verdicts[0] in ("Positive", "Negative"), messages(app)
        assert expected is None or verdicts == [expected]
    else:
        assert expected in " | ".join(element.value for element in getattr(app, kind))
    highlights = [element.value for element in app.markdown if "<span title=" in element.value]
    for piece in MARKUP:
        assert not any(piece in highlight for highlight in highlights), (piece, highlights)


def test_typing_after_a_refusal_scores_again(open_page):
    app = open_page("sentiment")
    app.text_area(key="sentiment_text").set_value("🎬🎬🎬").run()
    assert "The text has no words" in messages(app)
    app.text_area(key="sentiment_text").set_value("A wonderful, moving film.").run()
    assert_no_exception(app)
    assert "The text has no words" not in messages(app)
    assert [metric.value for metric in app.metric if metric.label == "Sentiment"] == ["Positive"]


@pytest.mark.parametrize("name", ["Rave", "Pan", "Mixed", "Negation"])
def test_example_buttons_clicked_again_and_again(open_page, name):
    app = open_page("sentiment")
    for _ in range(3):
        app.button(key=f"sentiment_example_{name}").click().run()
    assert_no_exception(app)
    assert_no_arrows(app)
    assert len([metric for metric in app.metric if metric.label == "Sentiment"]) == 1


# ---------------------------------------------------------------------------------------------------- messages

# A visitor's value quoted in a message must not become a link: Streamlit renders st.error and st.warning text as
# Markdown (with bare URLs linked), so "[x](https://...)" from a shared address or a CSV cell would be clickable.
LIVE_LINK = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\([^)\s]*\)|https?://|www\.")
MAX_MESSAGE_CHARACTERS = 400


def assert_readable_refusals(app: AppTest) -> None:
    for element in (*app.error, *app.warning):
        assert len(element.value) <= MAX_MESSAGE_CHARACTERS, f"an unreadably long message: {element.value[:200]}…"
        assert not LIVE_LINK.search(element.value), f"visitor input renders as a link: {element.value}"


# ---------------------------------------------------------------------------------------------------- CSVs

PRICE_ANSWERS = {  # case: a substring of the refusal, or None where a forecast must come out
    "empty": "The file is empty",
    "whitespace_only": "The file is empty",
    "header_only": "needs a header row and at least two",
    "binary": "not a text CSV file",
    "png_as_csv": "not a text CSV file",
    "one_column": "needs a header row and at least two",
    "one_row": "the model needs at least 61",
    "too_short": "the model needs at least 61",
    "nan_price": "non-numeric value(s); the first is 'NaN' in row 71",
    "inf_price": "non-numeric value(s); the first is 'inf' in row 71",
    "negative_price": "Prices must be positive; row 71",
    "zero_price": "Prices must be positive; row 71",
    "text_price": "non-numeric value(s); the first is 'n/a' in row 71",
    "formula_price": "non-numeric value(s); the first is '=1+1' in row 71",
    "formula_hyperlink": "non-numeric value(s)",
    "markdown_link_price": "non-numeric value(s)",
    "markdown_bold_date": "not dates",
    "duplicate_date": "appears more than once",
    "unsorted_dates": "The dates are not in order",
    "not_a_date": "not dates; the first is 'yesterday' in row 61",
    "huge_price": "The price jumps",
    "hundred_thousand_rows": "more than 50,000 rows",
    "ragged_rows": "could not be read as CSV",
    "semicolon_decimal_comma": None,
    "utf16_with_bom": None,
    "utf8_with_bom": None,
    "crlf_line_ends": None,
    "control_good_csv": None,
}
assert set(PRICE_ANSWERS) == set(cases.PRICE_CSV_CASES)


@pytest.mark.parametrize("case", list(cases.PRICE_CSV_CASES))
def test_hostile_price_csv(open_page, case):
    app = open_page("forecast")
    if app.radio(key="forecast_source").value != "Upload a CSV":
        app.radio(key="forecast_source").set_value("Upload a CSV").run()
    app.file_uploader(key="forecast_upload").set_value((f"{case}.csv", cases.PRICE_CSV_CASES[case], "text/csv")).run()
    assert_no_exception(app)
    assert_readable_refusals(app)
    forecasts = [metric for metric in app.metric if metric.label.startswith("Median forecast")]
    if PRICE_ANSWERS[case] is None:
        assert forecasts and not app.error, messages(app)
    else:
        assert PRICE_ANSWERS[case] in " | ".join(error.value for error in app.error)
        assert not forecasts


REVIEW_CSV_ANSWERS = {  # case: (kind of message, substring)
    "empty": ("error", "The file is empty"),
    "header_only": ("error", "a header but no rows"),
    "binary": ("error", "not a text CSV file"),
    "numbers_only": ("error", "no column with text"),
    "one_row": ("success", "Scored 1 of 1 rows"),
    "empty_cells": ("warning", "2 rows could not be scored"),
    "formula_cells": ("warning", "3 rows don't read like English movie reviews"),
    "html_and_markdown_cells": ("success", "Scored 1 of 2 rows"),
    "emoji_and_rtl_cells": ("warning", "1 rows could not be scored"),
    "null_bytes": ("error", "not a text CSV file"),
    "ragged_rows": ("error", "could not be read as CSV"),
    "semicolons": ("success", "Scored 2 of 2 rows"),
    "utf16_with_bom": ("success", "Scored 3 of 3 rows"),
    "windows_1252": ("info", "it was read as cp1252"),
    "hundred_thousand_rows": ("warning", "only the first 2,000 are scored"),
    "nan_and_inf_cells": ("success", "Scored 4 of 4 rows"),
    "duplicate_rows": ("success", "Scored 5 of 5 rows"),
    "only_a_header_of_commas": ("error", "a header but no rows"),
}
assert set(REVIEW_CSV_ANSWERS) == set(cases.REVIEW_CSV_CASES)


@pytest.mark.parametrize("case", list(cases.REVIEW_CSV_CASES))
def test_hostile_review_csv(open_page, case):
    app = open_page("sentiment")
    app.file_uploader(key="sentiment_csv").set_value((f"{case}.csv", cases.REVIEW_CSV_CASES[case], "text/csv")).run()
    assert_no_exception(app)
    assert_readable_refusals(app)
    kind, expected = REVIEW_CSV_ANSWERS[case]
    assert expected in " | ".join(element.value for element in getattr(app, kind)), messages(app)
    assert "Nothing usable uploaded yet" not in messages(app)


# ---------------------------------------------------------------------------------------------------- addresses

def image_captions(app: AppTest) -> list[str]:
    return [image.proto.imgs[0].caption for image in app.get("image")]


@pytest.mark.parametrize("case", list(cases.GAN_QUERIES))
def test_hostile_gan_address(open_page, case):
    query = cases.GAN_QUERIES[case]
    app = open_page("gan", query=query)
    assert_no_exception(app)
    assert_readable_refusals(app)
    valid = case in ("unknown_params", "all_valid")
    warnings = " | ".join(warning.value for warning in app.warning)
    if valid:
        assert "Ignored from the address" not in warnings
    else:
        assert "Ignored from the address" in warnings and "Using the defaults instead" in warnings
    size = int(query["size"]) if case == "all_valid" else 4
    assert len(image_captions(app)) == size * size + 1, "the grid and the latent walk's strip"
    # The address is rewritten to the settings actually used, so that a shared link reproduces the grid.
    assert app.query_params["seed"] == (query["seed"] if case == "all_valid" else "42")
    assert app.query_params["size"] == str(size)


# ---------------------------------------------------------------------------------------------------- clicks

def test_generate_clicked_again_and_again_gives_the_same_grid(open_page):
    app = open_page("gan", query={"digit": "3", "seed": "7", "size": "2"})
    captions = image_captions(app)
    for _ in range(3):
        app.button[0].click().run()
    assert_no_exception(app)
    assert image_captions(app) == captions and len(captions) == 5


def test_a_flower_sample_clicked_again_and_again(open_page):
    app = open_page("flowers")
    app.radio(key="flowers_input").set_value("Sample gallery").run()
    button = next(button for button in app.button if button.key and button.key.startswith("flowers_sample_"))
    for _ in range(3):
        app.button(key=button.key).click().run()
    assert_no_exception(app)
    assert_no_arrows(app)
    assert shows_a_result(app, "flowers")
