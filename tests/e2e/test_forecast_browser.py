"""A real browser opens the Forecast page, and the Altair chart zooms and pans with the mouse."""

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from appdriver.browser import wait_until_drawn
from showcase import paths

# Vega's tooltip, shown while the mouse is over a point of the chart.
TOOLTIP = "#vg-tooltip-element.visible"
REDRAW_TIMEOUT_MS = 10_000


def open_forecast(page, app_url):
    page.goto(f"{app_url}/forecast")
    page.get_by_role("heading", name="Stock forecast").wait_for()
    page.get_by_text("Median forecast").wait_for()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    wait_until_drawn(page)  # vega-embed's first render
    return chart


def painted(chart) -> str:
    """The chart's marks as Vega painted them on its canvas (a data URL); the tooltip is not part of them."""
    return chart.locator("canvas.marks").evaluate("canvas => canvas.toDataURL()")


def repainted(page, chart, before: str) -> bool:
    """Whether the chart's canvas shows something other than ``before`` within ``REDRAW_TIMEOUT_MS``."""
    try:
        page.wait_for_function("([canvas, before]) => canvas.toDataURL() !== before",
                               arg=[chart.locator("canvas.marks").element_handle(), before], timeout=REDRAW_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        return False
    return True


def test_the_chart_zooms_and_pans(page, app_url, save_screenshot):
    chart = open_forecast(page, app_url)
    save_screenshot(page, "forecast.png")
    box = chart.bounding_box()
    centre = (box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.55)
    # Hover first, so that any tooltip is already there in the "before" picture.
    page.mouse.move(*centre)
    page.locator(TOOLTIP).wait_for()
    before, before_marks = chart.screenshot(), painted(chart)
    page.mouse.wheel(0, -400)
    assert repainted(page, chart, before_marks), "scrolling over the chart did not zoom it"
    zoomed, zoomed_marks = chart.screenshot(), painted(chart)
    assert zoomed != before, "scrolling over the chart did not zoom it"
    page.mouse.move(*centre)
    page.mouse.down()
    page.mouse.move(centre[0] - 120, centre[1], steps=10)
    page.mouse.up()
    assert repainted(page, chart, zoomed_marks), "dragging the chart did not pan it"
    assert chart.screenshot() != zoomed, "dragging the chart did not pan it"


def test_an_uploaded_csv_is_forecast_in_the_browser(page, app_url):
    open_forecast(page, app_url)
    page.get_by_text("Upload a CSV").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(paths.SAMPLES_DIR / "forecast" / "msft_2012_2013.csv"))
    page.get_by_text("Median forecast 20 trading days after 2013-03-01").wait_for()
    assert page.locator('[data-testid="stAlert"]').filter(has_text="Traceback").count() == 0
