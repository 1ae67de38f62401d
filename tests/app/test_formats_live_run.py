"""AppTest: one live benchmark at a time on the Formats page, watched by every visitor; the operator's switch.

Two AppTest instances in one process stand for two visitors of one server: they share
``showcase.live_benchmark.LIVE``, as the sessions of a Streamlit server do. The run is real (digits, TFLite
and ONNX, measured in subprocesses).
"""

import pytest
from streamlit.testing.v1 import AppTest

from showcase import live_benchmark
from tests.app.test_formats_app import open_formats_page


@pytest.fixture(autouse=True)
def no_run_left_over():
    live_benchmark.LIVE.stop_active("the test ended")
    yield
    live_benchmark.LIVE.stop_active("the test ended")


def click_run(app: AppTest, formats: list[str]) -> None:
    app.multiselect(key="formats_models").set_value(["digits"])
    app.multiselect(key="formats_formats").set_value(formats)
    app.select_slider(key="formats_budget").set_value(20)
    next(button for button in app.button if button.label == "Run on this machine").click()
    app.run()
    assert not app.exception, app.exception


def live_run_warnings(app: AppTest) -> list[str]:
    """The page's warnings, less the capacity section's missed targets (from the committed benchmark)."""
    return [warning.value for warning in app.warning if not warning.value.startswith("**Missed:")]


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def live_formats(app: AppTest) -> list[str]:
    frames = [frame.value for frame in app.dataframe if "p50 now (ms)" in frame.value.columns]
    return list(frames[0]["format"]) if frames else []


@pytest.mark.slow
def test_a_second_visitors_click_watches_the_run_in_progress_and_both_see_its_result():
    first, second = open_formats_page(), open_formats_page()
    click_run(first, ["tflite", "onnx"])
    run = live_benchmark.LIVE.active()
    assert run is not None and "A run is in progress (started" in texts(first.info)

    click_run(second, ["tflite_int8"])
    assert live_benchmark.LIVE.active() is run, "the second click started another run"
    status = texts(second.info)
    assert "A run is in progress (started" in status and ("s left" in status or "past its budget" in status)
    assert "TFLite fp32 (LiteRT), ONNX fp32 (ONNX Runtime), within a 20 s budget" in status
    assert "did not start a second run" in texts(second.caption)

    run.thread.join(180)
    assert not run.running and run.error is None, run.error
    for visitor in (first, second):
        visitor.run()
        assert not visitor.exception, visitor.exception
        # Both see the running one's choice: the second visitor's TFLite int8 was not measured.
        assert live_formats(visitor) == ["TFLite fp32 (LiteRT)", "ONNX fp32 (ONNX Runtime)"]
        assert "A run is in progress" not in texts(visitor.info)


def test_the_operator_can_turn_the_live_run_off(monkeypatch):
    monkeypatch.setenv(live_benchmark.ENV_VAR, "off")
    app = open_formats_page()
    assert "Live measurement is turned off on this server" in texts(app.info)
    assert not [button for button in app.button if button.label == "Run on this machine"]
    # The committed figures are still there.
    assert any("p50 (ms)" in frame.value.columns for frame in app.dataframe)


@pytest.mark.slow
def test_skipped_measurements_fold_into_one_warning(monkeypatch):
    # The operator restricts the server to TFLite while a run asked for three formats is starting (the page
    # offers only what the server serves, so the run itself must skip SavedModel and ONNX, each with its reason).
    app = open_formats_page()
    monkeypatch.setenv("SHOWCASE_FORMATS", "tflite")
    request = live_benchmark.Request(("digits",), ("savedmodel", "tflite", "onnx"), 20.0)
    run, started = live_benchmark.LIVE.start(request)
    assert started
    app.session_state["live_run_id"] = run.id
    run.thread.join(180)
    app.run()
    assert not app.exception, app.exception
    assert live_formats(app) == ["TFLite fp32 (LiteRT)"]
    warnings = live_run_warnings(app)
    assert len(warnings) == 1, warnings
    warning = warnings[0]
    assert warning.startswith("2 measurements skipped or failed: ")
    assert "SavedModel (TensorFlow) is turned off on this server (SHOWCASE_FORMATS) — digits; " in warning


def test_formats_this_server_does_not_offer_are_not_offered_for_measuring(monkeypatch):
    monkeypatch.setenv("SHOWCASE_FORMATS", "tflite,onnx")
    app = open_formats_page()
    assert app.multiselect(key="formats_formats").options == ["TFLite fp32 (LiteRT)", "ONNX fp32 (ONNX Runtime)"]
    assert "Not measured here: SavedModel (TensorFlow) is turned off on this server" in texts(app.caption)
