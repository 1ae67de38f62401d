"""How a shared TFLite predictor behaves when several threads call it, by the way it keeps calls apart.

    python -m showcase.concurrency_bench                         # digits and flowers, TFLite fp32
    python -m showcase.concurrency_bench --models digits --threads 1 2 4 8 --seconds 2 --rounds 3 --out run.json

A LiteRT interpreter must not be used by two threads at once, and Streamlit calls one cached predictor from
every session's thread. The candidates measured here:

- ``lock``: one interpreter behind a plain ``threading.Lock`` (which a releasing thread may take again at once);
- ``pool1``, ``pool2``, ``pool4``: ``runtime.TFLitePredictor`` with a pool of at most 1, 2 or 4 interpreters,
  borrowed per call and handed to waiting callers first come, first served (``runtime.InterpreterPool``);
- ``thread-local``: one interpreter per calling thread, created on its first call and never freed while the
  thread lives (so it grows with the number of threads that ever called);
- ``onnx-shared``: one ONNX Runtime session called from every thread, as a reference (it is thread-safe).

For each model, candidate and thread count, every thread makes batch-1 predictions for a fixed time after a
warm-up; the result is the throughput of all threads together, the p50/p95 latency of one call (waiting for an
interpreter included), the process's CPU time per prediction (which a busy machine barely changes: it shows
the cost of oversubscribed, spinning threads) and how many interpreters the candidate created. Each figure is
the median over rounds, which interleave the candidates so that a busy neighbour slows all of them alike.
Then the batch-1 latency of one caller while another predicts big batches back to back (with one interpreter
the small call waits behind the big one, and the interpreter is resized at every switch). Separately, the
resident memory that each extra interpreter adds (its own tensors and XNNPACK's packed copy of the weights).
The results go to stdout as a markdown table and, with ``--out``, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from showcase import bench, runtime
from showcase import manifest as manifest_lib
from showcase.formats import ONNX, TFLITE

STRATEGIES = ("lock", "pool1", "pool2", "pool4", "thread-local", "onnx-shared")
POOL_SIZES = {"pool1": 1, "pool2": 2, "pool4": 4}
WARMUP_CALLS = 3


class LockedPredictor:
    """One interpreter behind a plain lock; measured here only, for comparison with the pool."""

    def __init__(self, path: Path):
        self._slot = runtime.InterpreterSlot(path)
        self._lock = threading.Lock()
        self.interpreters = 1

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return self._slot.predict(np.asarray(batch))


class ThreadLocalPredictor:
    """One interpreter per calling thread; measured here only, for comparison with the pool."""

    def __init__(self, path: Path):
        self._path = path
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.interpreters = 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        slot = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = runtime.InterpreterSlot(self._path)
            with self._count_lock:
                self.interpreters += 1
        return slot.predict(np.asarray(batch))


def make_predictor(model_name: str, strategy: str) -> Any:
    entry = manifest_lib.model_entry(model_name)
    if strategy == "onnx-shared":
        return runtime.load(model_name, ONNX)
    path = manifest_lib.artifact_path(entry, TFLITE)
    if strategy == "thread-local":
        return ThreadLocalPredictor(path)
    if strategy == "lock":
        return LockedPredictor(path)
    return runtime.TFLitePredictor(path, pool_size=POOL_SIZES[strategy])


def interpreters_created(predictor: Any) -> int | None:
    return getattr(predictor, "interpreters", None)


def run_threads(predictor: Any, batch: np.ndarray, threads: int, seconds: float) -> dict[str, float]:
    """Every thread predicts ``batch`` until the time is up; throughput and per-call latency of them all."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def worker(index: int) -> None:
        for _ in range(WARMUP_CALLS):
            predictor.predict(batch)
        start.wait()
        deadline = time.perf_counter() + seconds
        while (began := time.perf_counter()) < deadline:
            predictor.predict(batch)
            latencies[index].append(time.perf_counter() - began)

    workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in workers:
        thread.start()
    start.wait()
    began, cpu_began = time.perf_counter(), time.process_time()
    for thread in workers:
        thread.join()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    calls = np.concatenate([np.asarray(values) for values in latencies]) * 1000
    return {"throughput_per_s": len(calls) / elapsed, "p50_ms": float(np.percentile(calls, 50)),
            "p95_ms": float(np.percentile(calls, 95)), "cpu_ms_per_prediction": 1000 * cpu / len(calls),
            "calls": int(len(calls))}


def measure_strategies(model_name: str, strategies: list[str], thread_counts: list[int], seconds: float,
                       rounds: int) -> list[dict[str, Any]]:
    batch = runtime.example_batch(manifest_lib.model_entry(model_name), batch_size=1)
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    created: dict[tuple[str, int], int | None] = {}
    for _ in range(rounds):
        for threads in thread_counts:
            for strategy in strategies:
                predictor = make_predictor(model_name, strategy)  # Fresh, so that the pool starts small.
                runs.setdefault((strategy, threads), []).append(run_threads(predictor, batch, threads, seconds))
                created[(strategy, threads)] = interpreters_created(predictor)
    rows = []
    for (strategy, threads), results in runs.items():
        row = {"model": model_name, "strategy": strategy, "threads": threads,
               "interpreters": created[(strategy, threads)]}
        for key in ("throughput_per_s", "p50_ms", "p95_ms", "cpu_ms_per_prediction"):
            row[key] = statistics.median(result[key] for result in results)
        rows.append(row)
    return rows


def latency_beside_a_big_batch(predictor: Any, entry: dict[str, Any], seconds: float, big_batch: int
                               ) -> dict[str, float]:
    """Batch-1 latency of one caller while another predicts big batches back to back (a CSV being scored, say)."""
    small = runtime.example_batch(entry, batch_size=1)
    big = runtime.example_batch(entry, batch_size=big_batch, seed=1)
    predictor.predict(small)
    predictor.predict(big)
    stop = threading.Event()

    def predict_big_batches() -> None:
        while not stop.is_set():
            predictor.predict(big)

    neighbour = threading.Thread(target=predict_big_batches)
    neighbour.start()
    latencies = []
    deadline = time.perf_counter() + seconds
    while (began := time.perf_counter()) < deadline:
        predictor.predict(small)
        latencies.append(1000 * (time.perf_counter() - began))
    stop.set()
    neighbour.join()
    return {"p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95))}


def measure_blocking(model_name: str, strategies: list[str], seconds: float, rounds: int, big_batch: int
                     ) -> list[dict[str, Any]]:
    entry = manifest_lib.model_entry(model_name)
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(rounds):
        for strategy in strategies:
            predictor = make_predictor(model_name, strategy)
            runs.setdefault(strategy, []).append(latency_beside_a_big_batch(predictor, entry, seconds, big_batch))
    return [{"model": model_name, "strategy": strategy, "big_batch": big_batch,
             **{key: statistics.median(result[key] for result in results) for key in ("p50_ms", "p95_ms")}}
            for strategy, results in runs.items()]


def interpreter_megabytes(model_name: str, extra: int = 4) -> dict[str, float]:
    """Resident memory of the first TFLite interpreter and the mean of each of ``extra`` more."""
    entry = manifest_lib.model_entry(model_name)
    path = manifest_lib.artifact_path(entry, TFLITE)
    batch = runtime.example_batch(entry, batch_size=1)
    slots = []
    before = bench.resident_megabytes()
    slots.append(runtime.InterpreterSlot(path))
    slots[0].predict(batch)
    first = bench.resident_megabytes()
    for _ in range(extra):
        slots.append(runtime.InterpreterSlot(path))
        slots[-1].predict(batch)
    after = bench.resident_megabytes()
    return {"model": model_name, "file_mb": entry["artifacts"][TFLITE]["bytes"] / 1e6,
            "first_mb": first - before, "per_extra_mb": (after - first) / extra}


def markdown(rows: list[dict[str, Any]], blocking: list[dict[str, Any]], memory: list[dict[str, float]]) -> str:
    lines = ["| model | strategy | threads | interpreters | predictions/s | p50 ms | p95 ms | CPU ms / prediction |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in sorted(rows, key=lambda row: (row["model"], row["threads"], STRATEGIES.index(row["strategy"]))):
        interpreters = "—" if row["interpreters"] is None else row["interpreters"]
        lines.append(f"| {row['model']} | {row['strategy']} | {row['threads']} | {interpreters} | "
                     f"{row['throughput_per_s']:.0f} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | "
                     f"{row['cpu_ms_per_prediction']:.2f} |")
    lines += ["", "| model | strategy | batch-1 p50 ms beside big batches | p95 ms |", "|---|---|---:|---:|"]
    for row in blocking:
        lines.append(f"| {row['model']} | {row['strategy']} (batch {row['big_batch']} beside) | "
                     f"{row['p50_ms']:.2f} | {row['p95_ms']:.2f} |")
    lines += ["", "| model | .tflite file MB | first interpreter MB | each extra interpreter MB |",
              "|---|---:|---:|---:|"]
    for figures in memory:
        lines.append(f"| {figures['model']} | {figures['file_mb']:.1f} | {figures['first_mb']:.1f} | "
                     f"{figures['per_extra_mb']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=["digits", "flowers"])
    parser.add_argument("--strategies", nargs="*", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per candidate and thread count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-batch", type=int, default=16, help="the neighbour's batch in the blocking test")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    memory = [interpreter_megabytes(model_name) for model_name in args.models]
    rows = [row for model_name in args.models
            for row in measure_strategies(model_name, args.strategies, args.threads, args.seconds, args.rounds)]
    blocking_strategies = [name for name in args.strategies if name != "onnx-shared"]
    blocking = [row for model_name in args.models
                for row in measure_blocking(model_name, blocking_strategies, args.seconds, args.rounds, args.big_batch)]
    print(markdown(rows, blocking, memory))
    if args.out:
        # The load average says how busy the machine was with other work while this ran.
        machine = {"cpus": os.cpu_count(), "machine": platform.machine(), "load_average": os.getloadavg()}
        settings = {"interpreter_threads": runtime.NUM_THREADS, "seconds": args.seconds, "rounds": args.rounds}
        args.out.write_text(json.dumps({"machine": machine, "settings": settings, "strategies": rows,
                                        "beside_a_big_batch": blocking, "memory": memory}, indent=2) + "\n")


if __name__ == "__main__":
    main()
