"""A real browser uploads a flower photo on the Flowers page and sees the right class, and a photo of a cat and
sees no flower name at all."""

from showcase import ood_images
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


def test_uploading_a_photo_of_something_else_gets_no_flower_name(page, app_url):
    page.goto(f"{app_url}/flowers")
    page.get_by_role("heading", name="Flowers").first.wait_for()
    page.get_by_text("Upload a flower photo or click a sample").wait_for()
    cat = ood_images.PHOTO_DIR / "skimage_chelsea.jpg"
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(cat))
    page.get_by_text(flowers.OOD_REASON).wait_for()
    page.get_by_text("This prediction took").wait_for()
    assert page.locator('[data-testid="stMetricValue"]').count() == 0
    assert page.get_by_text("Not sure — is this one of the five flowers?").count() == 0
