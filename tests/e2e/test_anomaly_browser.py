"""A real browser draws on the Anomaly page's canvas: a digit passes, a hash sign is flagged."""

import pytest

from appdriver.browser import draw, wait_until_drawn

# Mouse strokes in canvas pixels (the canvas is 280×280): each stroke is a list of points.
SEVEN = [[(75, 55), (205, 55), (125, 240)]]
# A hash sign (#): strokes like a digit's, but a shape no digit has (about 5× the threshold).
HASH = [[(40, 90), (240, 90)], [(40, 190), (240, 190)], [(90, 40), (90, 240)], [(190, 40), (190, 240)]]


def open_anomaly(page, app_url):
    page.goto(f"{app_url}/anomaly")
    page.get_by_role("heading", name="Anomaly detection").wait_for()
    page.get_by_text("Draw on the canvas").wait_for()


@pytest.mark.parametrize("drawing,verdict", [("seven", "Looks like a digit"), ("hash", "Anomaly")])
def test_drawing_gets_a_verdict_with_pictures_and_histogram(page, app_url, save_screenshot, drawing, verdict):
    open_anomaly(page, app_url)
    draw(page, SEVEN if drawing == "seven" else HASH, steps=10)
    page.get_by_role("heading", name=verdict, exact=True).wait_for()
    page.get_by_text("This prediction took").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    if drawing == "hash":
        wait_until_drawn(page)  # the chart and the pictures
        save_screenshot(page, "anomaly.png")
