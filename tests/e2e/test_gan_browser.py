"""The Digit GAN page in a real browser: a shared address restores the grid, and the PNG download works."""

import io

import numpy as np
from PIL import Image

from showcase.tasks import gan


def test_a_shared_address_draws_its_grid_and_the_png_downloads(page, app_url, save_screenshot):
    page.goto(f"{app_url}/gan?digit=7&seed=42&size=3")
    page.get_by_text("Generating 9 digits took").wait_for()
    page.get_by_text("The Digits classifier reads:").wait_for()  # The walk's strip is drawn last.
    page.get_by_role("button", name="Download the grid (PNG)").wait_for()
    page.wait_for_function("document.querySelectorAll(\"[data-testid='stImageCaption']\").length >= 10")
    captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()[:9]
    assert sum("reads 7" in caption for caption in captions) >= 8, captions
    save_screenshot(page, "gan.png")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the grid (PNG)").click()
    download = download_info.value
    assert download.suggested_filename == "gan_digit-7_seed-42_3x3.png"
    grid = np.asarray(Image.open(io.BytesIO(open(download.path(), "rb").read())))
    tile = 28 * 4 + 2  # Scale 4, 2-pixel gaps.
    assert grid.shape == (3 * tile + 2, 3 * tile + 2)
    assert grid.max() == 255 and gan.IMAGE_SIZE == 28
