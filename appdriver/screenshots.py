"""The README's pictures, taken from the running app: a screenshot of every page and a GIF of drawing a digit.

    python -m appdriver screenshots      # docs/screenshots/<page>.png and docs/screenshots/drawing.gif

It starts the app on 127.0.0.1 (and a second server in dark theme for one picture), opens every page in headless
Chromium at 1400×1000 with a sample input where the page waits for one, and saves each view as a palette PNG.
The GIF is Playwright screenshots of the Digits page taken while a stroke is drawn, joined with Pillow: a 1
first, then a bar across its top that turns it into a 7, the prediction updating after each stroke. The browser
tests (``tests/e2e/test_layout_browser.py``) open the pages with the same ``show`` functions.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from appdriver import browser, server
from showcase import paths

OUTPUT_DIR = paths.REPO_ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 90_000
# A 1, then a bar across its top that makes it a 7 (canvas pixels; the canvas is 280×280).
ONE = [(160, 50), (128, 240)]
SEVEN_BAR = [(70, 56), (162, 50)]
STROKES = {"1": [ONE], "7": [ONE, SEVEN_BAR]}
GIF_NAME = "drawing.gif"
GIF_WIDTH = 640
FRAME_MS = 70
HOLD_FRAMES = 12


def wait_for_prediction(page, digit: str) -> None:
    """Wait until the page's first metric (the Digits page's prediction) reads ``digit``."""
    page.wait_for_function(f"""() => document.querySelector('[data-testid="stMetricValue"]')?.innerText.trim()
        === '{digit}'""", timeout=TIMEOUT_MS)


def wait_for_text(page, text: str) -> None:
    page.get_by_text(text).first.wait_for()


def show_home(page) -> None:
    wait_for_text(page, "Formats compared")
    page.locator('[data-testid="stImage"] img').first.wait_for()


def show_digits(page) -> None:
    wait_for_text(page, "Draw a digit on the canvas")
    browser.draw(page, STROKES["7"], steps=20)
    wait_for_prediction(page, "7")


def show_flowers(page) -> None:
    wait_for_text(page, "Upload a flower photo or click a sample")
    page.get_by_test_id("stRadioGroup").get_by_text("Sample gallery", exact=True).click()
    page.get_by_role("button", name="sunflowers", exact=True).first.click()
    wait_for_text(page, "This prediction took")


def show_sentiment(page) -> None:
    page.get_by_role("button", name="Mixed", exact=True).click()
    wait_for_text(page, "Which words drove it")


def show_forecast(page) -> None:
    wait_for_text(page, "This prediction took")


def show_anomaly(page) -> None:
    wait_for_text(page, "Draw on the canvas, upload an image")
    page.get_by_test_id("stRadioGroup").get_by_text("Samples", exact=True).click()
    wait_for_text(page, "This prediction took")


def show_gan(page) -> None:
    wait_for_text(page, "Walk the latent space")
    page.locator('[data-testid="stImage"] img').first.wait_for()


def show_formats(page) -> None:
    wait_for_text(page, "Size against speed, every model and format")
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()


# Every page in the navigation's order, with what brings it to a result: the README shows them in this order.
PAGES: dict[str, Callable] = {
    "home": show_home, "digits": show_digits, "flowers": show_flowers, "sentiment": show_sentiment,
    "forecast": show_forecast, "anomaly": show_anomaly, "gan": show_gan, "formats": show_formats,
}


def open_page(page, url: str, name: str) -> None:
    """Go to one page, bring it to its result, wait until every chart and image has drawn, and scroll to the top."""
    page.goto(url if name == "home" else f"{url}/{name}")
    PAGES[name](page)
    browser.wait_until_drawn(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


def save_png(data: bytes, path: Path, width: int | None = None) -> Path:
    """A screenshot as a palette PNG (a third of the size of a full-colour one, text still sharp)."""
    from PIL import Image

    picture = Image.open(io.BytesIO(data)).convert("RGB")
    if width and picture.width > width:
        picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
    picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


@contextmanager
def running_app(options: Sequence[str] = ()) -> Iterator[str]:
    port = server.free_port()
    app = server.start_app(port, options=options)
    try:
        if not server.wait_for_health(port, time.perf_counter() + 90):
            raise RuntimeError("the app's server did not become healthy within 90 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop_app(app)


def drawing_frames(page, points_per_stroke: int = 12) -> list[bytes]:
    """Screenshots of the Digits page's canvas and result while a 1 and then a 7 are drawn: a few per stroke,
    then the result held for a moment once the prediction has updated."""
    canvas = page.locator(browser.CANVAS)
    canvas.wait_for()
    box = canvas.bounding_box()
    result = page.get_by_test_id("stColumn").nth(1).bounding_box()
    # From above the prediction (level with the canvas's toolbar) to below the 28×28 image the model saw.
    clip = {"x": box["x"] - 16, "y": box["y"] - 70, "width": result["x"] + result["width"] - box["x"] + 32,
            "height": box["height"] + 230}
    frames = [page.screenshot(clip=clip)] * 4
    for expected, ((x0, y0), (x1, y1)) in (("1", ONE), ("7", SEVEN_BAR)):
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for step in range(1, points_per_stroke + 1):
            share = step / points_per_stroke
            page.mouse.move(box["x"] + x0 + (x1 - x0) * share, box["y"] + y0 + (y1 - y0) * share, steps=3)
            frames.append(page.screenshot(clip=clip))
        page.mouse.up()
        wait_for_prediction(page, expected)
        browser.wait_until_drawn(page)
        frames += [page.screenshot(clip=clip)] * HOLD_FRAMES
    return frames


def save_gif(frames: list[bytes], path: Path, width: int = GIF_WIDTH) -> Path:
    from PIL import Image

    pictures = []
    for data in frames:
        picture = Image.open(io.BytesIO(data)).convert("RGB")
        picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
        pictures.append(picture.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=FRAME_MS, loop=0, optimize=True)
    return path


def take_screenshots(output: Path = OUTPUT_DIR, log: Callable[[str], None] = print) -> list[Path]:
    """Every page at 1400×1000, Home at 390×844, Sentiment in dark theme, and the drawing GIF, into ``output``."""
    from playwright.sync_api import sync_playwright

    output.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**browser.launch_options())
        with running_app() as url:
            page = chromium.new_page(viewport=DESKTOP)
            page.set_default_timeout(TIMEOUT_MS)
            for name in PAGES:
                open_page(page, url, name)
                saved.append(save_png(page.screenshot(), output / f"{name}.png"))
                log(f"{saved[-1]}")
            page.goto(f"{url}/digits")
            wait_for_text(page, "Draw a digit on the canvas")
            saved.append(save_gif(drawing_frames(page), output / GIF_NAME))
            log(f"{saved[-1]}")
            phone = chromium.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            phone.set_default_timeout(TIMEOUT_MS)
            open_page(phone, url, "home")
            saved.append(save_png(phone.screenshot(), output / "home-phone.png", width=PHONE["width"]))
            log(f"{saved[-1]}")
        with running_app(["--theme.base", "dark"]) as url:
            page = chromium.new_page(viewport=DESKTOP, color_scheme="dark")
            page.set_default_timeout(TIMEOUT_MS)
            open_page(page, url, "sentiment")
            saved.append(save_png(page.screenshot(), output / "sentiment-dark.png"))
            log(f"{saved[-1]}")
        chromium.close()
    return saved
