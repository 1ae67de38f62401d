"""Benchmark: size, load time and latency of every model in every format, plus the app's cold start.

    python -m showcase.bench                      # every model and format -> models/benchmarks.json
    python -m showcase.bench --models digits --runs 500 --output /tmp/bench.json
    python -m showcase.bench --skip-app           # models only

Each model × format is measured in a fresh Python process, so that load time includes importing its
runtime (TensorFlow for SavedModel) and memory growth is that format's alone. Inputs are random values
within the manifest's input range: latency does not depend on the pixels. Latencies are wall-clock
milliseconds after a warm-up, with the runtime's thread count fixed (``runtime.NUM_THREADS``).
Machines here are noisy: compare formats within one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from showcase import manifest as manifest_lib
from showcase import paths, runtime

WARMUP_RUNS = 20
BATCH_SIZE = 32


def example_batch(entry: dict[str, Any], batch_size: int = 1, seed: int = 0) -> np.ndarray:
    """Random inputs shaped and ranged as the manifest's input spec says."""
    spec = entry["input"]
    shape = [batch_size] + [dimension or 1 for dimension in spec["shape"][1:]]
    low, high = spec["range"]
    generator = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(spec["dtype"]), np.integer):
        return generator.integers(int(low), int(high) + 1, size=shape).astype(spec["dtype"])
    return generator.uniform(low, high, size=shape).astype(spec["dtype"])


def resident_megabytes() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def measure(model_name: str, format_name: str, runs: int = 300, time_limit: float = 60.0) -> dict[str, Any]:
    """Measure one model in one format inside this process (see ``measure_isolated`` for a fresh one)."""
    entry = manifest_lib.model_entry(model_name)
    memory_before = resident_megabytes()
    start = time.perf_counter()
    predictor = runtime.load(model_name, format_name)
    load_seconds = time.perf_counter() - start

    single = example_batch(entry)
    start = time.perf_counter()
    predictor.predict(single)
    first_inference_ms = (time.perf_counter() - start) * 1000
    for _ in range(WARMUP_RUNS):
        predictor.predict(single)

    latencies = []
    deadline = time.perf_counter() + time_limit
    while len(latencies) < runs and time.perf_counter() < deadline:
        start = time.perf_counter()
        predictor.predict(single)
        latencies.append((time.perf_counter() - start) * 1000)

    batch = example_batch(entry, BATCH_SIZE)
    predictor.predict(batch)
    batch_runs = max(3, min(50, runs // 10))
    start = time.perf_counter()
    for _ in range(batch_runs):
        predictor.predict(batch)
    throughput = BATCH_SIZE * batch_runs / (time.perf_counter() - start)

    return {
        "bytes": entry["artifacts"][format_name]["bytes"],
        "load_seconds": round(load_seconds, 4),
        "first_inference_ms": round(first_inference_ms, 3),
        "p50_ms": round(float(np.percentile(latencies, 50)), 4),
        "p95_ms": round(float(np.percentile(latencies, 95)), 4),
        "runs": len(latencies),
        "batch32_items_per_second": round(throughput, 1),
        "memory_growth_mb": round(resident_megabytes() - memory_before, 1),
    }


def measure_isolated(model_name: str, format_name: str, runs: int, time_limit: float = 120.0) -> dict[str, Any]:
    """Run ``measure`` in a fresh interpreter and return its figures."""
    command = [sys.executable, "-m", "showcase.bench", "--measure-one", model_name, format_name, "--runs", str(runs)]
    completed = subprocess.run(
        command, cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=time_limit + 120, check=False
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(port: int, deadline: float) -> bool:
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def app_cold_start(timeout: float = 60.0) -> dict[str, Any]:
    """Seconds from `streamlit run` to a healthy server, and to the Home page rendered in headless Chromium."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(paths.REPO_ROOT / "app" / "streamlit_app.py"),
        "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
    ]
    # The browser starts first so that its own start-up is not counted.
    browser_session = _start_browser()
    start = time.perf_counter()
    server = subprocess.Popen(command, cwd=paths.REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_health(port, start + timeout):
            return {"error": f"no healthy server within {timeout:.0f} s"}
        result = {"health_seconds": round(time.perf_counter() - start, 3)}
        if browser_session is None:
            result["home_rendered_seconds"] = None
            result["note"] = "Chromium or Playwright is not installed: only the health check was timed."
            return result
        page = browser_session[2]
        page.goto(f"http://127.0.0.1:{port}/", timeout=timeout * 1000)
        page.get_by_text("TensorFlow model showcase").first.wait_for(timeout=timeout * 1000)
        result["home_rendered_seconds"] = round(time.perf_counter() - start, 3)
        return result
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if browser_session is not None:
            browser_session[1].close()
            browser_session[0].stop()


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def _start_browser():
    """(playwright, browser, page) driving Debian's Chromium, or None when either is missing."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if executable is None:
        return None
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    return playwright, browser, browser.new_page()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def run_benchmark(models: list[str] | None, formats: list[str] | None, runs: int, include_app: bool) -> dict:
    manifest = manifest_lib.load_manifest()
    results: dict[str, Any] = {
        "created": manifest_lib.utc_now(),
        "machine": machine(),
        "versions": manifest_lib.library_versions("tensorflow", "ai-edge-litert", "onnxruntime", "streamlit", "numpy"),
        "settings": {"threads": runtime.NUM_THREADS, "runs": runs, "warmup_runs": WARMUP_RUNS, "batch": BATCH_SIZE},
        "models": {},
    }
    for model_name, entry in manifest["models"].items():
        if models and model_name not in models:
            continue
        figures = {}
        for format_name in entry["artifacts"]:
            if formats and format_name not in formats:
                continue
            print(f"{model_name:12s} {format_name:12s}", end=" ", flush=True)
            figures[format_name] = measure_isolated(model_name, format_name, runs)
            print(figures[format_name])
        results["models"][model_name] = {"formats": figures}
    if include_app:
        results["app"] = {"cold_start": app_cold_start()}
        print("app cold start", results["app"]["cold_start"])
    return results


def merge_with_previous(results: dict[str, Any], output: Path) -> dict[str, Any]:
    """Keep the earlier figures of models, formats and app timings that this run did not measure."""
    if not output.exists():
        return results
    previous = json.loads(output.read_text())
    for model_name, figures in previous.get("models", {}).items():
        merged = figures["formats"] | results["models"].get(model_name, {}).get("formats", {})
        results["models"][model_name] = {"formats": merged}
    results.setdefault("app", previous.get("app"))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="model names (default: every model in the manifest)")
    parser.add_argument("--formats", nargs="*", help="formats (default: every format of each model)")
    parser.add_argument("--runs", type=int, default=500, help="timed batch-1 predictions per format")
    parser.add_argument("--output", type=Path, default=paths.BENCHMARKS_PATH)
    parser.add_argument("--skip-app", action="store_true", help="do not time the app's cold start")
    parser.add_argument("--measure-one", nargs=2, metavar=("MODEL", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_one:
        print(json.dumps(measure(*args.measure_one, runs=args.runs)))
        return
    results = run_benchmark(args.models, args.formats, args.runs, include_app=not args.skip_app)
    results = merge_with_previous(results, args.output)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
