"""A real browser draws digits on the canvas and uploads a photo on the Digits page; a photo of a cat and a scribble
over the whole canvas get no digit at all."""


import numpy as np
import pytest
from PIL import Image

from appdriver.browser import draw, wait_until_drawn
from showcase import ood_images, paths
from showcase.tasks import digits

# Mouse strokes in canvas pixels (the canvas is 280×280): each stroke is a list of points.
STROKES = {
    "1": [[(140, 45), (140, 235)]],
    "7": [[(75, 55), (205, 55), (125, 240)]],
}
# Back and forth over the whole canvas.
SCRIBBLE = [[(x, y) for row, y in enumerate(range(10, 280, 30)) for x in ((10, 270) if row % 2 == 0 else (270, 10))]]


def open_digits(page, app_url):
    page.goto(f"{app_url}/digits")
    page.get_by_role("heading", name="Handwritten digits").wait_for()
    # Wait for the first full render (the prompt in the result column) before drawing.
    page.get_by_text("Draw a digit on the canvas").wait_for()


def predicted_digit(page):
    value = page.locator('[data-testid="stMetricValue"]').first
    value.wait_for()
    return value.inner_text().strip()


@pytest.mark.parametrize("digit", list(STROKES))
def test_drawing_a_digit_predicts_it(page, app_url, save_screenshot, digit):
    open_digits(page, app_url)
    draw(page, STROKES[digit], steps=25)
    assert predicted_digit(page) == digit
    page.get_by_text("This prediction took").wait_for()
    if digit == "7":
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
        wait_until_drawn(page)  # the chart and the 28×28 image
        save_screenshot(page, "digits.png")


def test_uploading_a_photo_predicts_it(page, app_url, tmp_path):
    five = np.asarray(Image.open(next((paths.SAMPLES_DIR / "digits").glob("5_*.png"))))
    photo = np.full((400, 300, 3), 225, dtype=np.uint8)
    photo[60:340, 10:290] = 255 - np.asarray(Image.fromarray(five).resize((280, 280)))[..., None]
    path = tmp_path / "five.jpg"
    Image.fromarray(photo).save(path, quality=90)

    open_digits(page, app_url)
    page.get_by_test_id("stRadioGroup").get_by_text("Upload a photo", exact=True).click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    assert predicted_digit(page) == "5"


def test_uploading_a_photo_that_is_not_a_digit_reads_nothing(page, app_url):
    open_digits(page, app_url)
    page.get_by_test_id("stRadioGroup").get_by_text("Upload a photo", exact=True).click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(ood_images.PHOTO_DIR /
                                                                                    "skimage_chelsea.jpg"))
    page.get_by_text(digits.OOD_REASON).wait_for()
    page.get_by_text("This prediction took").wait_for()
    assert page.locator('[data-testid="stMetricValue"]').count() == 0


def test_a_scribble_over_the_whole_canvas_reads_nothing(page, app_url):
    open_digits(page, app_url)
    draw(page, SCRIBBLE, steps=60)
    page.get_by_text(digits.OOD_REASON).wait_for()
    assert page.locator('[data-testid="stMetricValue"]').count() == 0
