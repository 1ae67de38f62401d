"""One live benchmark at a time for the whole server: the Formats page's "Run on this machine".

A benchmark measures each format in a process of its own (SavedModel imports TensorFlow, about 600 MB), so
two runs at once share the CPU and memory, and each reports the other's load as slowness. ``LIVE`` is the
one coordinator of this process (a module-level object, so every session thread shares it):

    run, started = LIVE.start(Request(("digits",), ("tflite", "onnx"), budget=60))

The first ``start`` measures in a background thread; a ``start`` while that runs returns the running one
with ``started`` False, for every visitor to watch (``run.status_text()``, ``run.progress``); finished runs
are kept (``LIVE.run(run_id)``) so that each visitor who watched one sees its results. A run is stopped,
its child processes killed with their process groups, when ``stop`` is called, and when it overruns its
time budget by ``OVERRUN_SECONDS``; ``showcase.bench`` kills them when the process exits.

``SHOWCASE_LIVE_BENCHMARK=off`` turns the live run off (small hosts): ``disabled_reason`` says so.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from showcase import bench
from showcase.formats import FORMAT_LABELS, ONNX, SAVEDMODEL, TFLITE
from showcase.manifest import utc_now

ENV_VAR = "SHOWCASE_LIVE_BENCHMARK"
OFF_VALUES = frozenset({"off", "0", "false", "no"})
LIVE_RUNS = 100
# The time budgets a visitor picks from, and the one picked at first.
BUDGETS_SECONDS = (20, 60, 120, 300)
DEFAULT_BUDGET_SECONDS = 60
# What the form picks at first: one small model in the three committed serving formats.
DEFAULT_MODEL = "digits"
DEFAULT_FORMATS = (SAVEDMODEL, TFLITE, ONNX)
# A time budget only stops new measurements from starting; the one under way (a variant build can take a
# minute) finishes. Past the budget by this much, the run is stopped and its processes killed.
OVERRUN_SECONDS = 180.0
KEPT_RUNS = 8
# How long ``stop`` keeps killing a run's processes while it waits for the run's thread to end.
STOP_WAIT_SECONDS = 30.0
MOST_NAMED_PER_REASON = 8

Workload = Callable[..., dict[str, Any]]


class RunStopped(Exception):
    """Raised inside a run's thread, at its next step, once the run has been asked to stop."""


@dataclass(frozen=True)
class Request:
    """What a run measures: model names, format names (``FORMAT_LABELS`` keys) and a time budget in seconds."""

    models: tuple[str, ...]
    formats: tuple[str, ...]
    budget: float

    def description(self) -> str:
        formats = ", ".join(FORMAT_LABELS.get(name, name) for name in self.formats)
        return f"{', '.join(self.models)} in {formats}, within a {self.budget:.0f} s budget"


@dataclass
class Run:
    """One live benchmark: its request, where it has got to, and its results or the reason it stopped."""

    id: int
    request: Request
    started: float
    clock: Callable[[], float] = time.monotonic
    progress: tuple[int, int, str] = (0, 1, "Starting…")
    results: dict[str, Any] | None = None
    error: str | None = None
    finished: float | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    stop_reason: str = "it was stopped"
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.finished is None

    def elapsed(self) -> float:
        return (self.finished if self.finished is not None else self.clock()) - self.started

    def status_text(self) -> str:
        """"A run is in progress (started 12 s ago, about 48 s left)." while it runs."""
        elapsed = self.elapsed()
        if not self.running:
            return f"The run finished after {elapsed:.0f} s."
        left = self.request.budget - elapsed
        rest = f"about {left:.0f} s left" if left >= 0.5 else "past its budget, finishing its last measurement"
        return f"A run is in progress (started {elapsed:.0f} s ago, {rest})."

    def fraction_done(self) -> float:
        done, total, _ = self.progress
        return min(1.0, max(0.0, done / total)) if total else 0.0


class LiveBenchmark:
    """Runs at most one benchmark at a time and keeps the last few results; safe to share between threads.

    ``workload`` has ``showcase.bench.run_benchmark``'s signature; unit tests pass a stand-in.
    """

    def __init__(self, workload: Workload | None = None, overrun_seconds: float = OVERRUN_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._workload = workload or bench.run_benchmark
        self._overrun_seconds = overrun_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._active: Run | None = None
        self._finished: OrderedDict[int, Run] = OrderedDict()

    def start(self, request: Request) -> tuple[Run, bool]:
        """Start a run, or return the one already running; ``(run, whether this call started it)``."""
        with self._lock:
            if self._active is not None:
                return self._active, False
            run = Run(next(self._ids), request, self._clock(), clock=self._clock)
            run.thread = threading.Thread(target=self._execute, args=(run,), name=f"live-benchmark-{run.id}",
                                          daemon=True)
            self._active = run
        run.thread.start()
        return run, True

    def active(self) -> Run | None:
        """The run in progress, or None."""
        with self._lock:
            return self._active

    def run(self, run_id: int | None) -> Run | None:
        """The run with this id, running or among the last ``KEPT_RUNS`` finished ones; None otherwise."""
        with self._lock:
            if self._active is not None and self._active.id == run_id:
                return self._active
            return self._finished.get(run_id)

    def stop(self, run: Run, reason: str = "it was stopped") -> None:
        """Stop a run and kill its child processes; returns once its thread has ended (or after a timeout)."""
        if not run.stop_requested.is_set():
            run.stop_reason = reason
            run.stop_requested.set()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        # The run may start one more process between a kill and its next step, so kill until its thread ends.
        while run.thread is not None and run.thread.is_alive() and time.monotonic() < deadline:
            bench.kill_children()
            run.thread.join(0.1)

    def stop_active(self, reason: str = "it was stopped") -> None:
        run = self.active()
        if run is not None:
            self.stop(run, reason)

    def _execute(self, run: Run) -> None:
        limit = run.request.budget + self._overrun_seconds
        watchdog = threading.Timer(limit, self.stop, args=(run, f"it was still running {limit:.0f} s after "
                                                                 f"it started, {self._overrun_seconds:.0f} s past "
                                                                 "its time budget"))
        watchdog.daemon = True
        watchdog.start()
        try:
            run.results = self._measure(run)
        except RunStopped:
            run.error = f"The run was stopped: {run.stop_reason}."
        except Exception as error:  # The page shows why; the server and the next run carry on.
            run.error = f"The run failed: {error}"
        finally:
            watchdog.cancel()
            bench.kill_children()
            self._finish(run)

    def _measure(self, run: Run) -> dict[str, Any]:
        request = run.request
        if not request.models or not request.formats:
            # ``run_benchmark`` reads an empty list as "every model" or "every format".
            return {"created": utc_now(), "machine": bench.machine(), "models": {}}

        def progress(done: int, total: int, label: str) -> None:
            if run.stop_requested.is_set():
                raise RunStopped
            run.progress = (done, total, label)

        return self._workload(
            list(request.models), list(request.formats), runs=LIVE_RUNS, include_app=False,
            time_budget=request.budget, progress=progress, format_time_limit=min(5.0, request.budget / 4),
        )

    def _finish(self, run: Run) -> None:
        with self._lock:
            run.finished = self._clock()
            if self._active is run:
                self._active = None
            self._finished[run.id] = run
            while len(self._finished) > KEPT_RUNS:
                self._finished.popitem(last=False)


LIVE = LiveBenchmark()


def default_models(model_names: list[str]) -> list[str]:
    """The models the form picks at first: digits, or the first model where there is no digits model."""
    return [DEFAULT_MODEL] if DEFAULT_MODEL in model_names else model_names[:1]


def default_formats(offered: list[str]) -> list[str]:
    """The formats the form picks at first: those of ``DEFAULT_FORMATS`` that this server offers."""
    return [name for name in DEFAULT_FORMATS if name in offered]


def disabled_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """One line saying that the operator turned the live run off, or None when it is on (the default)."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if value not in OFF_VALUES:
        return None
    return (f"Live measurement is turned off on this server ({ENV_VAR}={value}), which keeps a small host "
            "responsive: the figures above are the committed benchmark's.")


def problems_line(results: dict[str, Any]) -> str | None:
    """Every measurement a run skipped or could not make, folded into one line grouped by reason; None if none."""
    by_reason: dict[str, list[str]] = {}
    for model_name, model_results in results.get("models", {}).items():
        if model_results.get("variants_error"):
            reason = f"the variants could not be built ({model_results['variants_error']})"
            by_reason.setdefault(reason, []).append(model_name)
        for format_name, figures in model_results.get("formats", {}).items():
            if "p50_ms" not in figures:
                reason = str(figures.get("skipped") or figures.get("error") or "no figures came back")
                label = FORMAT_LABELS.get(format_name, format_name)
                # A reason that names the format already ("SavedModel (TensorFlow) needs …") needs only the model.
                by_reason.setdefault(reason, []).append(
                    model_name if reason.startswith(label) else f"{model_name} · {label}")
    if not by_reason:
        return None
    count = sum(len(names) for names in by_reason.values())
    parts = [f"{reason.rstrip('.')} — {_named(names)}" for reason, names in by_reason.items()]
    noun = "measurement" if count == 1 else "measurements"
    return f"{count} {noun} skipped or failed: " + "; ".join(parts) + "."


def _named(names: list[str]) -> str:
    if len(names) <= MOST_NAMED_PER_REASON:
        return ", ".join(names)
    return ", ".join(names[:MOST_NAMED_PER_REASON]) + f" and {len(names) - MOST_NAMED_PER_REASON} more"
