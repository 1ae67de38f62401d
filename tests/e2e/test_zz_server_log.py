"""The test server's log holds no deprecation warning, traceback or error after the whole browser suite.

The module's name sorts last in tests/e2e, so pytest runs it after every other browser test has used the same
session server (tests/e2e/conftest.py writes the server's stdout and stderr to ``server_log``). It also opens
every page itself, so that it means something when run alone.
"""

import re

import pytest

PAGES = ["", "digits", "flowers", "sentiment", "forecast", "anomaly", "gan", "formats"]
# Streamlit logs its deprecations as "Please replace `st.x` with `st.y`. `st.x` will be removed after ...",
# Python's warnings module as "file:line: SomeWarning: ...", and uncaught exceptions with a traceback.
SUSPICIOUS = re.compile(r"(?i:deprecat)|Please replace|will be removed|Traceback|Error|Exception|Warning:")


def suspicious_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if SUSPICIOUS.search(line)]


@pytest.mark.parametrize("line, flagged", [
    ("2026-11-28 13:00:00.000 Please replace `st.use_container_width` with `st.width`.", True),
    ("/x/y.py:3: DeprecationWarning: old", True),
    ("Traceback (most recent call last):", True),
    ("ValueError: bad", True),
    ("  You can now view your Streamlit app in your browser.", False),
])
def test_the_scan_flags_what_it_should(line, flagged):
    assert bool(suspicious_lines(line)) == flagged


def test_the_server_log_is_clean_after_the_browser_suite(page, app_url, server_log):
    for path in PAGES:
        page.goto(f"{app_url}/{path}")
        page.locator('[data-testid="stHeading"]').first.wait_for()
        page.wait_for_load_state("networkidle")
        assert page.locator('[data-testid="stException"]').count() == 0, f"an exception box on /{path}"
    log = server_log.read_text(errors="replace")
    assert "You can now view your Streamlit app" in log, "the server log was not captured"
    assert suspicious_lines(log) == [], "the server logged:\n" + log[-4000:]
