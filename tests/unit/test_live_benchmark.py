"""One live benchmark at a time: the coordinator, with a stand-in workload (tests/model measures for real)."""

from __future__ import annotations

import threading

import pytest

from showcase import live_benchmark
from showcase.live_benchmark import LiveBenchmark, Request

REQUEST = Request(("digits",), ("tflite", "onnx"), budget=60.0)


class HeldWorkload:
    """Stands in for ``bench.run_benchmark``: reports progress until released, then returns one figure per pair."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.release = threading.Event()

    def __call__(self, models, formats, runs, include_app, time_budget, progress, format_time_limit):
        self.calls.append((tuple(models), tuple(formats), time_budget))
        while not self.release.wait(0.01):
            progress(0, 2, "measuring")
        progress(2, 2, "done")
        return {"models": {model: {"formats": {name: {"p50_ms": 1.0} for name in formats}} for model in models}}


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def workload():
    held = HeldWorkload()
    yield held
    held.release.set()


def finish(coordinator: LiveBenchmark, run: live_benchmark.Run, workload: HeldWorkload) -> None:
    workload.release.set()
    run.thread.join(10)
    assert not run.running


def test_two_concurrent_starts_make_one_run(workload):
    coordinator = LiveBenchmark(workload)
    barrier = threading.Barrier(2)
    outcomes = []

    def click(request):
        barrier.wait()
        outcomes.append(coordinator.start(request))

    clicks = [threading.Thread(target=click, args=(request,))
              for request in (REQUEST, Request(("flowers",), ("onnx",), budget=20.0))]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(10)

    (first_run, first_started), (second_run, second_started) = outcomes
    assert first_run is second_run and sorted([first_started, second_started]) == [False, True]
    finish(coordinator, first_run, workload)
    assert len(workload.calls) == 1 and workload.calls[0] == (first_run.request.models, first_run.request.formats,
                                                              first_run.request.budget)


def test_a_click_during_a_run_gets_the_running_one_with_its_own_choice(workload):
    coordinator = LiveBenchmark(workload)
    run, started = coordinator.start(REQUEST)
    again, started_again = coordinator.start(Request(("gan",), ("tflite_int8",), budget=300.0))
    assert started and not started_again and again is run and again.request == REQUEST
    assert coordinator.active() is run and coordinator.run(run.id) is run
    finish(coordinator, run, workload)


def test_the_status_says_when_the_run_started_and_how_long_is_left(workload):
    clock = FakeClock()
    coordinator = LiveBenchmark(workload, clock=clock)
    run, _ = coordinator.start(REQUEST)
    clock.now += 12.2
    assert run.status_text() == "A run is in progress (started 12 s ago, about 48 s left)."
    clock.now += 60
    assert run.status_text() == ("A run is in progress (started 72 s ago, past its budget, finishing its last "
                                 "measurement).")
    finish(coordinator, run, workload)
    assert run.status_text() == "The run finished after 72 s."


def test_the_progress_of_the_run_is_visible_while_it_runs(workload):
    coordinator = LiveBenchmark(workload)
    run, _ = coordinator.start(REQUEST)
    for _ in range(500):
        if run.progress[2] == "measuring":
            break
        threading.Event().wait(0.01)
    assert run.progress == (0, 2, "measuring") and run.fraction_done() == 0.0
    finish(coordinator, run, workload)
    assert run.fraction_done() == 1.0


def test_a_finished_run_is_kept_and_the_next_click_starts_a_new_one(workload):
    coordinator = LiveBenchmark(workload)
    run, _ = coordinator.start(REQUEST)
    finish(coordinator, run, workload)
    assert coordinator.active() is None
    assert coordinator.run(run.id).results["models"]["digits"]["formats"]["onnx"] == {"p50_ms": 1.0}
    workload.release.clear()
    next_run, started = coordinator.start(REQUEST)
    assert started and next_run.id != run.id
    finish(coordinator, next_run, workload)
    assert len(workload.calls) == 2


def test_only_the_last_few_runs_are_kept(workload):
    coordinator = LiveBenchmark(workload)
    workload.release.set()
    runs = []
    for _ in range(live_benchmark.KEPT_RUNS + 2):
        run, started = coordinator.start(REQUEST)
        assert started
        run.thread.join(10)
        runs.append(run)
    assert coordinator.run(runs[0].id) is None and coordinator.run(runs[-1].id) is runs[-1]


def test_a_stopped_run_says_why_and_frees_the_server(workload):
    coordinator = LiveBenchmark(workload)
    run, _ = coordinator.start(REQUEST)
    coordinator.stop(run, "the operator stopped it")
    assert not run.running and run.results is None
    assert run.error == "The run was stopped: the operator stopped it."
    assert coordinator.active() is None and coordinator.start(REQUEST)[1]
    coordinator.stop_active()


def test_a_run_far_past_its_budget_is_stopped(workload):
    coordinator = LiveBenchmark(workload, overrun_seconds=0.05)
    run, _ = coordinator.start(Request(("digits",), ("tflite",), budget=0.05))
    run.thread.join(10)
    assert not run.running and "past its time budget" in run.error
    assert coordinator.active() is None


def test_a_failing_workload_is_reported_and_the_next_run_can_start():
    def broken(*args, **kwargs):
        raise OSError("disk full")

    coordinator = LiveBenchmark(broken)
    run, _ = coordinator.start(REQUEST)
    run.thread.join(10)
    assert run.error == "The run failed: disk full"
    assert coordinator.start(REQUEST)[1]


def test_an_empty_choice_measures_nothing(workload):
    coordinator = LiveBenchmark(workload)
    run, _ = coordinator.start(Request(("digits",), (), budget=20.0))
    run.thread.join(10)
    assert run.results["models"] == {} and workload.calls == []


@pytest.mark.parametrize("value", ["off", "OFF", " 0 ", "false", "no"])
def test_the_operator_turns_the_live_run_off(value):
    reason = live_benchmark.disabled_reason({live_benchmark.ENV_VAR: value})
    assert reason.startswith("Live measurement is turned off on this server (SHOWCASE_LIVE_BENCHMARK=")
    assert "committed" in reason and "\n" not in reason


@pytest.mark.parametrize("environ", [{}, {"SHOWCASE_LIVE_BENCHMARK": "on"}, {"SHOWCASE_LIVE_BENCHMARK": ""}])
def test_the_live_run_is_on_by_default(environ):
    assert live_benchmark.disabled_reason(environ) is None


def test_skipped_measurements_fold_into_one_line():
    budget = {"skipped": "the 20 s time budget ran out"}
    results = {"models": {
        "digits": {"formats": {"tflite": {"p50_ms": 0.4}, "tflite_fp16": budget, "onnx_int8": budget,
                               "savedmodel": {"skipped": "SavedModel (TensorFlow) needs tensorflow, which is not "
                                                         "installed on this server."}}},
        "flowers": {"formats": {name: budget for name in ("tflite", "tflite_fp16", "tflite_dynamic",
                                                          "tflite_int8", "onnx", "onnx_int8", "savedmodel")},
                    "variants_error": "out of memory"},
        "gan": {"formats": {"onnx": {"error": "exit status 1"}}},
    }}
    line = live_benchmark.problems_line(results)
    assert line.startswith("12 measurements skipped or failed: the 20 s time budget ran out — digits · TFLite fp16 "
                           "(LiteRT), digits · ONNX int8 (ONNX Runtime), flowers · TFLite fp32 (LiteRT)")
    assert "and 1 more; " in line and "which is not installed on this server — digits; " in line
    assert "the variants could not be built (out of memory) — flowers; " in line
    assert line.endswith("; exit status 1 — gan · ONNX fp32 (ONNX Runtime).")
    assert "\n" not in line


def test_nothing_to_fold_when_every_measurement_came_back():
    assert live_benchmark.problems_line({"models": {"digits": {"formats": {"tflite": {"p50_ms": 0.4}}}}}) is None


def test_the_form_picks_digits_in_the_committed_serving_formats_this_server_offers():
    assert live_benchmark.default_models(["flowers", "digits"]) == ["digits"]
    assert live_benchmark.default_models(["flowers", "gan"]) == ["flowers"]
    assert live_benchmark.default_models([]) == []
    assert live_benchmark.default_formats(["tflite", "tflite_int8", "onnx"]) == ["tflite", "onnx"]
    assert live_benchmark.DEFAULT_BUDGET_SECONDS in live_benchmark.BUDGETS_SECONDS
