"""What AppTest cannot check: files the browser's uploader itself refuses, and how a hostile review renders.

Streamlit's uploader refuses a file over ``server.maxUploadSize`` or of a type not listed before anything reaches
the server; the page must still say what it takes and that nothing usable arrived.
"""

import pytest

from tests.app import hostile_cases as cases

ELEVEN_MEGABYTES = b"\x89PNG\r\n\x1a\n" + bytes(11 * 2**20)


@pytest.mark.parametrize("name, mime, data, reason", [
    ("huge.png", "image/png", ELEVEN_MEGABYTES, "10.0MB or smaller"),
    ("notes.txt", "text/plain", b"not a picture", "not allowed"),
    ("script.html", "text/html", b"<script>alert(1)</script>", "not allowed"),
])
def test_a_file_the_uploader_refuses_leaves_a_visible_explanation(page, app_url, name, mime, data, reason):
    page.goto(f"{app_url}/flowers")
    page.get_by_text("Nothing usable uploaded yet").wait_for()
    page.get_by_text("Accepted: PNG, JPG, JPEG, WEBP, BMP or GIF, at most 10 MB").wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])
    # Streamlit marks the refused file red and keeps the reason in a visually hidden alert (shown on hover).
    page.locator('[data-testid="stFileUploader"] [role="alert"]').filter(has_text=reason).wait_for(state="attached")
    assert page.get_by_text("Nothing usable uploaded yet").is_visible()
    assert page.locator('[data-testid="stMetricValue"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0


def test_broken_images_one_after_another_in_one_page_load(page, app_url):
    """A visitor trying file after file: every refusal says why, and the page never shows an exception."""
    page.goto(f"{app_url}/digits")
    page.get_by_text("Upload a photo", exact=True).click()
    page.get_by_text("Nothing usable uploaded yet").wait_for()
    dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    for case, reason in [("random_bytes", "not an image we can read"), ("truncated_png", "damaged or truncated"),
                         ("tiff_renamed_png", "TIFF images are not supported"), ("all_white", "No digit found"),
                         ("bomb_header_60000px", "too large to decode safely"), ("cmyk_jpeg", None)]:
        file_name, build = cases.IMAGE_CASES[case]
        dropzone.set_input_files(files=[{"name": file_name, "mimeType": "image/png", "buffer": build()}])
        if reason:
            page.get_by_text(reason).wait_for()
        else:
            page.locator('[data-testid="stMetricValue"]').filter(has_text="7").wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0, case


def test_markup_in_a_review_is_shown_as_typed(page, app_url):
    page.goto(f"{app_url}/sentiment")
    review = page.locator('[data-testid="stTextArea"] textarea')
    # Markup inside a real review: on its own, that much markup does not read like a review and gets no score.
    prose = ("I went in with low hopes, but the story kept me interested from the start to the end, and the cast is a "
             "joy to watch in every scene. I would see it again with my family, and I think that you should see it "
             "too. It is not perfect, but it is one of the best films I have seen this year. ")
    review.fill(prose + "**great** film, [click](javascript:alert(1)) <b>wonderful</b> acting, $x^2$ stars. "
                + prose + prose)
    review.press("Control+Enter")
    page.get_by_text("Which words drove it").wait_for()
    highlights = page.locator('[data-testid="stMarkdownContainer"]').filter(has=page.locator("span[title]"))
    highlights.first.wait_for()
    text = highlights.first.inner_text()
    # The model's own cleaning drops HTML tags from the words; the Markdown stays as typed.
    assert "**great**" in text and "[click](javascript:alert(1))" in text and "$x^2$" in text
    assert highlights.locator("strong, a, b, .katex").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
