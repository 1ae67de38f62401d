"""AppTest: with SHOWCASE_API_URL naming a real ``python -m showcase.api`` on loopback, the pages' format picker
offers "REST API", its predictions are the in-process ones of the format the API serves, and the Formats page
measures what the network hop costs. Without the variable there is no such choice; with the API down, a
message instead of a traceback."""

from streamlit.testing.v1 import AppTest

from appdriver.server import free_port
from showcase import paths
from showcase.api.client import URL_VARIABLE

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")
REST_API = "rest_api"
SAMPLE_SEVEN = next(path for path in sorted((paths.SAMPLES_DIR / "digits").glob("7_*.png")))


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=120)
    app.run()
    app.switch_page(f"pages/{page}.py")
    app.run()
    assert not app.exception, app.exception
    return app


def digit_seven_in(format_name: str) -> AppTest:
    app = open_page("digits")
    app.radio(key="digits_input").set_value("MNIST test samples").run()
    app.selectbox(key="digits_sample").set_value(SAMPLE_SEVEN).run()
    app.selectbox(key="digits_format").set_value(format_name).run()
    assert not app.exception, app.exception
    return app


def test_without_the_variable_the_picker_offers_no_rest_api(monkeypatch):
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    assert REST_API not in open_page("digits").selectbox(key="digits_format").options


def test_the_rest_api_predicts_as_the_same_format_in_process(api, monkeypatch):
    monkeypatch.setenv(URL_VARIABLE, api.base_url)
    remote = digit_seven_in(REST_API)
    served_format = api.get("/v1/models/digits/metadata").json()["metadata"]["showcase"]["default_format"]
    local = digit_seven_in(served_format)
    assert remote.metric[0].value == local.metric[0].value == "7"
    assert remote.metric[0].delta == local.metric[0].delta  # the calibrated confidence, to 0.1 %
    assert any(f"with the REST API at {api.base_url}" in caption.value for caption in remote.caption)


def test_the_formats_page_measures_the_network_hop(api, monkeypatch):
    monkeypatch.setenv(URL_VARIABLE, api.base_url)
    app = open_page("formats")
    app.button(key="formats_network_hop").click().run()
    assert not app.exception, app.exception
    (hops,) = [frame.value for frame in app.dataframe if "hop p50 (ms)" in frame.value.columns]
    assert list(hops["model"]) == ["digits", "flowers", "sentiment"]
    assert (hops["REST p50 (ms)"] > 0).all() and (hops["in-process p50 (ms)"] > 0).all()
    assert (hops["REST p95 (ms)"] >= hops["REST p50 (ms)"]).all()


def test_an_unreachable_api_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv(URL_VARIABLE, f"http://127.0.0.1:{free_port()}")
    app = digit_seven_in(REST_API)
    assert not app.metric
    assert any("cannot be reached" in error.value for error in app.error)
