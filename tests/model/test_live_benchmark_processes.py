"""A live benchmark's child processes never outlive it: stopped, timed out, or the server process exiting.

Real runs (digits in TFLite and ONNX, each measured in a subprocess of its own), stopped while a
measurement process is running; psutil then checks that none of the run's processes is left. Where a
measurement could end by itself before the check, the run's workload is instead a real child process
that sleeps for ten minutes after starting a grandchild that does the same, through ``bench.run_child``
as every measurement does: only killing its process group ends both in time.
"""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from showcase import bench, paths
from showcase.live_benchmark import LiveBenchmark, Request

pytestmark = pytest.mark.slow

REQUEST = Request(("digits",), ("tflite", "onnx"), budget=60.0)
SLEEPER = ("import subprocess, sys, time; "
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)")
SLEEPER_ARGUMENT = "import time; time.sleep(600)"


def sleeping_workload(*args, progress, **kwargs):
    progress(0, 1, "sleeping")
    bench.run_child([sys.executable, "-c", SLEEPER], timeout=900)
    progress(1, 1, "done")
    return {"models": {}}


def lone_sleeping_workload(*args, progress, **kwargs):
    progress(0, 1, "sleeping")
    bench.run_child([sys.executable, "-c", SLEEPER_ARGUMENT], timeout=900)
    return {"models": {}}


def sleepers_alive() -> list[int]:
    """Live processes on this machine running the sleeper or its grandchild."""
    alive = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if (SLEEPER in cmdline or SLEEPER_ARGUMENT in cmdline) and process.info["status"] != psutil.STATUS_ZOMBIE:
            alive.append(process.info["pid"])
    return alive


def wait_for_sleepers(count: int, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(sleepers_alive()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return sleepers_alive()


def wait_for_child_pids(timeout: float = 60.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = bench.child_pids()
        if pids:
            return pids
        time.sleep(0.02)
    pytest.fail(f"no measurement process started within {timeout:.0f} s")


def measurement_processes_alive(pids: list[int]) -> list[int]:
    """Of these pids, the live processes that measure a benchmark format."""
    alive = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if "--measure-one" in process.cmdline() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return alive


@pytest.fixture(autouse=True)
def no_sleeper_left_behind():
    yield
    for pid in sleepers_alive():
        psutil.Process(pid).kill()


def test_stopping_a_run_kills_its_child_and_grandchild():
    coordinator = LiveBenchmark(sleeping_workload)
    run, _ = coordinator.start(REQUEST)
    assert len(wait_for_sleepers(2)) == 2, "the sleeper and its grandchild did not start"
    coordinator.stop(run, "the test stopped it")
    assert not run.running and run.error == "The run was stopped: the test stopped it."
    assert sleepers_alive() == [] and bench.child_pids() == []


def test_stopping_a_real_run_kills_its_measurement_process():
    coordinator = LiveBenchmark()
    run, _ = coordinator.start(REQUEST)
    pids = wait_for_child_pids()
    assert measurement_processes_alive(pids) == pids
    coordinator.stop(run, "the test stopped it")
    assert not run.running and run.error == "The run was stopped: the test stopped it."
    assert measurement_processes_alive(pids) == [] and bench.child_pids() == []
    assert coordinator.active() is None


def test_a_run_past_its_time_limit_is_stopped_with_its_processes():
    # A real measurement of digits can finish within any budget short enough for a test, so the workload
    # is the sleeper, which always outlives its one-second budget.
    coordinator = LiveBenchmark(sleeping_workload, overrun_seconds=0.0)
    run, _ = coordinator.start(Request(("digits",), ("tflite",), budget=1.0))
    assert len(wait_for_sleepers(2)) == 2, "the sleeper and its grandchild did not start"
    run.thread.join(60)
    assert not run.running and run.error is not None and "past its time budget" in run.error
    assert sleepers_alive() == [] and bench.child_pids() == []


# A server process in miniature: it starts a run, waits for its child and grandchild, then exits normally
# (as Streamlit's server does on SIGTERM) while the run's thread is still waiting for the child.
EXITING_SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
from test_live_benchmark_processes import sleeping_workload, wait_for_sleepers
from showcase.live_benchmark import LiveBenchmark, Request
LiveBenchmark(sleeping_workload).start(Request(("digits",), ("tflite",), 60.0))
print(" ".join(str(pid) for pid in wait_for_sleepers(2)), flush=True)
sys.exit(0)
"""


def test_a_process_that_exits_mid_run_takes_its_child_processes_with_it():
    script = EXITING_SERVER.format(tests=str(paths.REPO_ROOT / "tests" / "model"))
    completed = subprocess.run([sys.executable, "-c", script], cwd=paths.REPO_ROOT, capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert len(completed.stdout.split()) == 2, "the sleeper and its grandchild did not start"
    deadline = time.monotonic() + 10
    while sleepers_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers_alive() == []


# The same, killed with SIGKILL (as the OOM killer does): no atexit; the kernel kills its child.
KILLED_SERVER = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_live_benchmark_processes import lone_sleeping_workload, wait_for_sleepers
from showcase.live_benchmark import LiveBenchmark, Request
LiveBenchmark(lone_sleeping_workload).start(Request(("digits",), ("tflite",), 60.0))
print(" ".join(str(pid) for pid in wait_for_sleepers(1)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(bench._SETPRIV is None, reason="needs util-linux's setpriv (Linux)")
def test_a_process_killed_mid_run_takes_its_child_process_with_it():
    script = KILLED_SERVER.format(tests=str(paths.REPO_ROOT / "tests" / "model"))
    completed = subprocess.run([sys.executable, "-c", script], cwd=paths.REPO_ROOT, capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode == -9, completed.stderr[-2000:]
    assert len(completed.stdout.split()) == 1, "the sleeper did not start"
    deadline = time.monotonic() + 10
    while sleepers_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers_alive() == []
