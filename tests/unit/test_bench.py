"""The benchmark produces every figure with sane values (timings themselves are checked by running it, not here)."""

import json

import numpy as np

from showcase import bench
from showcase import manifest as manifest_lib

FIELDS = {"bytes", "load_seconds", "first_inference_ms", "p50_ms", "p95_ms", "runs", "batch32_items_per_second",
          "memory_growth_mb"}


def test_example_batch_follows_the_input_spec():
    entry = manifest_lib.model_entry("digits")
    batch = bench.example_batch(entry, batch_size=4)
    assert batch.shape == (4, 28, 28, 1) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0
    token_entry = {"input": {"shape": [None, 16], "dtype": "int32", "range": [0, 99]}}
    tokens = bench.example_batch(token_entry, batch_size=2)
    assert tokens.shape == (2, 16) and tokens.dtype == np.int32 and tokens.max() <= 99


def test_measure_reports_every_field_with_sane_values():
    figures = bench.measure("digits", "tflite", runs=30)
    assert set(figures) == FIELDS
    assert figures["runs"] == 30
    assert 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert figures["load_seconds"] > 0 and figures["batch32_items_per_second"] > 0
    assert figures["bytes"] == manifest_lib.model_entry("digits")["artifacts"]["tflite"]["bytes"]


def test_isolated_measurement_runs_in_a_fresh_process():
    figures = bench.measure_isolated("digits", "onnx", runs=10)
    assert set(figures) == FIELDS


def test_a_partial_run_keeps_earlier_figures(tmp_path):
    output = tmp_path / "benchmarks.json"
    output.write_text(json.dumps({"models": {"a": {"formats": {"tflite": {"p50_ms": 1}, "onnx": {"p50_ms": 2}}},
                                             "b": {"formats": {"onnx": {"p50_ms": 3}}}},
                                  "app": {"cold_start": {"health_seconds": 1.0}}}))
    fresh = {"models": {"a": {"formats": {"onnx": {"p50_ms": 5}}}}}
    merged = bench.merge_with_previous(fresh, output)
    assert merged["models"]["a"]["formats"] == {"tflite": {"p50_ms": 1}, "onnx": {"p50_ms": 5}}
    assert merged["models"]["b"]["formats"] == {"onnx": {"p50_ms": 3}}
    assert merged["app"] == {"cold_start": {"health_seconds": 1.0}}


def test_machine_description_names_the_cpu_and_cores():
    machine = bench.machine()
    assert machine["cores"] >= 1 and machine["cpu"]
