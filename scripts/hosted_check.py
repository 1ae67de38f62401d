"""Serve the app with a given Python (say, a venv holding only app/requirements.txt), make a prediction on every
model page in headless Chromium, and print the server's resident memory after each page as JSON.

    python3.11 -m venv /tmp/lightvenv && /tmp/lightvenv/bin/pip install -r app/requirements.txt
    .venv/bin/python scripts/hosted_check.py --server-python /tmp/lightvenv/bin/python

The browser side needs Playwright and Debian's chromium (requirements-dev.txt) and the installed ``showcase``
and ``appdriver`` packages (``scripts/install.sh``); the server needs only what ``--server-python`` has
installed. The README's "Deploy" figures come from this script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import psutil
from playwright.sync_api import sync_playwright

from appdriver import browser, server, tour
from showcase import tasks


def predict_on(page, name: str, timeout_ms: float) -> str:
    """Open a page, give it a sample input where it waits for one, and return the text that proves a result."""
    if name == "digits":
        page.get_by_text("MNIST test samples", exact=True).first.click()
    elif name == "flowers":
        page.get_by_text("Sample gallery", exact=True).first.click()
        page.get_by_role("button", name="daisy", exact=True).first.click()
    elif name == "sentiment":
        page.get_by_role("button", name="Rave", exact=True).first.click()
    elif name == "anomaly":
        page.get_by_text("Samples", exact=True).first.click()
    proof = {"gan": "digits took", "formats": tour.PAGE_END_MARKERS["formats"]}.get(name, tour.RESULT_MARKER)
    page.get_by_text(proof).first.wait_for(timeout=timeout_ms)
    return proof


def page_report(page, name: str, timeout_ms: float) -> dict:
    problems = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
    return {
        "result_shown": bool(predict_on(page, name, timeout_ms)),
        "errors_on_page": problems.count(),
        "savedmodel_left_out_note": page.get_by_text("Not offered here").count() > 0,
    }


def check(server_python: str, timeout: float) -> dict:
    port = server.free_port()
    app = server.start_app(port, python=server_python, options=["--server.address", "127.0.0.1"])
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(**browser.launch_options())
    try:
        if not server.wait_for_health(port, time.perf_counter() + timeout):
            raise SystemExit(f"no healthy server within {timeout:.0f} s")
        process = psutil.Process(app.pid)
        report = {"server_python": server_python, "resident_mb_idle": round(process.memory_info().rss / 1e6, 1),
                  "pages": {}}
        page = chromium.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=timeout * 1000)
        page.get_by_text(tour.HOME_TITLE).first.wait_for(timeout=timeout * 1000)
        for name in [*tasks.names(), "formats"]:
            page.goto(f"http://127.0.0.1:{port}/{name}", timeout=timeout * 1000)
            report["pages"][name] = page_report(page, name, timeout * 1000)
            page.wait_for_timeout(tour.SETTLE_MS)
            report["pages"][name]["resident_mb"] = round(process.memory_info().rss / 1e6, 1)
        report["resident_mb_max"] = max(figures["resident_mb"] for figures in report["pages"].values())
        report["tensorflow_in_server"] = any("tensorflow" in item.path for item in process.memory_maps())
        return report
    finally:
        chromium.close()
        playwright.stop()
        server.stop_app(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-python", default=sys.executable, help="the Python that serves the app")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the server and each page")
    print(json.dumps(check(**vars(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
