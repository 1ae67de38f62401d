"""A live Streamlit server and a headless Debian Chromium driven by Playwright (``appdriver``), for what AppTest
cannot do."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from appdriver import browser as chromium
from appdriver import server as app_server
from showcase import paths

SCREENSHOT_DIR = Path(os.environ.get("SHOWCASE_SCREENSHOT_DIR", paths.REPO_ROOT / ".cache" / "screenshots"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    """The file that the test server's stdout and stderr go to; tests/e2e/test_zz_server_log.py scans it last."""
    return tmp_path_factory.mktemp("streamlit_server") / "server.log"


@contextmanager
def running_app(log_path: Path, options: tuple[str, ...] = ()) -> Iterator[tuple[subprocess.Popen, str]]:
    """A server of the app (``options`` added to its command), healthy, and its address; its output goes to
    ``log_path``. Stopped at the end."""
    port = app_server.free_port()
    with log_path.open("wb") as log:
        server = app_server.start_app(port, log, options=options)
        try:
            if not app_server.wait_for_health(port, time.perf_counter() + 60):
                pytest.fail("the Streamlit server did not become healthy within 60 s")
            yield server, f"http://127.0.0.1:{port}"
        finally:
            app_server.stop_app(server)


@pytest.fixture(scope="session")
def app_url(server_log):
    """The address of the server that every browser test shares."""
    with running_app(server_log) as (_, url):
        yield url


@pytest.fixture
def own_server(tmp_path):
    """A freshly started server for one test, which may stop it: (its process, its address)."""
    with running_app(tmp_path / "server.log") as (server, url):
        yield server, url


@pytest.fixture(scope="session")
def browser():
    if chromium.chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/test.sh should have installed it")
        pytest.skip("needs Debian chromium (/usr/bin/chromium); scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium.launch_options())
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def save_screenshot():
    """Save a screenshot under $SHOWCASE_SCREENSHOT_DIR (default .cache/screenshots), e.g. for the README."""

    def save(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / name
        page.screenshot(path=str(path), full_page=False)
        return path

    return save
