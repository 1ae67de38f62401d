"""Benchmark: size, speed, memory and accuracy of every model in every format, plus the app's cold start.

    python -m showcase.bench                      # every model and format -> models/benchmarks.json
    python -m showcase.bench --models digits --runs 500 --output /tmp/bench.json
    python -m showcase.bench --skip-app           # models only
    python -m showcase.bench --app-only           # re-measure the app's cold start and memory, keep the rest
    python -m showcase.bench --load               # browser load test and upload memory (appdriver.loadtest)
    python -m showcase.bench --api                # the prediction API's load test with wrk (appdriver.apiload)

Formats are the committed serving formats and the Formats page's variants (TFLite fp16, dynamic-range
int8, ONNX int8), which are built into the cache first (``showcase.variants``). Each model × format is
measured in a fresh Python process, so that load time includes importing its runtime (TensorFlow for
SavedModel) and memory growth is that format's alone. Latency inputs are random values within the
manifest's input range (latency does not depend on the pixels); latencies are wall-clock milliseconds
after a warm-up, with the runtime's thread count fixed (``runtime.NUM_THREADS``). The model's own metric
is then measured on its fixed evaluation subset (``showcase.evaluation``) and compared with the
reference format's (SavedModel). Machines are noisy: compare formats within one run, not across runs.

This module measures models only. What needs the running app in a browser (its cold start and page tour,
the load test, the upload memory) lives in the ``appdriver`` package beside ``app/``: ``--app-only``,
``--load`` and ``--uploads`` (and a full run, for the cold start) run ``python -m appdriver`` in a child
process, read the JSON it prints, and merge it into the output file under "app", "load" and "upload_memory",
keeping the rest of the file.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from showcase import evaluation, paths, runtime, variants
from showcase import manifest as manifest_lib
from showcase.formats import FORMAT_LABELS, REFERENCE_FORMAT, SAVEDMODEL, runtime_installed, unavailable_reason

WARMUP_RUNS = 20
BATCH_SIZE = 32


def resident_megabytes() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def artifact_bytes(model_name: str, format_name: str) -> int:
    """Size of a committed artifact (from the manifest) or of a built variant (from its record)."""
    entry = manifest_lib.model_entry(model_name)
    if format_name in entry["artifacts"]:
        return entry["artifacts"][format_name]["bytes"]
    return variants.built_variants(model_name)[format_name]["bytes"]


def available_formats(model_name: str, manifest: dict[str, Any] | None = None) -> list[str]:
    """The model's committed formats and its built variants, in the pages' order."""
    entry = manifest_lib.model_entry(model_name, manifest)
    present = set(entry["artifacts"]) | set(variants.built_variants(model_name, manifest))
    return [name for name in FORMAT_LABELS if name in present]


def measure(model_name: str, format_name: str, runs: int = 300, time_limit: float = 60.0,
            with_metric: bool = True) -> dict[str, Any]:
    """Measure one model in one format inside this process (see ``measure_isolated`` for a fresh one)."""
    entry = manifest_lib.model_entry(model_name)
    memory_before = resident_megabytes()
    start = time.perf_counter()
    predictor = variants.load(model_name, format_name)
    load_seconds = time.perf_counter() - start

    single = runtime.example_batch(entry)
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

    batch = runtime.example_batch(entry, BATCH_SIZE)
    predictor.predict(batch)
    batch_runs = max(3, min(50, runs // 10))
    start = time.perf_counter()
    for _ in range(batch_runs):
        predictor.predict(batch)
    throughput = BATCH_SIZE * batch_runs / (time.perf_counter() - start)

    figures = {
        "bytes": artifact_bytes(model_name, format_name),
        "load_seconds": round(load_seconds, 4),
        "first_inference_ms": round(first_inference_ms, 3),
        "p50_ms": round(float(np.percentile(latencies, 50)), 4),
        "p95_ms": round(float(np.percentile(latencies, 95)), 4),
        "runs": len(latencies),
        "batch32_items_per_second": round(throughput, 1),
        "memory_growth_mb": round(resident_megabytes() - memory_before, 1),
    }
    if with_metric:
        try:
            figures["metric"] = evaluation.evaluate(model_name, predictor)
        except evaluation.DataUnavailable as reason:
            figures["metric"] = {"unavailable": str(reason)}
    return figures


# The benchmark's child processes that are still running. Each starts a session of its own (its own process
# group), so that killing the group also ends anything it started; ``kill_children`` kills them all, and runs
# when this process exits (Streamlit's server returns normally on SIGTERM and SIGINT, so atexit runs there too).
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_refusing_children = False
VARIANTS_TIMEOUT_SECONDS = 1800
# util-linux's setpriv (Linux) asks the kernel to kill a child whose parent dies without running atexit (SIGKILL,
# the OOM killer). The signal follows the death of the thread that started the child, which waits for it.
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None


def _killed_with_parent(command: list[str]) -> list[str]:
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *command] if _SETPRIV else command


def run_child(command: list[str], timeout: float | None, show_progress: bool = False) -> subprocess.CompletedProcess:
    """Run a command in its own process group and return its result; on a timeout or any interruption the
    group is killed before the exception propagates. With ``show_progress`` the command's stderr goes to this
    process's stderr as it comes, instead of into the result."""
    with _children_lock:
        if _refusing_children:
            raise ChildProcessError("this process is exiting, so it starts no more benchmark processes")
        process = subprocess.Popen(_killed_with_parent(command), cwd=paths.REPO_ROOT, stdout=subprocess.PIPE,
                                   stderr=None if show_progress else subprocess.PIPE, text=True,
                                   start_new_session=True)
        _children.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        _kill_group(process)
        process.communicate()
        raise
    finally:
        with _children_lock:
            _children.discard(process)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen) -> None:
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def child_pids() -> list[int]:
    """The process ids of the benchmark's child processes still running."""
    with _children_lock:
        return [process.pid for process in _children if process.returncode is None]


def kill_children(refuse_new: bool = False) -> int:
    """Kill every running benchmark child process with its group; with ``refuse_new``, start no more after.
    Returns how many were running."""
    global _refusing_children
    with _children_lock:
        _refusing_children = _refusing_children or refuse_new
        running = [process for process in _children if process.returncode is None]
    for process in running:
        _kill_group(process)
    return len(running)


atexit.register(kill_children, refuse_new=True)


def measure_isolated(model_name: str, format_name: str, runs: int, time_limit: float = 60.0) -> dict[str, Any]:
    """Run ``measure`` in a fresh interpreter and return its figures (or {"error": ...})."""
    command = [sys.executable, "-m", "showcase.bench", "--measure-one", model_name, format_name,
               "--runs", str(runs), "--time-limit", str(time_limit)]
    try:
        completed = run_child(command, timeout=time_limit + 240)
    except subprocess.TimeoutExpired:
        return {"error": f"took longer than {time_limit + 240:.0f} s"}
    if completed.returncode != 0:
        return {"error": _last_error_line(completed)}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def build_variants(model_name: str) -> str | None:
    """Build the model's missing variants in a subprocess (the converter imports TensorFlow); an error or None."""
    command = [sys.executable, "-m", "showcase.variants", "--models", model_name]
    try:
        completed = run_child(command, timeout=VARIANTS_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return f"building them took longer than {VARIANTS_TIMEOUT_SECONDS} s"
    return _last_error_line(completed) if completed.returncode != 0 else None


def _last_error_line(completed: subprocess.CompletedProcess) -> str:
    if completed.returncode < 0:
        return f"stopped by {signal.Signals(-completed.returncode).name}"
    lines = (completed.stderr or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {completed.returncode}"


def add_metric_deltas(figures: dict[str, dict[str, Any]]) -> None:
    """Each format's metric minus the reference format's, measured on the same subset in the same run."""
    reference = figures.get(REFERENCE_FORMAT, {}).get("metric", {}).get("value")
    for format_figures in figures.values():
        metric = format_figures.get("metric", {})
        if reference is not None and "value" in metric:
            metric["delta_vs_reference"] = round(metric["value"] - reference, 6)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def run_benchmark(
    models: list[str] | None,
    formats: list[str] | None,
    runs: int,
    include_app: bool,
    time_budget: float | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    format_time_limit: float = 60.0,
) -> dict:
    """Measure the chosen models × formats (default: all, variants built first) and return the results.

    With ``time_budget`` (seconds), pairs not started in time are recorded as skipped. ``progress`` is
    called before each step with (steps done, steps in all, what comes next).
    """
    manifest = manifest_lib.load_manifest()
    deadline = time.perf_counter() + time_budget if time_budget else None
    results: dict[str, Any] = {
        "created": manifest_lib.utc_now(),
        "machine": machine(),
        "versions": manifest_lib.library_versions("tensorflow", "ai-edge-litert", "onnxruntime", "streamlit", "numpy"),
        "settings": {"threads": runtime.NUM_THREADS, "runs": runs, "warmup_runs": WARMUP_RUNS, "batch": BATCH_SIZE,
                     "reference_format": REFERENCE_FORMAT},
        "models": {},
    }
    chosen = [name for name in manifest["models"] if not models or name in models]
    wanted = [name for name in FORMAT_LABELS if not formats or name in formats]
    # (model, None) builds the model's variants, then (model, format) measures one format.
    steps = [step for model_name in chosen for step in [(model_name, None)] + [(model_name, f) for f in wanted]]
    for done, (model_name, format_name) in enumerate(steps):
        model_results = results["models"].setdefault(model_name, {"formats": {}})
        if format_name is None:
            if progress:
                progress(done, len(steps), f"{model_name}: building the variants")
            to_build = variants.formats_to_build(manifest["models"][model_name])
            missing = set(wanted) & set(to_build) - set(variants.built_variants(model_name, manifest))
            if missing and not (deadline and time.perf_counter() > deadline):
                model_results["variants_error"] = (
                    build_variants(model_name) if runtime_installed(SAVEDMODEL)
                    else "building them needs TensorFlow's converter, and TensorFlow is not installed here"
                )
            continue
        if format_name not in available_formats(model_name, manifest):
            continue
        if progress:
            progress(done, len(steps), f"{model_name}: {FORMAT_LABELS[format_name]}")
        if deadline and time.perf_counter() > deadline:
            figures = {"skipped": f"the {time_budget:.0f} s time budget ran out"}
        elif unavailable_reason(format_name):
            figures = {"skipped": unavailable_reason(format_name)}
        else:
            figures = measure_isolated(model_name, format_name, runs, format_time_limit)
        model_results["formats"][format_name] = figures
        print(f"{model_name:12s} {format_name:15s} {figures}", flush=True)
    for model_results in results["models"].values():
        add_metric_deltas(model_results["formats"])
        if model_results.get("variants_error") is None:
            model_results.pop("variants_error", None)
    if progress:
        progress(len(steps), len(steps), "done")
    if include_app:
        results["app"] = measure_app()
    return results


def run_appdriver(*arguments: str) -> dict[str, Any]:
    """``python -m appdriver <arguments>`` in a child process, its progress shown as it comes; the figures it
    prints as JSON. The benchmark stops with the reason when the child fails."""
    completed = run_child([sys.executable, "-m", "appdriver", *arguments], timeout=None, show_progress=True)
    if completed.returncode != 0:
        sys.exit(f"`python -m appdriver {' '.join(arguments)}` failed ({_last_error_line(completed)}); "
                 "its messages are above.")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_app() -> dict[str, Any]:
    """The app's cold start and its memory after every page (``appdriver.tour``)."""
    figures = {"cold_start": run_appdriver("cold-start"), "created": manifest_lib.utc_now()}
    print("app cold start", figures["cold_start"])
    return figures


# Keys of benchmarks.json written by `--load` (appdriver.loadtest), kept when the models are re-measured.
LOAD_KEYS = ("load", "upload_memory", "api_load")


def measure_capacity(load: bool, sessions: list[int] | None, uploads: bool,
                     rounds_time_limit: float | None = None) -> dict[str, Any]:
    """The browser load test and/or the upload-memory measurement (``appdriver.loadtest``), each with its own
    duration printed."""
    start = time.perf_counter()
    arguments = ["capacity"]
    if load:
        arguments.append("--load")
    if uploads:
        arguments.append("--uploads")
    if sessions:
        arguments += ["--sessions", *map(str, sessions)]
    if rounds_time_limit:
        arguments += ["--rounds-time-limit", str(rounds_time_limit)]
    figures = run_appdriver(*arguments)
    for key, figure in figures.items():
        print(f"{key} took {figure['duration_seconds']:.0f} s", flush=True)
    print(f"--load took {time.perf_counter() - start:.0f} s in all", flush=True)
    return figures


def merge_with_previous(results: dict[str, Any], output: Path) -> dict[str, Any]:
    """Keep the earlier figures of models, formats and app timings that this run did not measure."""
    if not output.exists():
        return results
    previous = json.loads(output.read_text())
    for model_name, figures in previous.get("models", {}).items():
        merged = figures["formats"] | results["models"].get(model_name, {}).get("formats", {})
        results["models"][model_name] = {"formats": merged}
    results.setdefault("app", previous.get("app"))
    for key in LOAD_KEYS:
        if key in previous:
            results.setdefault(key, previous[key])
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="model names (default: every model in the manifest)")
    parser.add_argument("--formats", nargs="*", help="formats (default: every format of each model)")
    parser.add_argument("--runs", type=int, default=500, help="timed batch-1 predictions per format")
    parser.add_argument("--output", type=Path, default=paths.BENCHMARKS_PATH)
    parser.add_argument("--skip-app", action="store_true", help="do not time the app's cold start")
    parser.add_argument("--app-only", action="store_true", help="only the app's cold start and memory")
    parser.add_argument("--time-budget", type=float,
                        help="seconds; model × format pairs not started by then are skipped")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds of timed runs per format at most")
    parser.add_argument("--measure-one", nargs=2, metavar=("MODEL", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true",
                        help="only the browser load test, then the upload-memory measurement (appdriver.loadtest)")
    parser.add_argument("--sessions", type=int, nargs="*", help="with --load: concurrent sessions per round")
    parser.add_argument("--skip-uploads", action="store_true", help="with --load: no upload-memory measurement")
    parser.add_argument("--rounds-time-limit", type=float,
                        help="with --load: seconds for all the rounds together (default 360); later rounds are skipped")
    parser.add_argument("--uploads", action="store_true", help="only the upload-memory measurement")
    parser.add_argument("--api", action="store_true",
                        help="only the API's load test (uvicorn 1 and 2 workers, Ray Serve; appdriver.apiload)")
    parser.add_argument("--api-duration", type=float, help="with --api: seconds per wrk run (default 5)")
    args = parser.parse_args(argv)
    if args.measure_one:
        print(json.dumps(measure(*args.measure_one, runs=args.runs, time_limit=args.time_limit)))
        return
    if args.api:
        arguments = ["api-load"] + (["--duration", str(args.api_duration)] if args.api_duration else [])
        api_load = run_appdriver(*arguments)
        results = json.loads(args.output.read_text()) if args.output.exists() else {"models": {}}
        results.update(api_load)
    elif args.load or args.uploads:
        capacity = measure_capacity(args.load, args.sessions, not args.skip_uploads or args.uploads,
                                    args.rounds_time_limit)
        # Read only now, so that whatever else was written to the file meanwhile is kept.
        results = json.loads(args.output.read_text()) if args.output.exists() else {"models": {}}
        results.update(capacity)
    elif args.app_only:
        results = json.loads(args.output.read_text()) if args.output.exists() else {"models": {}}
        results["app"] = measure_app()
    else:
        results = run_benchmark(args.models, args.formats, args.runs, include_app=not args.skip_app,
                                time_budget=args.time_budget, format_time_limit=args.time_limit)
        results = merge_with_previous(results, args.output)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
