"""A live Streamlit server and a headless Debian Chromium driven by Playwright, for what AppTest cannot do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from showcase import bench, paths

SCREENSHOT_DIR = Path(os.environ.get("SHOWCASE_SCREENSHOT_DIR", paths.REPO_ROOT / ".cache" / "screenshots"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    """The file that the test server's stdout and stderr go to; tests/e2e/test_zz_server_log.py scans it last."""
    return tmp_path_factory.mktemp("streamlit_server") / "server.log"


@pytest.fixture(scope="session")
def app_url(server_log):
    port = bench.free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(paths.REPO_ROOT / "app" / "streamlit_app.py"),
        "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
    ]
    log = server_log.open("wb")
    server = subprocess.Popen(command, cwd=paths.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not bench.wait_for_health(port, time.perf_counter() + 60):
            pytest.fail("the Streamlit server did not become healthy within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    executable = bench.chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/test.sh should have installed it")
        pytest.skip("needs Debian chromium (/usr/bin/chromium); scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=bench.CHROMIUM_ARGS)
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
