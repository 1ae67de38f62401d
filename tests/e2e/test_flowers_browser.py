"""A real browser uploads a flower photo on the Flowers page and sees the right class."""

from showcase.tasks import flowers


def test_uploading_a_photo_shows_the_right_class(page, app_url, save_screenshot):
    path = next(path for path in flowers.sample_photos() if flowers.sample_label(path) == "sunflowers")
    page.goto(f"{app_url}/flowers")
    page.get_by_role("heading", name="Flowers").first.wait_for()
    page.get_by_text("Upload a flower photo or click a sample").wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    value = page.locator('[data-testid="stMetricValue"]').first
    value.wait_for()
    assert value.inner_text().strip() == "sunflowers"
    page.get_by_text("This prediction took").wait_for()
    save_screenshot(page, "flowers.png")
