"""AppTest: the Home and Digits pages render, predict through real widgets, and handle bad uploads.

Seams used: the Digits page's input radio (key ``digits_input``), its sample picker (``digits_sample``),
its file uploader (``digits_upload``) and its format picker (``digits_format``); the drawing canvas is a
custom component that AppTest cannot drive, so tests/e2e draws on it in a real browser.
"""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from showcase import paths

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")


def open_digits_page() -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=60)
    app.run()
    app.switch_page("pages/digits.py")
    app.run()
    return app


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_digits_page_starts_with_a_prompt_not_a_prediction():
    app = open_digits_page()
    assert not app.exception
    assert any("Draw a digit" in info.value for info in app.info)
    assert not app.metric


@pytest.mark.parametrize("format_name", ["tflite", "tflite_int8", "onnx", "savedmodel"])
def test_a_sample_digit_is_predicted_in_every_format(format_name):
    app = open_digits_page()
    app.radio(key="digits_input").set_value("MNIST test samples").run()
    sample = next(option for option in app.selectbox(key="digits_sample").options if option.startswith("digit 7"))
    app.selectbox(key="digits_sample").set_value(
        next(path for path in sorted((paths.SAMPLES_DIR / "digits").glob("7_*.png")))
    ).run()
    app.selectbox(key="digits_format").set_value(format_name).run()
    assert not app.exception, sample
    assert app.metric[0].label == "Prediction" and app.metric[0].value == "7"
    assert any("This prediction took" in caption.value for caption in app.caption)


def test_an_uploaded_photo_is_predicted():
    three = np.asarray(Image.open(next((paths.SAMPLES_DIR / "digits").glob("3_*.png"))))
    photo = np.full((300, 260), 230, dtype=np.uint8)
    photo[40:264, 20:244] = 255 - np.asarray(Image.fromarray(three).resize((224, 224)))
    app = open_digits_page()
    app.radio(key="digits_input").set_value("Upload a photo").run()
    app.file_uploader(key="digits_upload").set_value(("three.png", png_bytes(photo), "image/png")).run()
    assert not app.exception
    assert app.metric[0].value == "3"


BAD_UPLOADS = {
    "not an image": (b"just some text, not pixels" * 20, "not an image"),
    "truncated png": (png_bytes(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8))[:3000],
                      "damaged or truncated"),
    "all white": (png_bytes(np.full((100, 100), 255, dtype=np.uint8)), "No digit found"),
    "all black": (png_bytes(np.zeros((100, 100), dtype=np.uint8)), "No digit found"),
    "10000 x 10000": (png_bytes(np.zeros((10000, 10000), dtype=np.uint8)), "10000×10000"),
}


@pytest.mark.parametrize("name", list(BAD_UPLOADS))
def test_bad_uploads_get_a_clear_message(name):
    data, message = BAD_UPLOADS[name]
    app = open_digits_page()
    app.radio(key="digits_input").set_value("Upload a photo").run()
    app.file_uploader(key="digits_upload").set_value(("upload.png", data, "image/png")).run()
    assert not app.exception
    assert any(message in warning.value for warning in app.warning), [w.value for w in app.warning]
    assert not app.metric


def test_an_uploaded_photo_that_is_not_a_digit_gets_the_third_state():
    """Not a low-confidence reading: no prediction, no probabilities, the reason in a warning of its own."""
    app = open_digits_page()
    app.radio(key="digits_input").set_value("Upload a photo").run()
    photo = (paths.SAMPLES_DIR / "ood" / "skimage_coffee.jpg").read_bytes()
    app.file_uploader(key="digits_upload").set_value(("coffee.jpg", photo, "image/jpeg")).run()
    assert not app.exception
    assert any(warning.value.startswith("**This doesn't look like one handwritten digit.**")
               for warning in app.warning), [w.value for w in app.warning]
    assert not app.metric
    assert any("Knowing when not to answer" in markdown.value for markdown in app.markdown)


class FakeCanvasResult:
    def __init__(self, image_data):
        self.image_data = image_data


def test_a_scribble_covering_the_canvas_is_refused_and_a_drawn_digit_is_read(monkeypatch):
    """The canvas component cannot run in AppTest; stand in for it with the RGBA array it returns."""
    import streamlit_drawable_canvas

    from showcase import ood_images

    rng = np.random.default_rng(0)
    three = np.asarray(Image.open(next((paths.SAMPLES_DIR / "digits").glob("3_*.png"))))
    for drawing, refused in ((ood_images.scribble(rng), True), (ood_images.canvas_drawing(three, rng), False)):
        monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda drawing=drawing, **_: FakeCanvasResult(
            drawing))
        app = open_digits_page()
        assert not app.exception
        assert any("This doesn't look like one handwritten digit" in w.value for w in app.warning) == refused
        assert [metric.value for metric in app.metric] == ([] if refused else ["3"])


def test_the_in_browser_mode_mounts_its_component_and_leaves_the_server_canvas_out():
    """AppTest runs no JavaScript: the component is mounted (with the model's URL and SHA-256 in its data), and
    while its runtime has reported nothing the page offers no server input."""
    app = open_digits_page()
    app.toggle(key="digits_in_browser").set_value(True).run()
    assert not app.exception
    assert [element.key for element in app.get("bidi_component")] == ["digits_browser"]
    assert not app.radio


def test_a_runtime_that_could_not_start_falls_back_to_the_server(monkeypatch):
    """The component's "runtime" state as its JavaScript sets it when the runtime fails; the page says so in one
    line and reads a drawing on the server instead."""
    import streamlit_drawable_canvas

    three = np.asarray(Image.open(next((paths.SAMPLES_DIR / "digits").glob("3_*.png"))))
    from showcase import ood_images

    drawing = ood_images.canvas_drawing(three, np.random.default_rng(0))
    monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda **_: FakeCanvasResult(drawing))
    app = open_digits_page()
    app.toggle(key="digits_in_browser").set_value(True).run()
    app.session_state["digits_browser"] = {"runtime": {"ok": False, "reason": "WebAssembly is blocked"}}
    app.run()
    assert not app.exception
    assert app.info[0].value.startswith("Your browser could not run the model (WebAssembly is blocked)")
    assert [metric.value for metric in app.metric] == ["3"]
