"""AppTest of the Anomaly page: every input path (draw, upload, samples), bad input, formats, corruptions."""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from showcase import paths

PAGE = str(paths.REPO_ROOT / "app" / "pages" / "anomaly.py")
DIGIT_SAMPLE = sorted((paths.SAMPLES_DIR / "digits").glob("*.png"))[3:4]
FASHION_SAMPLE = paths.SAMPLES_DIR / "anomaly" / "fashion_mnist_test_0.png"
SAMPLE_LABELS = {
    "digit": "A handwritten digit",
    "fashion": "A fashion item (Fashion-MNIST test #0)",
    "noise": "Pure noise",
}


def page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_pixels() -> np.ndarray:
    if not DIGIT_SAMPLE:
        pytest.fail("samples/digits/*.png are missing: run training/train_digits.py")
    return np.asarray(Image.open(DIGIT_SAMPLE[0]))


def verdict(app: AppTest) -> str:
    texts = [element.value for element in app.markdown]
    if any("Anomaly]" in text for text in texts):
        return "anomaly"
    if any("Looks like a digit]" in text for text in texts):
        return "digit"
    raise AssertionError(f"no verdict on the page: {texts}")


def score(app: AppTest) -> float:
    return float(app.metric[0].value)


def choose_sample(app: AppTest, which: str) -> AppTest:
    app.radio(key="anomaly_input").set_value("Samples").run()
    options = app.selectbox(key="anomaly_sample").options
    label = next(option for option in options if option.startswith(SAMPLE_LABELS[which]))
    app.selectbox(key="anomaly_sample").set_value(label).run()
    assert not app.exception, app.exception
    return app


def shows_result(app: AppTest) -> bool:
    """The input, reconstruction and heat map images, the histogram and the latency caption are there."""
    captions = " ".join(element.value for element in app.caption)
    return "This prediction took" in captions and "Threshold for this format" in captions


def test_the_page_starts_with_a_prompt_to_draw():
    app = page()
    assert app.title[0].value == "Anomaly detection"
    assert any("Draw on the canvas" in element.value for element in app.info)
    assert not app.warning


@pytest.mark.parametrize("which,expected", [("digit", "digit"), ("fashion", "anomaly"), ("noise", "anomaly")])
def test_each_builtin_sample_gets_the_right_verdict(which, expected):
    app = choose_sample(page(), which)
    assert verdict(app) == expected
    assert shows_result(app)


@pytest.mark.parametrize("corruption", ["Gaussian noise", "Occlusion blocks", "Inverted colours"])
def test_corrupting_the_digit_sample_flags_it(corruption):
    app = choose_sample(page(), "digit")
    clean_score = score(app)
    app.selectbox(key="anomaly_corruption").set_value(corruption).run()
    assert verdict(app) == "anomaly"
    assert score(app) > clean_score


@pytest.mark.parametrize("format_name", ["savedmodel", "tflite", "tflite_int8", "onnx"])
def test_every_format_gives_the_same_verdict_and_score(format_name):
    app = choose_sample(page(), "fashion")
    # The page's default is whichever format benchmarked fastest; compare against TFLite fp32 whatever it is.
    app.selectbox(key="anomaly_format").set_value("tflite").run()
    reference = score(app)
    app.selectbox(key="anomaly_format").set_value(format_name).run()
    assert not app.exception, app.exception
    assert verdict(app) == "anomaly"
    # The metric shows four decimals; int8 may move the score by a few percent.
    assert score(app) == pytest.approx(reference, rel=0.05 if format_name == "tflite_int8" else 1e-3, abs=1e-4)


def upload(app: AppTest, data: bytes, name: str = "input.png") -> AppTest:
    app.radio(key="anomaly_input").set_value("Upload an image").run()
    app.file_uploader(key="anomaly_upload").set_value((name, data, "image/png")).run()
    assert not app.exception, app.exception
    return app


def test_an_uploaded_photo_of_a_digit_passes():
    """Dark ink on light paper, large and off-centre, as a phone photo would be."""
    paper = np.full((300, 260), 230, dtype=np.uint8)
    ink = np.asarray(Image.fromarray(255 - digit_pixels()).resize((196, 196), Image.Resampling.BILINEAR))
    paper[80:276, 30:226] = np.minimum(paper[80:276, 30:226], ink)
    app = upload(page(), png_bytes(paper))
    assert verdict(app) == "digit"
    assert shows_result(app)


def test_an_uploaded_fashion_item_is_flagged():
    app = upload(page(), FASHION_SAMPLE.read_bytes())
    assert verdict(app) == "anomaly"


@pytest.mark.parametrize(
    "data,message",
    [
        (b"this is not an image", "not an image"),
        (b"", "empty"),
        (png_bytes(np.full((64, 64), 255, dtype=np.uint8)), "No digit found"),
        (png_bytes(np.zeros((28, 28), dtype=np.uint8)), "blank"),
    ],
)
def test_bad_uploads_get_a_clear_warning_not_a_traceback(data, message):
    app = upload(page(), data)
    assert any(message in element.value for element in app.warning), [w.value for w in app.warning]
    assert not app.metric


class FakeCanvasResult:
    def __init__(self, image_data):
        self.image_data = image_data


@pytest.mark.parametrize("background", ["transparent", "white"])
def test_a_drawing_on_the_canvas_is_scored(monkeypatch, background):
    """The canvas component cannot run in AppTest; stand in for it with the RGBA array it returns."""
    import streamlit_drawable_canvas

    ink = np.asarray(Image.fromarray(digit_pixels()).resize((200, 200), Image.Resampling.BILINEAR))
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    if background == "white":
        rgba[...] = 255
        rgba[40:240, 40:240, :3] = 255 - ink[..., None]
    else:
        rgba[40:240, 40:240, 3] = ink
    monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda **_: FakeCanvasResult(rgba))
    app = page()
    assert verdict(app) == "digit"
    assert shows_result(app)


def test_a_blank_canvas_gets_the_prompt_not_a_warning(monkeypatch):
    import streamlit_drawable_canvas

    blank = np.zeros((280, 280, 4), dtype=np.uint8)
    monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda **_: FakeCanvasResult(blank))
    app = page()
    assert any("Draw on the canvas" in element.value for element in app.info)
    assert not app.warning


def test_an_uploaded_photo_that_is_not_a_digit_is_flagged_before_the_autoencoder():
    app = upload(page(), (paths.SAMPLES_DIR / "ood" / "skimage_chelsea.jpg").read_bytes(), "cat.jpg")
    assert verdict(app) == "anomaly"
    assert any("This doesn't look like one handwritten digit" in element.value for element in app.warning)
    assert shows_result(app)


def test_a_scribble_covering_the_canvas_is_flagged(monkeypatch):
    import streamlit_drawable_canvas

    from showcase import ood_images

    scribble = ood_images.scribble(np.random.default_rng(0))
    monkeypatch.setattr(streamlit_drawable_canvas, "st_canvas", lambda **_: FakeCanvasResult(scribble))
    app = page()
    assert verdict(app) == "anomaly"
    assert any("This doesn't look like one handwritten digit" in element.value for element in app.warning)
