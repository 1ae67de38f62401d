"""AppTest: the Flowers page classifies uploads and gallery clicks, and handles bad uploads without a traceback.

Seams used: the input radio (key ``flowers_input``), the uploader (``flowers_upload``), the gallery buttons
(``flowers_sample_<file stem>``) and the format picker (``flowers_format``).
"""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from showcase import ood_images, paths
from showcase.tasks import flowers

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")
SAMPLES = flowers.sample_photos()


def open_flowers_page() -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=120)
    app.run()
    app.switch_page("pages/flowers.py")
    app.run()
    return app


def upload(app: AppTest, name: str, data: bytes, mime: str = "image/jpeg") -> AppTest:
    app.radio(key="flowers_input").set_value("Upload a photo").run()
    app.file_uploader(key="flowers_upload").set_value((name, data, mime)).run()
    return app


def encode(image: Image.Image, format_name: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name)
    return buffer.getvalue()


def predicted_label(app: AppTest) -> str | None:
    return app.metric[0].value if app.metric else None


def test_page_starts_with_a_prompt_and_shows_validation_figures():
    app = open_flowers_page()
    assert not app.exception
    assert any("Upload a flower photo" in info.value for info in app.info)
    assert not app.metric
    assert any("Validation accuracy" in markdown.value for markdown in app.markdown)
    assert app.dataframe  # per-class precision and recall


def test_an_uploaded_sample_photo_is_classified():
    path = SAMPLES[0]
    app = upload(open_flowers_page(), path.name, path.read_bytes())
    assert not app.exception
    assert predicted_label(app) == flowers.sample_label(path)
    assert any("This prediction took" in caption.value for caption in app.caption)


@pytest.mark.parametrize("format_name", ["tflite", "tflite_int8", "onnx", "savedmodel"])
def test_clicking_a_gallery_photo_classifies_it_in_every_format(format_name):
    path = SAMPLES[-1]
    app = open_flowers_page()
    app.radio(key="flowers_input").set_value("Sample gallery").run()
    app.selectbox(key="flowers_format").set_value(format_name).run()
    assert not app.metric  # nothing is classified before a click
    app.button(key=f"flowers_sample_{path.stem}").click().run()
    assert not app.exception
    assert predicted_label(app) == flowers.sample_label(path)


BAD_UPLOADS = {
    "not an image": (b"just some text, not pixels" * 20, "not an image"),
    "truncated jpeg": (encode(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")[:4000],
                       "damaged or truncated"),
    "12000 x 12000 png": (encode(Image.new("1", (12000, 12000)), "PNG"), "12000×12000"),
    "30000 x 30000 png": (encode(Image.new("1", (30000, 30000)), "PNG"), "too large"),
}


@pytest.mark.parametrize("name", list(BAD_UPLOADS))
def test_bad_uploads_get_a_clear_message(name):
    data, message = BAD_UPLOADS[name]
    app = upload(open_flowers_page(), "upload.png", data, "image/png")
    assert not app.exception
    assert any(message in warning.value for warning in app.warning), [w.value for w in app.warning]
    assert not app.metric


ODD_IMAGES = {
    "cmyk jpeg": encode(Image.new("CMYK", (200, 150), (0, 40, 200, 0)), "JPEG"),
    "16-bit png": encode(Image.fromarray(np.linspace(0, 65535, 120 * 90).reshape(90, 120).astype(np.uint16)), "PNG"),
    "palette gif": encode(Image.effect_noise((120, 90), 60).convert("P"), "GIF"),
    "1x1 png": encode(Image.new("RGB", (1, 1), (255, 220, 0)), "PNG"),
}


def outcomes(app: AppTest) -> dict[str, bool]:
    """Which of the page's three states it shows: a named flower, "not sure", or not one of the five flowers."""
    warnings = [warning.value for warning in app.warning]
    return {"answered": bool(app.metric), "not sure": any("Not sure" in text for text in warnings),
            "not a flower": any(flowers.OOD_REASON in text for text in warnings)}


def probability_chart_shown(app: AppTest) -> bool:
    charts = app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")
    return any('"predicted"' in chart.proto.spec for chart in charts)


@pytest.mark.parametrize("name", list(ODD_IMAGES))
def test_odd_images_are_handled_with_exactly_one_of_the_three_outcomes(name):
    app = upload(open_flowers_page(), "odd.png", ODD_IMAGES[name], "image/png")
    assert not app.exception
    assert sum(outcomes(app).values()) == 1, outcomes(app)
    # The probability chart is drawn for a flower (named or not sure), never for a refused photo.
    assert probability_chart_shown(app) == (not outcomes(app)["not a flower"])


def test_noise_is_not_a_confident_flower():
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8))
    app = upload(open_flowers_page(), "noise.png", encode(noise, "PNG"), "image/png")
    assert not app.exception
    assert outcomes(app) == {"answered": False, "not sure": False, "not a flower": True}


def test_a_photo_of_a_cat_gets_the_third_state_distinct_from_not_sure():
    cat = ood_images.PHOTO_DIR / "skimage_chelsea.jpg"
    app = upload(open_flowers_page(), cat.name, cat.read_bytes())
    assert not app.exception
    assert outcomes(app) == {"answered": False, "not sure": False, "not a flower": True}
    assert any("This prediction took" in caption.value for caption in app.caption)  # what the model saw
    assert not probability_chart_shown(app)
    assert any("Knowing when not to answer" in markdown.value for markdown in app.markdown)  # the OOD figures
