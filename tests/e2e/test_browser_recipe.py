"""The JavaScript MNIST recipe (app/static/browser/digits_recipe.mjs), run in Debian's Chromium, against
``showcase.tasks.digits.prepare_digit`` on the same 60 canvas drawings; and the in-browser prediction against the
server's, where onnxruntime-web is built (``COMPARE=1 bash scripts/build_browser_runtime.sh``)."""

import numpy as np
import pytest

from appdriver import browser_bench
from showcase import calibration
from showcase import manifest as manifest_lib
from showcase.tasks import digits

LOAD_RECIPE = """async (recipe) => { window.__recipe = await import(recipe); window.__predict = async () => new Float32Array(10); }"""


@pytest.fixture(scope="module")
def assets_url():
    with browser_bench.serve_assets() as url:
        yield url


def test_the_browser_recipe_gives_the_servers_28x28_images(browser, assets_url):
    drawings = browser_bench.agreement_drawings()
    assert len(drawings) >= 50
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(assets_url + "/")
        page.evaluate(LOAD_RECIPE, f"{assets_url}/browser/digits_recipe.mjs")
        for digit, drawing in drawings:
            browser_image, _ = browser_bench.prepare_and_predict(page, drawing, 1.0)
            assert np.abs(browser_image - digits.prepare_digit(drawing)).max() <= 1 / 255, digit
        assert page.evaluate("() => window.__recipe.prepareDrawing(new Uint8ClampedArray(280 * 280 * 4), 280, 280)") is None
    finally:
        context.close()


@pytest.mark.skipif(not (browser_bench.ORT_BUILD_DIR / browser_bench.ORT_FILES[-1]).exists(),
                    reason="onnxruntime-web is not built: COMPARE=1 bash scripts/build_browser_runtime.sh (needs npm)")
def test_the_browser_predicts_the_servers_digit_on_every_drawing(browser, assets_url):
    entry = manifest_lib.model_entry("digits")
    context, page, _ = browser_bench.open_runtime(browser, assets_url, entry, browser_bench.ORT_PACKAGE)
    try:
        figures = browser_bench.agreement(page, browser_bench.agreement_drawings(),
                                          calibration.temperature(entry, "onnx"))
    finally:
        context.close()
    assert figures["same_digit"] == figures["drawings"] >= 50
    assert figures["max_pixel_difference"] <= 1 / 255
    assert figures["max_probability_difference"] < 1e-3
