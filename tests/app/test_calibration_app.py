"""AppTest: every classifier page draws its reliability diagram and shows calibrated confidences."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from showcase import calibration, paths, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import sentiment
from showcase.tasks.digits import prepare_digit, to_model_input

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=60)
    app.run()
    app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception
    return app


def reliability_diagrams(app: AppTest) -> list:
    charts = app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")
    return [chart for chart in charts if "before calibration" in chart.proto.spec
            and "after calibration" in chart.proto.spec and "confidence bin" in chart.proto.spec]


@pytest.mark.parametrize("model_name", ["digits", "flowers", "sentiment"])
def test_how_this_model_works_draws_a_reliability_diagram_per_format_with_the_ece(model_name):
    entry = manifest_lib.model_entry(model_name)
    app = open_page(entry["page"])
    assert len(reliability_diagrams(app)) == len(entry["calibration"]["per_format"])
    assert any(markdown.value.startswith("**Calibrated confidences.**") for markdown in app.markdown)
    table = next(frame.value for frame in app.dataframe if "ECE after" in frame.value.columns)
    assert table["ECE after"].tolist() == [figures["after"]["ece"] for figures in
                                           entry["calibration"]["per_format"].values()]


def test_the_digits_page_shows_the_calibrated_confidence():
    entry = manifest_lib.model_entry("digits")
    sample = sorted((paths.SAMPLES_DIR / "digits").glob("7_*.png"))[0]
    app = open_page("digits")
    app.radio(key="digits_input").set_value("MNIST test samples").run()
    app.selectbox(key="digits_sample").set_value(sample).run()
    app.selectbox(key="digits_format").set_value("onnx").run()
    from PIL import Image

    raw = runtime.load("digits", "onnx").predict(to_model_input(prepare_digit(Image.open(sample))[None]))
    calibrated = calibration.scaled(raw, calibration.temperature(entry, "onnx"))
    assert app.metric[0].delta == f"{calibrated[0].max():.1%} confident"
    assert f"{calibrated[0].max():.1%}" != f"{raw[0].max():.1%}"  # The label-smoothed model is under-confident.


def test_the_sentiment_page_shows_the_calibrated_probability():
    entry = manifest_lib.model_entry("sentiment")
    review = "A great, moving film. The performances are wonderful and the script is sharp and funny."
    app = open_page("sentiment")
    app.selectbox(key="sentiment_format").set_value("onnx").run()
    app.text_area(key="sentiment_text").set_value(review).run()
    predictor = runtime.load("sentiment", "onnx")
    vocabulary = sentiment.load_vocabulary(entry)
    raw = sentiment.score_text(predictor, vocabulary, review).probability
    calibrated = sentiment.score_text(predictor, vocabulary, review, calibration.temperature(entry, "onnx")).probability
    assert raw != calibrated
    assert sentiment.SentimentClassifier(predictor, vocabulary, entry).score(review).probability == calibrated
    assert app.metric[0].delta == f"{calibrated:.1%} positive"
    assert np.isclose(calibration.scaled(np.array([[raw]]), calibration.temperature(entry, "onnx"))[0, 0], calibrated)
