"""Debian's Chromium for Playwright, and mouse strokes on the app's drawing canvas.

Playwright's own browser downloads are not used: ``chromium_path`` finds the system's Chromium, and
``launch_options`` are the keyword arguments for ``playwright.chromium.launch``, sync or async alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
# The layer of streamlit-drawable-canvas (fabric.js) that takes the mouse; the canvas is 280×280 pixels.
CANVAS = "canvas.upper-canvas"
# A stroke is a list of points in canvas pixels: the mouse goes down on the first and moves through the rest.
Stroke = Sequence[tuple[float, float]]
# True once the page has drawn its last run: no element is left over from an earlier run (Streamlit marks those
# data-stale while it reruns), every Altair chart in view has painted its marks (a chart in a closed expander or
# a hidden tab takes no room) and every image has loaded.
DRAWN = """() => {
    if (document.querySelector('[data-stale="true"]')) return false;
    const shown = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .filter(chart => chart.getBoundingClientRect().width > 0);
    const painted = shown.every(chart => {
        const marks = chart.querySelector(".marks");
        return marks !== null && marks.getBoundingClientRect().width > 0;
    });
    return painted && [...document.images].every(image => image.complete && image.naturalWidth > 0);
}"""


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def launch_options() -> dict[str, Any]:
    """``playwright.chromium.launch(**launch_options())``: headless Debian Chromium (FileNotFoundError without)."""
    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError("Chromium was not found: install Debian's chromium (/usr/bin/chromium) or set "
                         "$CHROMIUM_PATH to a Chromium executable.")
    return {"executable_path": executable, "headless": True, "args": CHROMIUM_ARGS}


def mouse_actions(box: dict[str, float], strokes: Sequence[Stroke], steps: int) -> Iterator[tuple[str, tuple, dict]]:
    """The ``page.mouse`` calls, as (method, arguments, keyword arguments), that draw ``strokes`` on a canvas
    whose bounding box is ``box``; each move between two points takes ``steps`` mouse events."""
    for stroke in strokes:
        (start_x, start_y), rest = stroke[0], stroke[1:]
        yield "move", (box["x"] + start_x, box["y"] + start_y), {}
        yield "down", (), {}
        for x, y in rest:
            yield "move", (box["x"] + x, box["y"] + y), {"steps": steps}
        yield "up", (), {}


def draw(page, strokes: Sequence[Stroke], steps: int = 15) -> None:
    """Draw on the page's canvas with sync Playwright, once the canvas is there."""
    canvas = page.locator(CANVAS)
    canvas.wait_for()
    for method, arguments, options in mouse_actions(canvas.bounding_box(), strokes, steps):
        getattr(page.mouse, method)(*arguments, **options)


async def draw_async(page, strokes: Sequence[Stroke], steps: int = 15, timeout_ms: float | None = None) -> None:
    """``draw`` with async Playwright (the load test's)."""
    canvas = page.locator(CANVAS)
    await canvas.wait_for(timeout=timeout_ms)
    for method, arguments, options in mouse_actions(await canvas.bounding_box(), strokes, steps):
        await getattr(page.mouse, method)(*arguments, **options)


def wait_until_drawn(page, timeout_ms: float | None = None) -> None:
    """Wait until the page's charts and images have finished drawing (``DRAWN``), say before a screenshot."""
    page.wait_for_function(DRAWN, timeout=timeout_ms)
