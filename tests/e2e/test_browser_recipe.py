"""The JavaScript MNIST recipe (app/static/browser/digits_recipe.mjs), run in Debian's Chromium, against
``showcase.tasks.digits.prepare_digit`` on the same 60 canvas drawings; the in-browser prediction (the committed
onnxruntime-web on ``model.onnx``) against the server's; and the in-browser digit check against ``digit_check``."""

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


def test_the_browser_predicts_the_servers_digit_on_every_drawing(browser, assets_url):
    entry = manifest_lib.model_entry("digits")
    context, page, _ = browser_bench.open_runtime(browser, assets_url, entry, browser_bench.ORT_PACKAGE)
    try:
        figures = browser_bench.agreement(page, browser_bench.agreement_drawings(),
                                          calibration.temperature(entry, browser_bench.BROWSER_FORMAT))
    finally:
        context.close()
    assert figures["same_digit"] == figures["drawings"] >= 50
    assert figures["max_pixel_difference"] <= 1 / 255
    assert figures["max_probability_difference"] < 1e-3


CHECK = """async ({rgba, width, height, rules}) => {
    const bytes = Uint8ClampedArray.from(atob(rgba), (c) => c.charCodeAt(0));
    const ink = window.__recipe.inkOfAlpha(bytes, width, height);
    return window.__recipe.digitCheck(window.__recipe.inkStatistics(ink, width, height), rules);
}"""


def test_the_browser_checks_a_drawing_as_the_server_does(browser, assets_url):
    """The in-browser copy of ``digit_check``: the same score (to float rounding) and decision on 60 drawings and
    20 scribbles covering the canvas."""
    import base64

    from showcase import ood_images

    entry = manifest_lib.model_entry("digits")
    rng = np.random.default_rng(1)
    drawings = [drawing for _, drawing in browser_bench.agreement_drawings()]
    drawings += [ood_images.scribble(rng) for _ in range(20)]
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(assets_url + "/")
        page.evaluate(LOAD_RECIPE, f"{assets_url}/browser/digits_recipe.mjs")
        refused = 0
        for drawing in drawings:
            server = digits.digit_check(drawing, entry)
            height, width = drawing.shape[:2]
            check = page.evaluate(CHECK, {"rgba": base64.b64encode(np.ascontiguousarray(drawing)).decode(),
                                          "width": width, "height": height, "rules": digits.digit_check_rules(entry)})
            assert check["score"] == pytest.approx(server.score, abs=1e-4)
            assert check["inDistribution"] == server.in_distribution
            refused += not server.in_distribution
        assert refused >= 19
    finally:
        context.close()
