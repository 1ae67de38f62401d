"""The Digits page's "In your browser" mode in a real browser: the model runs in the page and reads every stroke
without a request or a Streamlit rerun, agrees with the server on the same drawing, refuses a scribble, never
reaches past loopback, and falls back to the server's canvas when its runtime is blocked."""

import hashlib
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import browser_digits
import pytest

from appdriver.browser import draw, mouse_actions
from showcase import manifest as manifest_lib

from .test_digits_browser import SCRIBBLE, STROKES, predicted_digit

COMPONENT_CANVAS = '[data-testid="browser-digits-canvas"]'
PREDICTION = '[data-testid="browser-digits-prediction"]'
LOOPBACK = {"127.0.0.1", "localhost"}


def open_in_browser_mode(page, app_url):
    page.goto(f"{app_url}/digits")
    page.get_by_role("heading", name="Handwritten digits").wait_for()
    page.get_by_text("Run the model in your browser").click()


def wait_until_ready(page):
    page.locator('.browser-digits[data-ready="true"]').wait_for()


def readings(page) -> int:
    return int(page.locator(".browser-digits").get_attribute("data-predictions") or 0)


def draw_in_browser(page, strokes, steps: int = 20) -> None:
    """Draw on the component's canvas and wait until the browser has read the finished drawing."""
    before = readings(page)
    for method, arguments, options in mouse_actions(page.locator(COMPONENT_CANVAS).bounding_box(), strokes, steps):
        getattr(page.mouse, method)(*arguments, **options)
    # The component lives in a shadow root, which Playwright's locators enter and document.querySelector does not.
    root = page.locator(".browser-digits").element_handle()
    page.wait_for_function("([root, before]) => Number(root.dataset.predictions) > before", arg=[root, before])
    # The reading of the last mouse event comes one animation frame after it; two frames make sure it is shown.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_timeout(150)


def browser_probabilities(page) -> list[float]:
    return json.loads(page.locator(".bd-bars").get_attribute("data-values"))


@pytest.mark.parametrize("digit", list(STROKES))
def test_the_browser_reads_what_the_server_reads(page, app_url, digit):
    open_in_browser_mode(page, app_url)
    wait_until_ready(page)
    draw_in_browser(page, STROKES[digit])
    assert page.locator(PREDICTION).inner_text() == digit
    assert "ms for the model" in page.get_by_test_id("browser-digits-timing").inner_text()
    page.get_by_role("button", name="Check on the server").click()
    verdict = page.get_by_test_id("stAlert").filter(has_text="The server (ONNX Runtime")
    assert f"reads {digit} at" in verdict.inner_text()
    assert f"your browser read {digit}: the same." in verdict.inner_text()


def test_a_scribble_is_refused_in_the_browser_too(page, app_url):
    open_in_browser_mode(page, app_url)
    wait_until_ready(page)
    draw_in_browser(page, SCRIBBLE, steps=4)
    assert page.locator(PREDICTION).inner_text() == "?"
    assert page.get_by_test_id("browser-digits-confidence").inner_text() == "This doesn't look like one handwritten digit."


def test_strokes_update_the_reading_without_a_request_or_a_rerun(page, app_url):
    """From opening the page to the last stroke, every request stays on loopback; while drawing, the page sends
    neither an HTTP request nor a websocket message (a Streamlit rerun starts with one)."""
    requests, messages = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: messages.append(payload)))
    open_in_browser_mode(page, app_url)
    wait_until_ready(page)
    page.wait_for_timeout(500)  # the rerun that reports the runtime's start
    requests_before, messages_before = len(requests), len(messages)
    assert messages_before > 0, "the websocket to Streamlit was not observed"

    top_bar, diagonal = STROKES["7"][0][:2], STROKES["7"][0][1:]
    draw_in_browser(page, [top_bar])
    after_first = browser_probabilities(page)
    draw_in_browser(page, [diagonal])
    after_second = browser_probabilities(page)
    assert page.locator(PREDICTION).inner_text() == "7"
    assert after_first != after_second
    assert (len(requests), len(messages)) == (requests_before, messages_before)
    hosts = {urlsplit(url).hostname for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= LOOPBACK, hosts


def test_a_blocked_runtime_falls_back_to_the_server(page, app_url):
    page.route("**/browser/ort/*.wasm", lambda route: route.abort())
    open_in_browser_mode(page, app_url)
    page.get_by_text("Your browser could not run the model").wait_for()
    assert "could not start" in page.get_by_test_id("browser-digits-status").inner_text()
    draw(page, STROKES["1"], steps=25)
    assert predicted_digit(page) == "1"


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def test_the_app_serves_the_model_as_the_manifest_records_it(app_url):
    status, _, body = fetch(app_url + browser_digits.MODEL_URL)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == manifest_lib.model_entry("digits")["artifacts"]["onnx"]["sha256"]


JAVASCRIPT = {"text/javascript", "application/javascript"}


@pytest.mark.parametrize("path, media_types", [
    ("digits_recipe.mjs", JAVASCRIPT), ("digits_component.js", JAVASCRIPT), ("ort/ort.wasm.min.mjs", JAVASCRIPT),
    ("ort/ort-wasm-simd-threaded.wasm", {"application/wasm"}),
])
def test_the_app_serves_the_runtime_with_types_a_browser_accepts(app_url, path, media_types):
    status, content_type, _ = fetch(f"{app_url}{browser_digits.URL_PREFIX}/{path}")
    assert status == 200 and content_type.split(";")[0] in media_types


@pytest.mark.parametrize("path", ["../browser_digits.py", "%2e%2e/ui.py", "models/digits/model.tflite", "nothing.js"])
def test_the_app_serves_nothing_else_there(app_url, path):
    status, _, body = fetch(f"{app_url}{browser_digits.URL_PREFIX}/{path}")
    assert status in (400, 404) and b"import" not in body
