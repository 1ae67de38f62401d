"""Load test of the prediction API with wrk (Debian ``wrk``), on loopback, bounded in requests and time.

    python -m showcase.bench --api                 # -> models/benchmarks.json "api_load"
    python -m appdriver api-load --duration 5      # the figures as JSON on stdout

For each serving path (``python -m showcase.api`` with 1 and with 2 uvicorn workers, ``python -m
showcase.ray_serve`` with 2 replicas), each model (digits, flowers, sentiment) and each concurrency (1, 8, 32),
wrk sends the same ``:predict`` request (one instance, TF Serving's row format, the default serving format)
with as many open connections as the concurrency, for at most ``duration`` seconds and ``max_requests``
requests. It reports requests per second, latency percentiles (p50/p95/p99) and errors: responses other than
2xx, socket errors and timeouts. A short warm-up run loads each model before it is measured, and each run
starts once the server has finished the requests the previous one left queued (its in-flight gauge is 0).

wrk runs on the same cores as the server (two threads at most), so it takes CPU that the server would
otherwise have; the machine's load average before each path is recorded beside its figures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from appdriver import api as api_server
from appdriver.server import free_port
from showcase import manifest as manifest_lib
from showcase import paths, runtime

MODELS = ("digits", "flowers", "sentiment")
CONCURRENCIES = (1, 8, 32)
PATHS = ("uvicorn_1_worker", "uvicorn_2_workers", "ray_serve_2_replicas")
DURATION_S = 5.0
MAX_REQUESTS = 20000
WARMUP_S = 1.0
WRK_SCRIPT = Path(__file__).with_name("apiload.lua")
RAY_START_TIMEOUT_S = 240
STOP_TIMEOUT_S = 60
DRAIN_TIMEOUT_S = 60
IN_FLIGHT_METRIC = "showcase_api_in_flight_requests"


class LoadTestUnavailable(RuntimeError):
    """wrk is not installed, or a server did not come up."""


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise LoadTestUnavailable("wrk is not installed (Debian: apt-get install wrk)")
    return found


def request_body(model_name: str) -> str:
    """One instance as the manifest's input spec shapes it, values rounded to 4 decimals (the JSON stays short)."""
    entry = manifest_lib.model_entry(model_name)
    instance = runtime.example_batch(entry, batch_size=1, seed=1)[0]
    if np.issubdtype(instance.dtype, np.floating):
        instance = np.round(instance.astype(np.float64), 4)  # float64: 0.1235, not 0.12349999696016312
    return json.dumps({"instances": [instance.tolist()]}, separators=(",", ":"))


def run_wrk(url: str, body_file: Path, concurrency: int, duration_s: float, max_requests: int) -> dict[str, Any]:
    """One wrk run; its figures with requests per second, latencies in milliseconds and the error count."""
    threads = min(concurrency, 2)
    env = os.environ | {"WRK_BODY": str(body_file), "WRK_MAX_REQUESTS": str(max_requests),
                        "WRK_THREADS": str(threads)}
    command = [wrk_path(), "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration_s))}s",
               "--timeout", "10s", "-s", str(WRK_SCRIPT), url]
    completed = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=duration_s + 60)
    if completed.returncode != 0:
        raise LoadTestUnavailable(f"wrk failed: {completed.stderr.strip() or completed.stdout.strip()}")
    raw = json.loads(completed.stdout.strip().splitlines()[-1])
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "requests_per_second": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "errors": raw["non_2xx"] + raw["socket_errors"] + raw["timeouts"],
        # wrk's duration runs to its -d deadline even when every thread stopped early at the request cap, so a
        # capped run's requests per second are a lower bound.
        "capped": raw["requests"] >= max_requests,
    }


def in_flight_requests(port: int) -> float | None:
    """The API's in-flight gauge summed over its processes (``/metrics``), or None if it cannot be read."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(IN_FLIGHT_METRIC) and not line.startswith("#"))


def wait_until_idle(port: int) -> None:
    """Wait (``DRAIN_TIMEOUT_S`` at most) until the server has answered the requests that wrk left behind: wrk
    stops at its deadline, but the server still works through what was queued, which would slow the next run."""
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    while time.perf_counter() < deadline and (in_flight_requests(port) or 0) > 0:
        time.sleep(0.2)


@contextmanager
def uvicorn_api(workers: int, log_dir: Path) -> Iterator[int]:
    with (log_dir / f"uvicorn-{workers}.log").open("wb") as log:
        try:
            server, port = api_server.start_api(output=log, options=["--workers", str(workers)],
                                                environ={"SHOWCASE_API_KEY": ""})
        except RuntimeError as error:
            raise LoadTestUnavailable(str(error)) from None
        try:
            yield port
        finally:
            api_server.stop_api(server)


@contextmanager
def ray_serve_api(replicas: int, log_dir: Path) -> Iterator[int]:
    """``python -m showcase.ray_serve`` in its own process group, stopped (the whole group) at the end."""
    port = free_port()
    with (log_dir / "ray_serve.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "showcase.ray_serve", "--port", str(port),
                                    "--replicas", str(replicas)], cwd=paths.REPO_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not api_server.wait_for_api(port, time.perf_counter() + RAY_START_TIMEOUT_S):
            raise LoadTestUnavailable(f"Ray Serve did not answer within {RAY_START_TIMEOUT_S} s "
                                      f"(log: {log_dir / 'ray_serve.log'})")
        yield port
    finally:
        stop_group(process, port)


def stop_group(process: subprocess.Popen, port: int) -> None:
    """SIGTERM to the group (Serve and Ray shut down), SIGKILL for what is left after ``STOP_TIMEOUT_S``; then
    wait (as long again at most) until nothing answers on ``port`` (Ray's proxy may outlive the driver briefly)."""
    deadline = time.perf_counter() + STOP_TIMEOUT_S
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline += STOP_TIMEOUT_S
    while api_server.wait_for_api(port, time.perf_counter() + 0.5) and time.perf_counter() < deadline:
        time.sleep(0.5)


def serving_path(name: str, log_dir: Path):
    if name == "uvicorn_1_worker":
        return uvicorn_api(1, log_dir)
    if name == "uvicorn_2_workers":
        return uvicorn_api(2, log_dir)
    if name == "ray_serve_2_replicas":
        return ray_serve_api(2, log_dir)
    raise ValueError(f"Unknown serving path {name!r}; expected one of {', '.join(PATHS)}.")


def measure_api_load(paths_to_run: Sequence[str] = PATHS, models: Sequence[str] = MODELS,
                     concurrencies: Sequence[int] = CONCURRENCIES, duration_s: float = DURATION_S,
                     max_requests: int = MAX_REQUESTS, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every path × model × concurrency; {"paths": {path: {model: {"c32": figures}}}, settings, ratios}."""
    wrk_path()
    start = time.perf_counter()
    results: dict[str, Any] = {"paths": {}}
    with tempfile.TemporaryDirectory(prefix="api-load-") as folder:
        folder = Path(folder)
        bodies = {}
        for model_name in models:
            bodies[model_name] = folder / f"{model_name}.json"
            bodies[model_name].write_text(request_body(model_name))
        for path_name in paths_to_run:
            figures: dict[str, Any] = {"load_average_before": round(os.getloadavg()[0], 2)}
            with serving_path(path_name, folder) as port:
                for model_name in models:
                    url = f"http://127.0.0.1:{port}/v1/models/{model_name}:predict"
                    run_wrk(url, bodies[model_name], 2, WARMUP_S, 200)
                    for concurrency in concurrencies:
                        wait_until_idle(port)
                        measured = run_wrk(url, bodies[model_name], concurrency, duration_s, max_requests)
                        figures.setdefault(model_name, {})[f"c{concurrency}"] = measured
                        log(f"{path_name:22s} {model_name:10s} c={concurrency:<3d} {measured}")
            results["paths"][path_name] = figures
    results["ray_serve_vs_uvicorn_2_workers"] = overhead_ratios(results["paths"])
    results["settings"] = {"tool": "wrk", "duration_s": duration_s, "max_requests": max_requests,
                           "batch": 1, "format": "the API's default (fastest benchmarked)", "cores": os.cpu_count(),
                           "client_on_same_machine": True}
    results["duration_seconds"] = round(time.perf_counter() - start, 1)
    results["created"] = manifest_lib.utc_now()
    return results


def overhead_ratios(measured: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Ray Serve's requests per second and p95 over uvicorn's with 2 workers, per model and concurrency."""
    ray, uvicorn = measured.get("ray_serve_2_replicas"), measured.get("uvicorn_2_workers")
    if not ray or not uvicorn:
        return {}
    ratios = {}
    for model_name, runs in uvicorn.items():
        if not isinstance(runs, dict) or model_name not in ray:
            continue
        for key, figures in runs.items():
            other = ray[model_name].get(key)
            if other and figures["requests_per_second"] and figures["p95_ms"]:
                ratios[f"{model_name}_{key}"] = {
                    "throughput_ratio": round(other["requests_per_second"] / figures["requests_per_second"], 3),
                    "p95_ratio": round(other["p95_ms"] / figures["p95_ms"], 3),
                }
    return ratios
