"""The Formats page's live run in a real browser: many clicks from two visitors start one benchmark, both see
its result, and stopping the server mid-run leaves no measurement process behind.

This test starts a server of its own, since it stops it. With ``-s`` it prints what it saw: the most
measurement processes at once, their largest total resident memory, and the run's SavedModel comparison.
"""

from __future__ import annotations

import signal
import subprocess
import time

import psutil
import pytest

pytestmark = pytest.mark.slow

RESULT_CAPTION = "budget. Measured"
IN_PROGRESS = "A run is in progress (started"


def measurement_processes(server: subprocess.Popen) -> dict[int, float]:
    """The server's benchmark processes that measure a format, still running: pid -> resident memory (MB)."""
    try:
        children = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    resident = {}
    for child in children:
        try:
            if "--measure-one" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                resident[child.pid] = child.memory_info().rss / 1e6
        except psutil.NoSuchProcess:
            continue
    return resident


@pytest.fixture
def open_formats(browser):
    contexts = []

    def open_page(url: str):
        contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
        page = contexts[-1].new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{url}/formats")
        page.get_by_role("button", name="Run on this machine").wait_for()
        return page

    yield open_page
    for context in contexts:
        context.close()


def click_run(page, times: int) -> None:
    """Click "Run on this machine" ``times`` times, each once the page shows a run in progress."""
    for _ in range(times):
        page.get_by_role("button", name="Run on this machine").click()
        page.get_by_text(IN_PROGRESS).first.wait_for()


def test_clicks_from_two_visitors_run_one_benchmark_and_stopping_the_server_ends_it(open_formats, own_server):
    server, url = own_server
    first, second = open_formats(url), open_formats(url)

    click_run(first, 3)
    click_run(second, 2)
    second.get_by_text(IN_PROGRESS).first.wait_for()
    most_at_once, most_resident = 0, 0.0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (first.get_by_text(RESULT_CAPTION).count()
                                               and second.get_by_text(RESULT_CAPTION).count()):
        resident = measurement_processes(server)
        most_at_once, most_resident = max(most_at_once, len(resident)), max(most_resident, sum(resident.values()))
        time.sleep(0.1)
    assert first.get_by_text(RESULT_CAPTION).count() == 1 and second.get_by_text(RESULT_CAPTION).count() == 1
    assert most_at_once == 1, f"{most_at_once} measurement processes ran at once"
    assert first.get_by_text("A run is in progress").count() == 0
    comparison = first.get_by_text("faster than SavedModel at batch 1").last.inner_text()
    print(f"\n5 clicks: at most {most_at_once} measurement process at once, "
          f"{most_resident:.0f} MB resident at most; the run: {comparison}")

    click_run(first, 1)
    deadline = time.monotonic() + 60
    while not measurement_processes(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = list(measurement_processes(server))
    assert pids, "the second run started no measurement process"
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    survivors = [pid for pid in pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], f"measurement processes {survivors} outlived the server"
