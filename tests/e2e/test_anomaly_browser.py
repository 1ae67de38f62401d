"""A real browser draws on the Anomaly page's canvas: a digit passes, a hash sign is flagged."""

import pytest

# Mouse strokes in canvas pixels (the canvas is 280×280): each stroke is a list of points.
SEVEN = [[(75, 55), (205, 55), (125, 240)]]
# A hash sign (#): strokes like a digit's, but a shape no digit has (about 5× the threshold).
HASH = [[(40, 90), (240, 90)], [(40, 190), (240, 190)], [(90, 40), (90, 240)], [(190, 40), (190, 240)]]


def open_anomaly(page, app_url):
    page.goto(f"{app_url}/anomaly")
    page.get_by_role("heading", name="Anomaly detection").wait_for()
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for()
    page.get_by_text("Draw on the canvas").wait_for()
    return canvas


def draw(page, canvas, strokes):
    box = canvas.bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=10)
        page.mouse.up()


@pytest.mark.parametrize("drawing,verdict", [("seven", "Looks like a digit"), ("hash", "Anomaly")])
def test_drawing_gets_a_verdict_with_pictures_and_histogram(page, app_url, save_screenshot, drawing, verdict):
    canvas = open_anomaly(page, app_url)
    draw(page, canvas, SEVEN if drawing == "seven" else HASH)
    page.get_by_role("heading", name=verdict, exact=True).wait_for()
    page.get_by_text("This prediction took").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    if drawing == "hash":
        page.wait_for_timeout(1500)  # let the chart and the pictures finish drawing
        save_screenshot(page, "anomaly.png")
