"""Dark theme (``theme.base = "dark"`` and the browser's ``prefers-color-scheme: dark``): the canvas, its strokes,
the charts and the highlighted words stay readable. One dark server for the module; screenshots go to
$SHOWCASE_SCREENSHOT_DIR (default .cache/screenshots, ignored by git)."""

import pytest

from appdriver import browser
from appdriver.screenshots import DESKTOP, STROKES, open_page, wait_for_prediction

from .conftest import running_app
from .test_layout_browser import CHART_WIDTHS, assert_fits, assert_highlights_keep_their_contrast

# The relative luminance (WCAG 2) of the app's background.
BACKGROUND_LUMINANCE = """() => {
    const [r, g, b] = getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor
        .match(/[\\d.]+/g).slice(0, 3).map(Number);
    const linear = value => (value /= 255) <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}"""
# Share of opaque white and of opaque dark pixels in the canvas's drawing layer (fabric.js's lower canvas, in the
# component's shadow DOM, which Playwright's locators reach), which holds the background and the strokes.
CANVAS_INK = """canvas => {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let white = 0, dark = 0;
    for (let i = 0; i < pixels.length; i += 4) {
        const level = (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
        if (pixels[i + 3] < 200) continue;
        if (level > 240) white++; else if (level < 60) dark++;
    }
    return {white: white / (pixels.length / 4), dark: dark / (pixels.length / 4)};
}"""


@pytest.fixture(scope="module")
def dark_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("dark_server") / "server.log", ("--theme.base", "dark")) as (_, url):
        yield url


@pytest.fixture(scope="module")
def dark(browser):
    context = browser.new_context(viewport=DESKTOP, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def test_the_canvas_stays_white_with_black_strokes(dark, dark_url, save_screenshot):
    dark.goto(f"{dark_url}/digits")
    dark.get_by_text("Draw a digit on the canvas").wait_for()
    assert dark.evaluate(BACKGROUND_LUMINANCE) < 0.05, "the app is not in dark theme"
    browser.draw(dark, STROKES["7"], steps=20)
    wait_for_prediction(dark, "7")
    ink = dark.locator("canvas.dc-canvas.lower-canvas").evaluate(CANVAS_INK)
    assert ink["white"] > 0.8 and 0.02 < ink["dark"] < 0.3, ink
    browser.wait_until_drawn(dark)
    assert_fits(dark)
    save_screenshot(dark, "dark-digits.png")


def test_highlighted_words_keep_their_contrast(dark, dark_url, save_screenshot):
    open_page(dark, dark_url, "sentiment")
    assert_highlights_keep_their_contrast(dark)
    save_screenshot(dark, "dark-sentiment.png")


def test_charts_draw_in_dark_theme(dark, dark_url, save_screenshot):
    open_page(dark, dark_url, "formats")
    assert_fits(dark)
    assert all(width > 600 for width in dark.evaluate(CHART_WIDTHS)[:2])
    save_screenshot(dark, "dark-formats.png")
