"""Every page on a phone (390×844, touch), the Home cards' labels and keyboard order, and every image's caption.

Layout is asserted, not pixels: nothing is wider than the viewport, the page never scrolls sideways, the canvas
fits and takes a digit drawn with touch events, and charts take the width they are given. Each page's phone
screenshot goes to $SHOWCASE_SCREENSHOT_DIR (default .cache/screenshots, ignored by git); the README's pictures
come from ``python -m appdriver screenshots`` only.
"""

import pytest

from appdriver import browser
from appdriver.screenshots import DESKTOP, PAGES, PHONE, STROKES, open_page, wait_for_prediction
from showcase import manifest, tasks

# Every element of the page (the sidebar aside: on a phone it waits off-screen) wider than the viewport or reaching
# past its edges, and how far the page scrolls sideways.
OVERFLOW = """() => {
    const width = window.innerWidth;
    const main = document.querySelector('[data-testid="stMain"]');
    const wide = [...main.querySelectorAll('[data-testid="stElementContainer"], [data-testid="stVerticalBlock"]')]
        .map(element => [element, element.getBoundingClientRect()])
        .filter(([, box]) => box.width > 0 && (box.right > width + 1 || box.left < -1))
        .map(([element, box]) => `${element.dataset.testid} ${Math.round(box.left)}..${Math.round(box.right)}: `
             + element.innerText.slice(0, 60));
    return {wide, scroll: document.documentElement.scrollWidth - width};
}"""
# Images without a caption beside them (Streamlit's st.image writes no alt text, so the caption is the text).
UNCAPTIONED = """() => [...document.querySelectorAll('[data-testid="stImageContainer"]')]
    .filter(image => !image.parentElement.querySelector('[data-testid="stImageCaption"]')?.innerText.trim())
    .length"""
CHART_WIDTHS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .map(chart => chart.getBoundingClientRect().width).filter(width => width > 0)"""
# The lowest contrast ratio (WCAG 2) between a highlighted word and its shading laid over the app's background.
LOWEST_HIGHLIGHT_CONTRAST = """() => {
    const rgba = text => { const v = text.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v[3] ?? 1]; };
    const linear = value => (value /= 255) <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
    const luminance = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    const page = rgba(getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor);
    const spans = [...document.querySelectorAll('[data-testid="stMarkdownContainer"] span[title]')];
    const ratios = spans.map(span => {
        const style = getComputedStyle(span), shade = rgba(style.backgroundColor), text = rgba(style.color);
        const behind = [0, 1, 2].map(i => shade[3] * shade[i] + (1 - shade[3]) * page[i]);
        const [light, dark] = [luminance(text), luminance(behind)].sort((a, b) => b - a);
        return (light + 0.05) / (dark + 0.05);
    });
    return ratios.length ? Math.min(...ratios) : null;
}"""
# Text cut off in a Home card: an element whose content is wider than the element itself.
CUT_TEXT = """() => [...document.querySelectorAll('[data-testid="stVerticalBlockBorderWrapper"] p')]
    .filter(text => text.scrollWidth > text.clientWidth + 1).map(text => text.innerText)"""


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def touch_draw(page, strokes, steps: int = 6) -> None:
    """Draw on the canvas with touch events (Chromium's DevTools protocol; Playwright's touchscreen only taps)."""
    canvas = page.locator(browser.CANVAS)
    canvas.wait_for()
    box = canvas.bounding_box()
    session = page.context.new_cdp_session(page)

    def touch(kind: str, x: float | None = None, y: float | None = None) -> None:
        points = [] if x is None else [{"x": box["x"] + x, "y": box["y"] + y}]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    for stroke in strokes:
        touch("touchStart", *stroke[0])
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            for step in range(1, steps + 1):
                touch("touchMove", x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps)
        touch("touchEnd")
    session.detach()


def assert_fits(page) -> None:
    layout = page.evaluate(OVERFLOW)
    assert layout["scroll"] <= 0, f"the page scrolls sideways by {layout['scroll']} px"
    assert not layout["wide"], layout["wide"]


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_fits_a_phone_and_captions_its_images(phone, app_url, save_screenshot, name):
    if name == "digits":
        phone.goto(f"{app_url}/digits")
        phone.get_by_text("Draw a digit on the canvas").wait_for()
        canvas = phone.locator(browser.CANVAS).bounding_box()
        assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= PHONE["width"]
        touch_draw(phone, STROKES["7"])
        wait_for_prediction(phone, "7")
        browser.wait_until_drawn(phone)
    else:
        open_page(phone, app_url, name)
    if name == "sentiment":
        assert_highlights_keep_their_contrast(phone)
        # The model card's tables and the reliability diagrams must fit too (the same on every model page).
        phone.get_by_test_id("stExpander").get_by_text("How this model works").click()
        phone.get_by_text("Known failure modes (measured)").wait_for()
        browser.wait_until_drawn(phone)
    assert_fits(phone)
    assert phone.evaluate(UNCAPTIONED) == 0
    widths = phone.evaluate(CHART_WIDTHS)
    assert all(width <= PHONE["width"] for width in widths), widths
    save_screenshot(phone, f"phone-{name}.png")
    if name == "home":
        assert_home_labels_are_whole(phone)
    if name == "formats":
        assert_charts_widen_with_the_viewport(phone, widths[0])


def assert_highlights_keep_their_contrast(page) -> None:
    lowest = page.evaluate(LOWEST_HIGHLIGHT_CONTRAST)
    assert lowest is not None and lowest >= 3.0, f"a highlighted word has a contrast ratio of {lowest:.2f}"


def assert_home_labels_are_whole(page) -> None:
    assert page.evaluate(CUT_TEXT) == []
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "of generated digits read as requested" in text
    assert "tf_flowers, validation (20%, stratified) split, n = 735" in text


def assert_charts_widen_with_the_viewport(page, narrow: float) -> None:
    assert 250 <= narrow <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    try:
        page.wait_for_function(f"() => document.querySelector('[data-testid=\"stVegaLiteChart\"]')"
                               f".getBoundingClientRect().width > {narrow + 200}")
    finally:
        page.set_viewport_size(PHONE)


def test_keyboard_focus_on_home_follows_the_navigation_and_labels_are_whole_at_1400_px(page, app_url):
    open_page(page, app_url, "home")
    assert_home_labels_are_whole(page)
    models = manifest.load_manifest()["models"]
    expected = [f"Open {model.title}" for model in tasks.MODELS if model.name in models] + ["Open Formats compared"]
    page.locator("body").focus()
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        # A page link's text starts with its icon's name ("arrow_forward"), on a line of its own.
        focused = page.evaluate("() => document.activeElement.tagName === 'A' && "
                                "document.activeElement.closest('[data-testid=\"stMain\"]') ? "
                                "document.activeElement.innerText.trim().split('\\n').pop() : ''")
        if focused.startswith("Open ") and focused not in reached:
            reached.append(focused)
        if len(reached) == len(expected):
            break
    assert reached == expected
