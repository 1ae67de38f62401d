"""Visitor values in the browser: an odd shared address is a warning with the value shown as typed, never a
link or an error box, and the scored CSV downloads with formula-like cells neutralised."""

import csv
import io
from urllib.parse import quote


def test_an_odd_address_is_shown_as_typed_in_a_warning(page, app_url):
    link, site = "[x](https://e.vil)", "www.e.vil"
    page.goto(f"{app_url}/gan?digit={site}&seed={quote(link)}&size=" + "9" * 5000)
    warning = page.locator("[data-testid='stAlertContentWarning']").filter(has_text="Ignored from the address")
    warning.wait_for()
    page.get_by_text("Generating 16 digits took").wait_for()
    # What the visitor reads is what they typed (an invisible word joiner keeps addresses from linking).
    text = warning.inner_text().replace("\u2060", "")
    assert f"'{site}'" in text and f"'{link}'" in text and "size '999" in text, text
    assert warning.locator("a").count() == 0, warning.inner_html()
    assert page.locator("[data-testid='stException']").count() == 0


def test_the_scored_csv_download_neutralises_formulas(page, app_url, tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text('review\n"=cmd|\' /C calc\'!A0 a great film"\n"@SUM(A1) an awful film"\n"-2+3 a fine film"\n')
    page.goto(f"{app_url}/sentiment")
    page.get_by_role("tab", name="Batch: score a CSV").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(reviews))
    page.get_by_text("leading '").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the scored CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path(), encoding="utf-8").read(), newline="")))
    assert [row["review"][:2] for row in rows] == ["'=", "'@", "'-"]
