"""Four real browser sessions use the app at the same time, each on its own page, and every one gets its own result.

The CI-sized version of ``python -m showcase.bench --load``: it checks correctness under concurrency (no
timeouts, no exception boxes, each session sees the prediction for its own input), never speed.
"""

import pytest

from appdriver import loadtest
from appdriver.browser import chromium_path

pytestmark = pytest.mark.slow


def test_four_concurrent_sessions_each_get_their_own_result(app_url):
    if chromium_path() is None:
        pytest.skip("needs Debian chromium (/usr/bin/chromium); scripts/test.sh installs it")
    summary = loadtest.run_sessions(app_url, sessions=4, interactions_per_session=1)
    assert summary["errors"] == []
    assert summary["completed"] == 4
    assert {kind for kind, times in summary["by_interaction"].items() if times["n"]} == set(loadtest.INTERACTIONS)
