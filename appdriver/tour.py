"""The app's cold start, and a tour of every page with a sample input where a page waits for one.

    python -m appdriver cold-start        # the figures as JSON; `python -m showcase.bench --app-only` stores them
"""

from __future__ import annotations

import time
from typing import Any

from appdriver import browser, server
from showcase import paths

HOME_TITLE = "TensorFlow model showcase"
# Text that appears once a page has rendered to its end: every model page closes with "How this model works".
PAGE_END_MARKERS = {"formats": "Run on this machine"}
MODEL_PAGE_END = "How this model works"
RESULT_MARKER = "This prediction took"
# Pages that wait for an input before loading their model: (input choice, sample button or None) to click.
SAMPLE_INPUTS = {"digits": ("MNIST test samples", None), "anomaly": ("Samples", None),
                 "flowers": ("Sample gallery", "daisy")}
# How long the server is left to settle after a page's result appears, before its memory is read.
SETTLE_MS = 500


def visit_every_page(page, port: int, server_pid: int, timeout: float) -> dict[str, float]:
    """Open each page of the app in turn, with a sample input where the page waits for one (so that every
    model is loaded); the server's resident memory (MB) after each page, in visiting order."""
    import psutil

    server_process = psutil.Process(server_pid)
    resident = {}
    milliseconds = timeout * 1000
    for page_file in sorted((paths.REPO_ROOT / "app" / "pages").glob("*.py")):
        name = page_file.stem
        if name == "home":
            continue
        page.goto(f"http://127.0.0.1:{port}/{name}", timeout=milliseconds)
        page.get_by_text(PAGE_END_MARKERS.get(name, MODEL_PAGE_END)).first.wait_for(timeout=milliseconds)
        if name in SAMPLE_INPUTS:
            choice, button = SAMPLE_INPUTS[name]
            page.get_by_text(choice, exact=True).first.click()
            if button:
                page.get_by_role("button", name=button, exact=True).first.click()
            page.get_by_text(RESULT_MARKER).first.wait_for(timeout=milliseconds)
        page.wait_for_timeout(SETTLE_MS)
        resident[name] = round(server_process.memory_info().rss / 1e6, 1)
    return resident


def app_cold_start(timeout: float = 60.0) -> dict[str, Any]:
    """Seconds from `streamlit run` to a healthy server and to the Home page rendered in headless Chromium,
    then the server's resident memory after visiting every page."""
    port = server.free_port()
    # The browser starts first so that its own start-up is not counted.
    browser_session = _start_browser()
    start = time.perf_counter()
    app = server.start_app(port)
    try:
        if not server.wait_for_health(port, start + timeout):
            return {"error": f"no healthy server within {timeout:.0f} s"}
        result = {"health_seconds": round(time.perf_counter() - start, 3)}
        if browser_session is None:
            result["home_rendered_seconds"] = None
            result["note"] = "Chromium or Playwright is not installed: only the health check was timed."
            return result
        page = browser_session[2]
        page.goto(f"http://127.0.0.1:{port}/", timeout=timeout * 1000)
        page.get_by_text(HOME_TITLE).first.wait_for(timeout=timeout * 1000)
        result["home_rendered_seconds"] = round(time.perf_counter() - start, 3)
        resident = visit_every_page(page, port, app.pid, timeout)
        result["resident_mb_after_visiting"] = resident
        result["resident_mb_max"] = max(resident.values())
        return result
    finally:
        server.stop_app(app)
        if browser_session is not None:
            browser_session[1].close()
            browser_session[0].stop()


def _start_browser():
    """(playwright, browser, page) driving Debian's Chromium, or None when either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if browser.chromium_path() is None:
        return None
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(**browser.launch_options())
    return playwright, chromium, chromium.new_page()
