"""Load test with real browsers, and the memory that large uploads cost the server.

    python -m showcase.bench --load                       # both -> models/benchmarks.json "load", "upload_memory"
    python -m showcase.bench --load --sessions 1 4 --skip-uploads --output /tmp/load.json
    python -m showcase.bench --uploads                    # the upload-memory measurement alone
    python -m appdriver capacity --load --uploads         # what those run: the figures as JSON on stdout

HTTP tools cannot speak Streamlit's WebSocket protocol, so every visitor here is a real headless Chromium
page (one browser process, one context per visitor, all driven at once by async Playwright) against one
``streamlit run`` of the app on 127.0.0.1.

Load: for K = 1, 4, 8, 16 concurrent sessions, each session picks a Flowers sample, scores a Sentiment
review and draws a digit on the Digits canvas (starting at a different one of the three, so the pages are
mixed). Click-to-result is the time from the click (or the last mouse stroke) to the result's latency
caption appearing. A session's interaction is an error when its result does not appear within
``RESULT_TIMEOUT_S``, when the page shows a Streamlit exception box, or when the result is not the one
its input should give (which would also reveal one visitor seeing another's result). Tracebacks in the
server's stderr during a round count as errors too. The server's CPU and resident memory (with any
children) are sampled during each round. After the largest round the browsers disconnect, and the
server's memory is measured again once ``server.disconnectedSessionTTL`` has passed.

Upload memory: on a fresh server, one 40-megapixel PNG that compresses to about 140 KB (white, one black
stroke) is uploaded on each page that takes images, then three at once on Digits; the server's peak
resident memory above what it held just before, and its memory 60 s after those sessions closed.

The browsers run on the same machine as the server, so on a small machine they compete with it for the
cores, as remote visitors' browsers would not; their CPU use is recorded beside the server's.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
import threading
import time
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from appdriver import browser as chromium
from appdriver import server as app_server
from appdriver.tour import RESULT_MARKER
from showcase import bench, paths
from showcase import manifest as manifest_lib

SESSION_COUNTS = (1, 4, 8, 16)
INTERACTIONS = ("flowers", "sentiment", "digits")
RESULT_TIMEOUT_S = 60.0
# Rounds not started within this many seconds of the warm-up's end are skipped, and a round still running
# then is cut short; the waits after disconnecting and after uploading come on top.
ROUNDS_TIME_LIMIT_S = 360.0
SAMPLE_INTERVAL_S = 0.1
# Streamlit's own default, used when .streamlit/config.toml does not set server.disconnectedSessionTTL.
STREAMLIT_DEFAULT_TTL_S = 120.0
DISCONNECT_MARGIN_S = 15.0
UPLOAD_PAGES = ("digits", "flowers", "anomaly")
CONCURRENT_UPLOADS = 3
AFTER_UPLOAD_WAIT_S = 60.0
BIG_IMAGE_SIDE = 6324  # 6324² = 39.99 million pixels, just under the app's 40 MP limit.
EXCEPTION_BOX = '[data-testid="stException"]'
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")
# The line that names the exception: "ValueError: bad pixels", "KeyboardInterrupt".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning|Iteration)\b")
VIEWPORT = {"width": 1280, "height": 900}
# The load test's server listens on 127.0.0.1 only, and sends no usage statistics.
SERVER_OPTIONS = ("--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false")

# Mouse strokes in canvas pixels (``appdriver.browser.draw``), as in tests/e2e/test_digits_browser.py.
DIGIT_STROKES = {
    "7": [[(75, 55), (205, 55), (125, 240)]],
    "1": [[(140, 45), (140, 235)]],
}
# Sample buttons whose photo the model names with confidence, and the label it gives.
FLOWER_SAMPLES = ("daisy", "sunflowers")
# Example buttons on the Sentiment page and the verdict each one gets.
SENTIMENT_EXAMPLES = {"Rave": "Positive", "Pan": "Negative"}
# How to switch each page that takes images to its uploader (None: the uploader is the default input).
UPLOAD_CHOICES = {"digits": "Upload a photo", "flowers": None, "anomaly": "Upload an image"}


# ---------------------------------------------------------------------------------------------------------------
# The server and its memory


class LiveServer:
    """One ``streamlit run`` of the app on 127.0.0.1; its stderr goes to a file that is searched for tracebacks."""

    def __init__(self, log_dir: Path, timeout: float = 60.0):
        self.port = app_server.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"streamlit-{self.port}.log"
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LiveServer:
        with open(self.log_path, "wb") as log:
            self.process = app_server.start_app(self.port, log, options=SERVER_OPTIONS)
        if not app_server.wait_for_health(self.port, time.perf_counter() + self.timeout):
            self.stop()
            raise LoadTestUnavailable(f"the Streamlit server did not become healthy within {self.timeout:.0f} s")
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            app_server.stop_app(self.process)

    def resident_mb(self) -> float:
        if self.process.poll() is not None:
            raise ServerExited(f"the Streamlit server exited with status {self.process.returncode}; the last lines "
                               f"of its log: {self.log_tail()}")
        return resident_mb_with_children(self.process.pid)

    def log_tail(self, lines: int = 3) -> str:
        text = ANSI_CODES.sub("", self.log_path.read_text(errors="replace"))
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def tracebacks_since(self, offset: int) -> list[str]:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return tracebacks_in(log.read().decode("utf-8", "replace"))


def resident_mb_with_children(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (0 for any that exited meanwhile)."""
    import psutil

    total = 0
    try:
        process = psutil.Process(pid)
        members = [process] + process.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def tracebacks_in(text: str) -> list[str]:
    """Each Python traceback in a log, shortened to its exception line. Streamlit prints uncaught exceptions
    with rich (colours, a box around the frames), so colour codes are removed and the header may be indented."""
    found = []
    lines = [ANSI_CODES.sub("", line) for line in text.splitlines()]
    for index, line in enumerate(lines):
        if "Traceback (most recent call last)" in line:
            last = next((later for later in lines[index + 1:] if EXCEPTION_LINE.match(later)), "")
            found.append(f"server traceback: {last.strip() or 'no exception line'}")
    return found


class Sampler:
    """Samples the server's resident memory every ``SAMPLE_INTERVAL_S`` in a thread and keeps the peak, and
    measures average CPU use while it runs, in percent of one core: the server's, the browsers' (this
    process's other descendants: Chromium and the Playwright driver) and the whole machine's."""

    def __init__(self, server_pid: int):
        import psutil

        self._process = psutil.Process(server_pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_mb = 0.0
        self._browser_seconds_first: dict[int, float] = {}
        self._browser_seconds_last: dict[int, float] = {}

    def __enter__(self) -> Sampler:
        import psutil

        self.peak_mb = resident_mb_with_children(self._process.pid)
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self._browser_seconds_first = self._browser_cpu_seconds()
        self._browser_seconds_last = dict(self._browser_seconds_first)
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        import psutil

        self._stop.set()
        self._thread.join()
        self._sample()
        cores = psutil.cpu_count() or 1
        wall = max(time.perf_counter() - self._start, 1e-6)
        try:
            self.server_cpu_percent = round(self._process.cpu_percent(None), 1)
        except psutil.Error:  # The server exited; the caller reports that.
            self.server_cpu_percent = 0.0
        self.machine_cpu_percent = round(psutil.cpu_percent(None), 1)
        browser_seconds = sum(seconds - self._browser_seconds_first.get(pid, 0.0)
                              for pid, seconds in self._browser_seconds_last.items())
        self.browsers_cpu_percent = round(100 * browser_seconds / wall, 1)
        # Whatever else kept the machine busy (other programs on a shared machine), by difference.
        self.other_cpu_percent = round(max(0.0, self.machine_cpu_percent * cores - self.server_cpu_percent
                                           - self.browsers_cpu_percent), 1)

    def cpu_figures(self) -> dict[str, float]:
        return {"server_cpu_percent": self.server_cpu_percent, "browsers_cpu_percent": self.browsers_cpu_percent,
                "other_cpu_percent": self.other_cpu_percent, "machine_cpu_percent": self.machine_cpu_percent}

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sample()

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, resident_mb_with_children(self._process.pid))
        # A renderer that exits between two samples loses at most its last interval's CPU time.
        self._browser_seconds_last.update(self._browser_cpu_seconds())

    def _browser_cpu_seconds(self) -> dict[int, float]:
        """CPU seconds so far of each process this one started, except the server and its children."""
        import psutil

        server = {self._process.pid} | {child.pid for child in _children_or_none(self._process)}
        seconds = {}
        for child in _children_or_none(psutil.Process()):
            if child.pid in server:
                continue
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            seconds[child.pid] = times.user + times.system
        return seconds


def _children_or_none(process) -> list:
    import psutil

    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def disconnected_session_ttl(config_path: Path | None = None) -> float:
    """``server.disconnectedSessionTTL`` from the app's .streamlit/config.toml, or Streamlit's default."""
    path = config_path or paths.REPO_ROOT / ".streamlit" / "config.toml"
    if not path.exists():
        return STREAMLIT_DEFAULT_TTL_S
    with open(path, "rb") as file:
        config = tomllib.load(file)
    return float(config.get("server", {}).get("disconnectedSessionTTL", STREAMLIT_DEFAULT_TTL_S))


# ---------------------------------------------------------------------------------------------------------------
# One visitor's interactions


@dataclass
class Outcome:
    """One interaction: its click-to-result time, or why it failed."""

    kind: str
    session: int
    seconds: float | None = None
    error: str | None = None


class WrongResult(Exception):
    pass


async def wait_for_result(page, timeout_ms: float) -> str:
    """Wait for the result's latency caption; the first metric's value (the prediction) shown with it."""
    await page.get_by_text(RESULT_MARKER).first.wait_for(timeout=timeout_ms)
    return (await page.locator('[data-testid="stMetricValue"]').first.inner_text()).strip()


async def pick_flower_sample(page, base_url: str, variant: int, timeout_ms: float) -> tuple[float, str, str]:
    label = FLOWER_SAMPLES[variant % len(FLOWER_SAMPLES)]
    await page.goto(f"{base_url}/flowers", timeout=timeout_ms)
    await page.get_by_test_id("stRadioGroup").get_by_text("Sample gallery", exact=True).click(timeout=timeout_ms)
    button = page.get_by_role("button", name=label, exact=True).first
    await button.wait_for(timeout=timeout_ms)
    start = time.perf_counter()
    await button.click(timeout=timeout_ms)
    shown = await wait_for_result(page, timeout_ms)
    return time.perf_counter() - start, shown, label


async def score_review(page, base_url: str, variant: int, timeout_ms: float) -> tuple[float, str, str]:
    example = list(SENTIMENT_EXAMPLES)[variant % len(SENTIMENT_EXAMPLES)]
    await page.goto(f"{base_url}/sentiment", timeout=timeout_ms)
    button = page.get_by_role("button", name=example, exact=True).first
    await button.wait_for(timeout=timeout_ms)
    await page.get_by_text("Type a review or pick an example").wait_for(timeout=timeout_ms)
    start = time.perf_counter()
    await button.click(timeout=timeout_ms)
    shown = await wait_for_result(page, timeout_ms)
    return time.perf_counter() - start, shown, SENTIMENT_EXAMPLES[example]


async def draw_digit(page, base_url: str, variant: int, timeout_ms: float) -> tuple[float, str, str]:
    digit = list(DIGIT_STROKES)[variant % len(DIGIT_STROKES)]
    await page.goto(f"{base_url}/digits", timeout=timeout_ms)
    await page.locator(chromium.CANVAS).wait_for(timeout=timeout_ms)
    # The prompt in the result column means the page's first run has finished: the canvas is live.
    await page.get_by_text("Draw a digit on the canvas").wait_for(timeout=timeout_ms)
    await chromium.draw_async(page, DIGIT_STROKES[digit], steps=15, timeout_ms=timeout_ms)
    start = time.perf_counter()
    shown = await wait_for_result(page, timeout_ms)
    return time.perf_counter() - start, shown, digit


INTERACTION_STEPS: dict[str, Callable[..., Awaitable[tuple[float, str, str]]]] = {
    "flowers": pick_flower_sample, "sentiment": score_review, "digits": draw_digit,
}


async def interact(page, base_url: str, kind: str, session: int, timeout: float) -> Outcome:
    """One interaction of one session, timed; any failure becomes the outcome's error, never an exception."""
    outcome = Outcome(kind, session)
    try:
        seconds, shown, expected = await INTERACTION_STEPS[kind](page, base_url, session, timeout * 1000)
        if await page.locator(EXCEPTION_BOX).count():
            raise WrongResult("the page shows a Streamlit exception box")
        if shown != expected:
            raise WrongResult(f"showed {shown!r} where {expected!r} was expected")
        outcome.seconds = seconds
    except Exception as error:  # Playwright's timeouts and anything else: recorded, the round goes on.
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        outcome.error = f"{kind}, session {session}: {type(error).__name__}: {message}"
        if not isinstance(error, WrongResult) and await shows_exception_box(page):
            outcome.error += " (the page shows a Streamlit exception box)"
    return outcome


async def shows_exception_box(page) -> bool:
    try:
        return bool(await page.locator(EXCEPTION_BOX).count())
    except Exception:  # The page may be gone (closed at the time limit): nothing to see.
        return False


def session_plan(session: int, interactions_per_session: int) -> list[str]:
    """The interactions of one session: the three kinds in turn, starting at a different one per session."""
    return [INTERACTIONS[(session + step) % len(INTERACTIONS)] for step in range(interactions_per_session)]


@dataclass
class RoundResult:
    sessions: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    cut_short: bool = False


async def run_round(browser, base_url: str, sessions: int, interactions_per_session: int,
                    timeout: float = RESULT_TIMEOUT_S, time_limit: float | None = None) -> RoundResult:
    """K browser contexts interact at the same time; every context stays open until all have finished, then
    all close (their WebSockets disconnect)."""
    result = RoundResult(sessions)
    contexts = [await browser.new_context(viewport=VIEWPORT) for _ in range(sessions)]
    start = time.perf_counter()

    async def visitor(index: int) -> None:
        page = await contexts[index].new_page()
        for kind in session_plan(index, interactions_per_session):
            result.outcomes.append(await interact(page, base_url, kind, index, timeout))

    try:
        await asyncio.wait_for(asyncio.gather(*(visitor(index) for index in range(sessions))), time_limit)
    except asyncio.TimeoutError:
        result.cut_short = True
    finally:
        for context in contexts:
            await context.close()
    result.seconds = time.perf_counter() - start
    return result


def summarise(result: RoundResult) -> dict[str, Any]:
    """A round's click-to-result percentiles (seconds), overall and per interaction, and its errors."""
    times = [outcome.seconds for outcome in result.outcomes if outcome.seconds is not None]
    errors = [outcome.error for outcome in result.outcomes if outcome.error]
    if result.cut_short:
        errors.append(f"the round was cut short by the time limit after {result.seconds:.0f} s")
    summary = {
        "sessions": result.sessions,
        "interactions": len(result.outcomes),
        "completed": len(times),
        "click_to_result_seconds": percentiles(times),
        "by_interaction": {kind: percentiles([o.seconds for o in result.outcomes
                                              if o.kind == kind and o.seconds is not None])
                           for kind in INTERACTIONS},
        "errors": errors,
        "round_seconds": round(result.seconds, 2),
    }
    return summary


def percentiles(times: Sequence[float]) -> dict[str, float | int | None]:
    if not times:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(times), "p50": round(float(np.percentile(times, 50)), 3),
            "p95": round(float(np.percentile(times, 95)), 3), "max": round(float(max(times)), 3)}


# ---------------------------------------------------------------------------------------------------------------
# The load measurement


class LoadTestUnavailable(RuntimeError):
    """Something the load test needs is missing; the message says what."""


class ServerExited(RuntimeError):
    """The server under test stopped during the measurement; the message has its exit status and last log lines."""


def start_playwright():
    """Async Playwright, started with ``async with``."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise LoadTestUnavailable("the load test needs Playwright (in requirements-dev.txt)") from None
    return async_playwright()


async def launch_browser(playwright):
    if chromium.chromium_path() is None:
        raise LoadTestUnavailable("the load test needs Debian chromium (/usr/bin/chromium or $CHROMIUM_PATH)")
    return await playwright.chromium.launch(**chromium.launch_options())


async def measured_round(browser, server: LiveServer, sessions: int, interactions_per_session: int,
                         time_limit: float | None) -> dict[str, Any]:
    """One round with the server's memory and CPU sampled and its log searched for tracebacks."""
    log_offset = server.log_size()
    before = server.resident_mb()
    with Sampler(server.process.pid) as sampler:
        result = await run_round(browser, server.url, sessions, interactions_per_session, time_limit=time_limit)
    await asyncio.sleep(1.0)  # Let the server finish the runs that the closed sessions started.
    summary = summarise(result)
    summary["errors"] += server.tracebacks_since(log_offset)
    summary["error_count"] = len(summary["errors"])
    summary["errors"] = summary["errors"][:20]
    summary.update(sampler.cpu_figures())
    after = server.resident_mb()
    summary["resident_mb"] = {"before": round(before, 1), "peak": round(sampler.peak_mb, 1),
                              "after": round(after, 1), "growth": round(sampler.peak_mb - before, 1)}
    return summary


async def wait_after_disconnect(server: LiveServer, seconds: float, started_mb: float, sessions: int,
                                ttl: float) -> dict[str, Any]:
    """The server's memory every 30 s while disconnected sessions expire, and at the end against the start."""
    samples = []
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        samples.append([round(elapsed), round(server.resident_mb(), 1)])
        await asyncio.sleep(min(30.0, seconds - elapsed))
    final = server.resident_mb()
    return {"sessions": sessions, "disconnected_session_ttl_seconds": ttl,
            "waited_seconds": round(time.perf_counter() - start, 1),
            "resident_mb_before_sessions": round(started_mb, 1), "resident_mb_after_wait": round(final, 1),
            "difference_mb": round(final - started_mb, 1), "samples": samples}


async def run_rounds(server: LiveServer, session_counts: Sequence[int], interactions_per_session: int,
                     rounds_time_limit: float, log: Callable[[str], None]) -> dict[str, Any]:
    """A warm-up session, then one round per session count, in one browser; rounds not started within
    ``rounds_time_limit`` are skipped."""
    figures: dict[str, Any] = {"rounds": {}}
    async with start_playwright() as playwright:
        browser = await launch_browser(playwright)
        # One visitor first loads every model the rounds use, so that no round pays for loading them.
        log("warm-up: one session loads the models")
        warm_up = await measured_round(browser, server, 1, len(INTERACTIONS), rounds_time_limit)
        figures["warm_up"] = {"errors": warm_up["errors"], "resident_mb": warm_up["resident_mb"]}
        deadline = time.perf_counter() + rounds_time_limit
        for sessions in session_counts:
            left = deadline - time.perf_counter()
            if left <= 0:
                figures["rounds"][str(sessions)] = {"skipped": f"the {rounds_time_limit:.0f} s limit ran out"}
                continue
            log(f"{sessions} concurrent sessions")
            figures["rounds"][str(sessions)] = await measured_round(browser, server, sessions,
                                                                    interactions_per_session, left)
            log(f"  {round_line(figures['rounds'][str(sessions)])}")
        await browser.close()
    return figures


async def measure_load_async(session_counts: Sequence[int], interactions_per_session: int,
                             rounds_time_limit: float, log: Callable[[str], None],
                             while_waiting: Callable[[], None] | None = None) -> dict[str, Any]:
    """The rounds, then the server's memory once the last round's sessions have expired; ``while_waiting`` is
    called when that wait starts (the server is idle then, so another server can be measured meanwhile)."""
    start = time.perf_counter()
    ttl = disconnected_session_ttl()
    figures: dict[str, Any] = {"created": manifest_lib.utc_now(), "machine": bench.machine(), "settings": {
        "interactions_per_session": interactions_per_session, "interactions": list(INTERACTIONS),
        "result_timeout_seconds": RESULT_TIMEOUT_S, "rounds_time_limit_seconds": rounds_time_limit,
        "browser": "Debian chromium, headless, one context per session, on the same machine as the server"}}
    with tempfile.TemporaryDirectory() as log_dir, LiveServer(Path(log_dir)) as server:
        try:
            figures |= await run_rounds(server, session_counts, interactions_per_session, rounds_time_limit, log)
            if while_waiting:
                while_waiting()
            measured = [figures["rounds"][str(k)] for k in session_counts if "skipped" not in figures["rounds"][str(k)]]
            if measured:
                last, wait = measured[-1], ttl + DISCONNECT_MARGIN_S
                log(f"waiting {wait:.0f} s for the {last['sessions']} disconnected sessions to expire "
                    f"(TTL {ttl:.0f} s)")
                figures["after_disconnect"] = await wait_after_disconnect(
                    server, wait, last["resident_mb"]["before"], last["sessions"], ttl)
                log(f"  after disconnecting: {figures['after_disconnect']['difference_mb']:+.1f} MB against "
                    "before the sessions")
        except ServerExited as error:
            figures["error"] = str(error)
            log(f"stopped: {error}")
    figures["duration_seconds"] = round(time.perf_counter() - start, 1)
    return figures


def round_line(summary: dict[str, Any]) -> str:
    times = summary["click_to_result_seconds"]
    memory = summary["resident_mb"]
    return (f"{summary['completed']}/{summary['interactions']} results, {summary['error_count']} errors, "
            f"p50 {times['p50']} s, p95 {times['p95']} s, max {times['max']} s; CPU: server "
            f"{summary['server_cpu_percent']}%, browsers {summary['browsers_cpu_percent']}%, others "
            f"{summary['other_cpu_percent']}%; RSS {memory['before']} -> peak {memory['peak']} -> "
            f"{memory['after']} MB")


def measure_capacity(load: bool = True, uploads: bool = True, session_counts: Sequence[int] = SESSION_COUNTS,
                     interactions_per_session: int = len(INTERACTIONS), rounds_time_limit: float = ROUNDS_TIME_LIMIT_S,
                     log: Callable[[str], None] = print) -> dict[str, Any]:
    """{"load": ..., "upload_memory": ...}: K concurrent browser sessions against one server, then its memory
    after they disconnect; the upload measurement runs on a server of its own while that one waits."""

    async def both() -> dict[str, Any]:
        figures: dict[str, Any] = {}
        upload_task: list[asyncio.Task] = []

        def start_uploads() -> None:
            if uploads and not upload_task:
                upload_task.append(asyncio.ensure_future(measure_uploads_async(log)))

        if load:
            figures["load"] = await measure_load_async(session_counts, interactions_per_session, rounds_time_limit,
                                                       log, while_waiting=start_uploads)
        start_uploads()
        if upload_task:
            figures["upload_memory"] = await upload_task[0]
        return figures

    return run_coroutine(both)


def run_coroutine(make_coroutine: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to its end, from plain code or from a thread whose event loop is already running.

    Sync Playwright (the browser tests' fixtures) keeps an event loop running in the main thread, where
    ``asyncio.run`` refuses to start a second one; a thread of its own then runs it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(make_coroutine())
        except BaseException as error:  # Re-raised in the calling thread below.
            outcome["error"] = error

    thread = threading.Thread(target=run, name="loadtest")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_sessions(base_url: str, sessions: int, interactions_per_session: int = 1,
                 timeout: float = RESULT_TIMEOUT_S) -> dict[str, Any]:
    """One round against an already running server (the e2e test's): the summary without server figures."""
    async def main() -> dict[str, Any]:
        async with start_playwright() as playwright:
            browser = await launch_browser(playwright)
            try:
                result = await run_round(browser, base_url, sessions, interactions_per_session, timeout)
            finally:
                await browser.close()
        return summarise(result)

    return run_coroutine(main)


# ---------------------------------------------------------------------------------------------------------------
# Upload memory


def write_big_png(path: Path, side: int = BIG_IMAGE_SIDE) -> dict[str, Any]:
    """A side × side white RGB PNG with one thick black stroke: 40 MP that compress to about 130 KB."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (side, side), "white")
    ImageDraw.Draw(image).line([(side // 3, side // 5), (side // 2, 4 * side // 5)], fill="black", width=side // 40)
    image.save(path, format="PNG", compress_level=9)
    return {"width": side, "height": side, "mode": "RGB", "bytes": path.stat().st_size,
            "decoded_mb": round(side * side * 3 / 1e6, 1)}


def write_small_png(path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(image).line([(100, 30), (100, 170)], fill="black", width=18)
    image.save(path, format="PNG")


async def open_uploader(browser, base_url: str, page_name: str, timeout_ms: float):
    """A new visitor on a page, switched to its uploader: (context, page, file input)."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await page.goto(f"{base_url}/{page_name}", timeout=timeout_ms)
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    choice = UPLOAD_CHOICES[page_name]
    if choice:
        radio = page.get_by_test_id("stRadioGroup").get_by_text(choice, exact=True)
        await radio.wait_for(timeout=timeout_ms)
        await radio.click(timeout=timeout_ms)
    await uploader.wait_for(state="attached", timeout=timeout_ms)
    return context, page, uploader


async def upload_and_wait(page, uploader, image: Path, timeout_ms: float) -> str:
    """Upload a file and wait for the page's answer: the prediction, or the refusal it shows instead."""
    await uploader.set_input_files(str(image))
    answer = page.get_by_text(RESULT_MARKER).or_(page.locator(
        f'[data-testid="stAlertContentWarning"], [data-testid="stAlertContentError"], {EXCEPTION_BOX}'))
    await answer.first.wait_for(timeout=timeout_ms)
    if await page.get_by_text(RESULT_MARKER).count():
        metric = page.locator('[data-testid="stMetricValue"]')
        if await metric.count():
            return "prediction: " + (await metric.first.inner_text()).strip()
        # Flowers shows a "not sure" warning instead of a metric when no class is likely enough.
        if await page.locator('[data-testid="stAlertContentWarning"]').count():
            return "prediction, not sure: " + await alert_text(page)
        return "prediction shown"
    return "refused: " + await alert_text(page)


async def alert_text(page) -> str:
    """The first line of the page's first warning or error, without its icon's name."""
    alert = page.locator('[data-testid="stAlertContentWarning"], [data-testid="stAlertContentError"], '
                         f'{EXCEPTION_BOX}').first
    text = alert.locator('[data-testid="stMarkdownContainer"]')
    shown = await (text.first if await text.count() else alert).inner_text(timeout=5000)
    return (shown.strip().splitlines() or ["(no text)"])[0]


async def upload_at_once(browser, server: LiveServer, page_name: str, image: Path, visitors: int,
                         timeout: float) -> dict[str, Any]:
    """``visitors`` sessions upload the image at the same moment; the server's peak memory above before."""
    timeout_ms = timeout * 1000
    opened = [await open_uploader(browser, server.url, page_name, timeout_ms) for _ in range(visitors)]
    await asyncio.sleep(1.0)  # Let the pages' runs after switching to the uploader finish.
    before = server.resident_mb()
    try:
        with Sampler(server.process.pid) as sampler:
            answers = await asyncio.gather(*(upload_and_wait(page, uploader, image, timeout_ms)
                                             for _, page, uploader in opened), return_exceptions=True)
            await asyncio.sleep(0.5)
    finally:
        for context, _, _ in opened:
            await context.close()
    outcomes = [answer if isinstance(answer, str) else f"error: {type(answer).__name__}: {str(answer).splitlines()[0]}"
                for answer in answers]
    return {"page": page_name, "uploads": visitors, "resident_mb_before": round(before, 1),
            "resident_mb_peak": round(sampler.peak_mb, 1), "added_mb": round(sampler.peak_mb - before, 1),
            **sampler.cpu_figures(), "outcomes": outcomes}


async def measure_uploads_on(server: LiveServer, work_dir: Path, figures: dict[str, Any], log: Callable[[str], None],
                             timeout: float, after_wait: float) -> None:
    """Warm up each image page with a small upload, then measure the big one per page, three at once on Digits,
    and the server's memory ``after_wait`` seconds later; the figures go into ``figures`` as they come."""
    big, small = work_dir / "white-40mp.png", work_dir / "small.png"
    figures["image"] = write_big_png(big)
    write_small_png(small)
    async with start_playwright() as playwright:
        browser = await launch_browser(playwright)
        log("warm-up: a small upload on each page loads its model")
        for page_name in UPLOAD_PAGES:
            await upload_at_once(browser, server, page_name, small, 1, timeout)
        await asyncio.sleep(2.0)
        started = server.resident_mb()
        log_offset = server.log_size()
        figures["resident_mb_start"] = round(started, 1)
        figures["single"] = {}
        for page_name in UPLOAD_PAGES:
            single = figures["single"][page_name] = await upload_at_once(browser, server, page_name, big, 1, timeout)
            log(f"  one upload on {page_name}: +{single['added_mb']} MB ({single['outcomes'][0]})")
        figures["at_once"] = await upload_at_once(browser, server, "digits", big, CONCURRENT_UPLOADS, timeout)
        log(f"  {CONCURRENT_UPLOADS} at once on digits: +{figures['at_once']['added_mb']} MB")
        await browser.close()
    log(f"waiting {after_wait:.0f} s after the upload sessions closed")
    await asyncio.sleep(after_wait)
    final = server.resident_mb()
    figures["after_close"] = {"waited_seconds": after_wait, "resident_mb": round(final, 1),
                              "difference_mb": round(final - started, 1)}
    figures["server_errors"] = server.tracebacks_since(log_offset)
    log(f"  after the uploads: {figures['after_close']['difference_mb']:+.1f} MB against the start")


async def measure_uploads_async(log: Callable[[str], None], timeout: float = RESULT_TIMEOUT_S,
                                after_wait: float = AFTER_UPLOAD_WAIT_S) -> dict[str, Any]:
    start = time.perf_counter()
    figures: dict[str, Any] = {"created": manifest_lib.utc_now(), "machine": bench.machine()}
    with tempfile.TemporaryDirectory() as work_dir, LiveServer(Path(work_dir)) as server:
        try:
            await measure_uploads_on(server, Path(work_dir), figures, log, timeout, after_wait)
        except ServerExited as error:
            figures["error"] = str(error)
            log(f"stopped: {error}")
    figures["duration_seconds"] = round(time.perf_counter() - start, 1)
    return figures
