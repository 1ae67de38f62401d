"""AppTest: the Formats page renders the committed benchmark and runs a short live measurement.

Seams used: the live-run form (``formats_models``, ``formats_formats``, ``formats_budget`` and its
"Run on this machine" button). The live run measures in subprocesses, as on the hosted app, in a background
thread that the test waits for (``showcase.live_benchmark.LIVE``).
"""

import pytest
from streamlit.testing.v1 import AppTest

from showcase import live_benchmark, paths

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")


def open_formats_page() -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=180)
    app.run()
    app.switch_page("pages/formats.py")
    app.run()
    assert not app.exception, app.exception
    return app


def wait_for_the_live_run(app: AppTest, timeout: float = 180) -> None:
    """Wait until the run in progress ends, then rerun the page as its refresh would."""
    run = live_benchmark.LIVE.active()
    if run is not None:
        run.thread.join(timeout)
        assert not run.running, f"the live run did not end within {timeout} s"
    app.run()


def column_names(app: AppTest) -> list[list[str]]:
    return [list(frame.value.columns) for frame in app.dataframe]


def test_the_page_shows_the_committed_benchmark():
    app = open_formats_page()
    text = " ".join(block.value for block in app.markdown)
    assert "faster than SavedModel at batch 1" in text
    targets = app.table[0].value
    assert list(targets.columns) == ["measured", "met", "why / note"] and set(targets["met"]) <= {"met", "missed"}
    assert any("p50 (ms)" in names and "metric change" in names for names in column_names(app))
    assert len(app.get("vega_lite_chart")) == 2  # the overview chart and the metric-change heat map
    assert app.subheader[0].value == "Size against speed, every model and format"
    assert "What the converters did to the graph (handwritten digits)" in [block.value for block in app.subheader]
    assert "folded into the convolutions" in text


@pytest.mark.slow
def test_a_short_live_run_shows_fresh_numbers_beside_the_committed_ones():
    app = open_formats_page()
    app.multiselect(key="formats_models").set_value(["digits"])
    app.multiselect(key="formats_formats").set_value(["tflite"])
    app.select_slider(key="formats_budget").set_value(20)
    next(button for button in app.button if button.label == "Run on this machine").click()
    app.run()
    wait_for_the_live_run(app)
    assert not app.exception, app.exception
    live = next(frame.value for frame in app.dataframe if "p50 now (ms)" in frame.value.columns)
    assert list(live["format"]) == ["TFLite fp32 (LiteRT)"]
    assert live["p50 now (ms)"].iloc[0] > 0 and live["p50 (ms) committed"].iloc[0] > 0
    # The only warnings left are the capacity section's missed targets, drawn from the committed benchmark.
    assert all(warning.value.startswith("**Missed:") for warning in app.warning), [w.value for w in app.warning]


def test_an_empty_choice_asks_for_a_model_and_a_format():
    app = open_formats_page()
    app.multiselect(key="formats_models").set_value([])
    next(button for button in app.button if button.label == "Run on this machine").click()
    app.run()
    assert "Pick at least one model" in app.warning[0].value
