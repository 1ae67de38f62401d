"""The in-browser mode's server side: its committed files, and the drawing a visitor sends to the server
(tests/e2e/test_digits_in_browser.py requests the files from a running app)."""

import base64

import browser_digits
import numpy as np
import pytest

from showcase import paths


def test_the_committed_runtime_stays_small_and_keeps_its_licence():
    files = [path for path in paths.BROWSER_DIR.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 15e6
    assert "MIT License" in (paths.BROWSER_DIR / "ort" / "LICENSE").read_text()


def test_a_sent_drawing_becomes_the_canvas_it_came_from():
    alpha = np.random.default_rng(0).integers(0, 256, (280, 280), dtype=np.uint8)
    pixels = browser_digits.drawing_pixels({"alpha": base64.b64encode(alpha.tobytes()).decode()})
    assert pixels.shape == (280, 280, 4)
    assert np.array_equal(pixels[..., 3], alpha) and not pixels[..., :3].any()


@pytest.mark.parametrize("drawing", [
    {}, {"alpha": "not base64!"}, {"alpha": base64.b64encode(b"\0" * 100).decode()}, {"alpha": 12}, "alpha", None,
    {"alpha": "A" * 10_000_000},
])
def test_a_drawing_that_is_not_one_canvas_is_refused_with_a_message(drawing):
    with pytest.raises(ValueError, match="drawing"):
        browser_digits.drawing_pixels(drawing)
