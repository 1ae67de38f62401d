"""Hostile inputs on every page, through AppTest: odd and broken images, texts, CSVs, addresses, repeated clicks.

Every case asserts that no exception box appears and that the page answers with the message expected for that
input (a refusal that says why, or a result). The inputs are built in memory by tests/app/hostile_cases.py.
Each page is opened once per module and reused case after case, as a visitor would: that keeps the suite quick,
and a case that leaves the page broken shows up in the cases after it too.
"""

from __future__ import annotations

import pytest
from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

from showcase import paths
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


@pytest.mark.parametrize("page", list(IMAGE_PAGES))
def test_an_empty_uploader_says_what_it_takes_and_that_nothing_usable_came(open_page, page):
    app = open_page(page)
    radio, option, uploader = IMAGE_PAGES[page]
    app.radio(key=radio).set_value(option).run()
    app.file_uploader(key=uploader).set_value(None).run()
    assert_no_exception(app)
    assert "Nothing usable uploaded yet" in messages(app)
    captions = " ".join(caption.value for caption in app.caption)
    assert "PNG, JPG, JPEG, WEBP, BMP or GIF, at most 10 MB" in captions


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
    "rtl_arabic": ("warning", "None of these words are in the model's vocabulary"),
    "one_long_word": ("warning", "None of these words are in the model's vocabulary"),
    "over_the_limit": ("warning", "only the first 100,000 were scored"),
    "hundred_thousand_chars": ("info", "so it was scored in"),
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
