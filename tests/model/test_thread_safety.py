"""One shared predictor under concurrent calls, as every Streamlit session thread uses it.

The app keeps one predictor per model and format in ``st.cache_resource``, so several session threads call
the same object at once. For every model and format, a handful of threads make a few hundred predictions on
mixed inputs (different batch sizes too, so that TFLite re-allocates its tensors between calls) and every
output must equal, bit for bit, the output of the same input predicted alone.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from showcase import manifest as manifest_lib
from showcase import runtime, variants

MANIFEST = manifest_lib.load_manifest()
THREADS = 6
BATCH_SIZES = (1, 3, 1, 2, 4, 1)
# Predictions per model and format, all threads together, fewer where one call costs more CPU (flowers'
# MobileNetV2 ~20-30 ms, the autoencoder's and the forecast's slowest formats ~10 ms, a digit ~0.5 ms), so that
# the whole file stays within about a minute on 2 cores.
CALLS = {"flowers": 48, "anomaly": 180, "forecast": 180}
DEFAULT_CALLS = 300


def served_cases() -> list:
    cases = []
    for model_name, entry in MANIFEST["models"].items():
        for format_name in entry["artifacts"]:
            marks = [pytest.mark.slow] if format_name == "savedmodel" else []
            cases.append(pytest.param(model_name, format_name, id=f"{model_name}-{format_name}", marks=marks))
    return cases


def variant_cases() -> list:
    return [pytest.param(model_name, format_name, id=f"{model_name}-{format_name}")
            for model_name, entry in MANIFEST["models"].items()
            for format_name in variants.formats_to_build(entry)]


def mixed_inputs(model_name: str) -> list[np.ndarray]:
    """Distinct inputs of several batch sizes, drawn within the model's input range."""
    entry = manifest_lib.model_entry(model_name, MANIFEST)
    return [runtime.example_batch(entry, batch_size=size, seed=seed) for seed, size in enumerate(BATCH_SIZES)]


def predict_concurrently(predictor, inputs: list[np.ndarray], calls: int, threads: int = THREADS
                         ) -> tuple[list, list]:
    """Run ``calls`` predictions over ``threads`` threads; return (exceptions, mismatches)."""
    expected = [predictor.predict(batch) for batch in inputs]
    errors, mismatches = [], []
    start = threading.Barrier(threads)

    def worker(thread_index: int) -> None:
        order = np.random.default_rng(thread_index).integers(0, len(inputs), size=calls // threads)
        start.wait()
        for index in order:
            try:
                output = predictor.predict(inputs[index])
            except Exception as error:  # Collected, so that the test reports how many calls failed and why.
                errors.append(f"{type(error).__name__}: {error}")
                continue
            if not np.array_equal(output, expected[index]):
                mismatches.append(int(index))

    workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return errors, mismatches


def check_shared_predictor(model_name: str, predictor) -> None:
    calls = CALLS.get(model_name, DEFAULT_CALLS)
    errors, mismatches = predict_concurrently(predictor, mixed_inputs(model_name), calls)
    first_error = f", the first: {errors[0]}" if errors else ""
    assert not errors and not mismatches, (
        f"of {calls} concurrent calls, {len(mismatches)} returned another output than the same input predicted "
        f"alone and {len(errors)} raised{first_error}")


@pytest.mark.parametrize(("model_name", "format_name"), served_cases())
def test_shared_served_predictor_gives_every_caller_its_own_result(model_name, format_name):
    check_shared_predictor(model_name, runtime.load(model_name, format_name, MANIFEST))


@pytest.mark.parametrize(("model_name", "format_name"), variant_cases())
def test_shared_variant_predictor_gives_every_caller_its_own_result(model_name, format_name):
    if format_name not in variants.built_variants(model_name, MANIFEST):
        pytest.skip(f"{format_name} of {model_name} is not built; `python -m showcase.variants` builds it")
    check_shared_predictor(model_name, variants.load(model_name, format_name, MANIFEST))


def test_a_pool_never_grows_past_its_size_however_many_threads_call():
    """Sessions come and go, each with its own thread; the interpreters they share stay bounded."""
    predictor = runtime.load("digits", "tflite", MANIFEST)
    errors, mismatches = predict_concurrently(predictor, mixed_inputs("digits"), DEFAULT_CALLS, threads=16)
    assert not errors and not mismatches
    assert 1 <= predictor.interpreters <= runtime.INTERPRETERS_PER_MODEL


def wait_until(condition, what: str, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.005)


def test_waiting_callers_are_served_first_come_first_served():
    """A caller that returns the interpreter and asks again at once queues behind those already waiting."""
    entry = manifest_lib.model_entry("digits", MANIFEST)
    pool = runtime.InterpreterPool(manifest_lib.artifact_path(entry, "tflite"), size=1)
    served, waiters = [], []

    def borrow(name: str) -> None:
        with pool.borrow():
            served.append(name)

    with pool.borrow():
        for name in ("first", "second", "third"):
            waiters.append(threading.Thread(target=borrow, args=(name,)))
            waiters[-1].start()
            wait_until(lambda: pool.waiting == len(waiters), f"{name} is queued")
    borrow("the caller that just gave it back")
    for thread in waiters:
        thread.join()
    assert served == ["first", "second", "third", "the caller that just gave it back"]
