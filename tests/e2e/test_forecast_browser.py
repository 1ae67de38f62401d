"""A real browser opens the Forecast page, and the Altair chart zooms and pans with the mouse."""

from showcase import paths


def open_forecast(page, app_url):
    page.goto(f"{app_url}/forecast")
    page.get_by_role("heading", name="Stock forecast").wait_for()
    page.get_by_text("Median forecast").wait_for()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    page.wait_for_timeout(1500)  # Let vega-embed finish its first render.
    return chart


def test_the_chart_zooms_and_pans(page, app_url, save_screenshot):
    chart = open_forecast(page, app_url)
    save_screenshot(page, "forecast.png")
    box = chart.bounding_box()
    centre = (box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.55)
    # Hover first, so that any tooltip is already there in the "before" picture.
    page.mouse.move(*centre)
    page.wait_for_timeout(800)
    before = chart.screenshot()
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(800)
    zoomed = chart.screenshot()
    assert zoomed != before, "scrolling over the chart did not zoom it"
    page.mouse.move(*centre)
    page.mouse.down()
    page.mouse.move(centre[0] - 120, centre[1], steps=10)
    page.mouse.up()
    page.wait_for_timeout(800)
    assert chart.screenshot() != zoomed, "dragging the chart did not pan it"


def test_an_uploaded_csv_is_forecast_in_the_browser(page, app_url):
    open_forecast(page, app_url)
    page.get_by_text("Upload a CSV").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(paths.SAMPLES_DIR / "forecast" / "msft_2012_2013.csv"))
    page.get_by_text("Median forecast 20 trading days after 2013-03-01").wait_for()
    assert page.locator('[data-testid="stAlert"]').filter(has_text="Traceback").count() == 0
