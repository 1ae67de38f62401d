"""The benchmark produces every figure with sane values (timings themselves are checked by running it, not here)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from showcase import bench, paths, runtime
from showcase import manifest as manifest_lib
from showcase.export import export_all
from showcase.formats import FORMAT_LABELS

FIELDS = {"bytes", "load_seconds", "first_inference_ms", "p50_ms", "p95_ms", "runs", "batch32_items_per_second",
          "memory_growth_mb", "metric"}


def test_example_batch_follows_the_input_spec():
    entry = manifest_lib.model_entry("digits")
    batch = runtime.example_batch(entry, batch_size=4)
    assert batch.shape == (4, 28, 28, 1) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0
    token_entry = {"input": {"shape": [None, 16], "dtype": "int32", "range": [0, 99]}}
    tokens = runtime.example_batch(token_entry, batch_size=2)
    assert tokens.shape == (2, 16) and tokens.dtype == np.int32 and tokens.max() <= 99


def test_measure_reports_every_field_with_sane_values():
    figures = bench.measure("digits", "tflite", runs=30)
    assert set(figures) == FIELDS
    assert "value" in figures["metric"] or "unavailable" in figures["metric"]
    assert figures["runs"] == 30
    assert 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert figures["load_seconds"] > 0 and figures["batch32_items_per_second"] > 0
    assert figures["bytes"] == manifest_lib.model_entry("digits")["artifacts"]["tflite"]["bytes"]


@pytest.mark.slow
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


def write_tiny_model(models_dir, keep_full_int8=True):
    """A 6 -> 3 softmax MLP in every committed format (without full int8 unless ``keep_full_int8``, as the
    sentiment training script does), with its manifest entry, under ``models_dir``. Its middle layer has 4,096
    weights: the TFLite converter leaves tensors under 1,024 elements in float."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    calibration = np.random.default_rng(0).uniform(0, 1, (64, 6)).astype(np.float32)
    artifacts = export_all(model, models_dir / "tiny", lambda: np.array_split(calibration, 64))
    if not keep_full_int8:
        artifacts.pop("tflite_int8").unlink()
    records = {}
    for format_name, path in artifacts.items():
        size, sha256 = manifest_lib.file_digest(path)
        records[format_name] = {"path": path.relative_to(models_dir).as_posix(), "bytes": size, "sha256": sha256}
    entry = {"name": "tiny", "task": "test model", "artifacts": records, "training": {"command": "(test)"},
             "input": {"shape": [None, 6], "dtype": "float32", "range": [0.0, 1.0]}}
    manifest = {"schema_version": manifest_lib.SCHEMA_VERSION, "models": {"tiny": entry}}
    (models_dir / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.slow
@pytest.mark.parametrize("keep_full_int8", [True, False], ids=["int8 committed", "int8 built for the comparison"])
def test_the_benchmark_command_measures_every_format_of_a_tiny_model(tmp_path, keep_full_int8):
    write_tiny_model(tmp_path / "models", keep_full_int8)
    output = tmp_path / "benchmarks.json"
    environment = os.environ | {"SHOWCASE_MODELS_DIR": str(tmp_path / "models"),
                                "SHOWCASE_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run([sys.executable, "-m", "showcase.bench", "--runs", "40", "--skip-app", "--output", str(output)],
                   cwd=paths.REPO_ROOT, env=environment, check=True, capture_output=True, timeout=600)
    results = json.loads(output.read_text())
    assert results["machine"]["cores"] >= 1 and results["versions"]["onnxruntime"]
    formats = results["models"]["tiny"]["formats"]
    assert set(formats) == set(FORMAT_LABELS)  # the committed formats and the variants
    for format_name, figures in formats.items():
        assert set(figures) == FIELDS, format_name
        assert figures["runs"] == 40 and 0 < figures["p50_ms"] <= figures["p95_ms"] < 1000, format_name
        assert figures["bytes"] > 0 and figures["load_seconds"] > 0 and figures["first_inference_ms"] > 0
        assert figures["batch32_items_per_second"] > 0 and np.isfinite(figures["memory_growth_mb"])
        assert "no evaluation subset" in figures["metric"]["unavailable"].lower()
    # Dynamic-range TFLite stores int8 weights. (ONNX Runtime leaves this tiny model's MatMuls in float; the
    # real models' ONNX int8 variants are checked for size in tests/model/test_format_variants.py.)
    assert formats["tflite_dynamic"]["bytes"] < formats["tflite"]["bytes"]


def test_metric_changes_are_measured_against_the_reference_format():
    figures = {"savedmodel": {"metric": {"value": 0.99}}, "tflite_int8": {"metric": {"value": 0.985}},
               "onnx": {"metric": {"unavailable": "no data"}}, "tflite": {"error": "failed"}}
    bench.add_metric_deltas(figures)
    assert figures["tflite_int8"]["metric"]["delta_vs_reference"] == -0.005
    assert figures["savedmodel"]["metric"]["delta_vs_reference"] == 0
    assert "delta_vs_reference" not in figures["onnx"]["metric"]


def test_a_time_budget_skips_what_it_cannot_start():
    results = bench.run_benchmark(["digits"], ["tflite", "onnx"], runs=5, include_app=False, time_budget=1e-9)
    formats = results["models"]["digits"]["formats"]
    assert set(formats) == {"tflite", "onnx"} and all("skipped" in figures for figures in formats.values())


def test_app_only_keeps_the_models_and_stores_the_app_drivers_cold_start(tmp_path, monkeypatch):
    output = tmp_path / "benchmarks.json"
    output.write_text(json.dumps({"models": {"a": {"formats": {"onnx": {"p50_ms": 2}}}}, "load": {"rounds": {}}}))
    calls = []
    monkeypatch.setattr(bench, "run_appdriver", lambda *arguments: calls.append(arguments) or {"health_seconds": 1.5})
    bench.main(["--app-only", "--output", str(output)])
    results = json.loads(output.read_text())
    assert calls == [("cold-start",)]
    assert results["app"]["cold_start"] == {"health_seconds": 1.5} and results["app"]["created"]
    assert results["models"] == {"a": {"formats": {"onnx": {"p50_ms": 2}}}} and results["load"] == {"rounds": {}}


def test_load_passes_its_options_to_the_app_driver_and_merges_what_it_measured(tmp_path, monkeypatch):
    output = tmp_path / "benchmarks.json"
    output.write_text(json.dumps({"models": {"a": {"formats": {}}}, "app": {"x": 1}, "load": {"old": True}}))
    calls = []
    figures = {"load": {"rounds": {"1": {}}, "duration_seconds": 10.0},
               "upload_memory": {"single": {}, "duration_seconds": 5.0}}
    monkeypatch.setattr(bench, "run_appdriver", lambda *arguments: calls.append(arguments) or figures)
    bench.main(["--load", "--sessions", "1", "4", "--rounds-time-limit", "30", "--output", str(output)])
    assert calls == [("capacity", "--load", "--uploads", "--sessions", "1", "4", "--rounds-time-limit", "30.0")]
    assert json.loads(output.read_text()) == {"models": {"a": {"formats": {}}}, "app": {"x": 1}} | figures
    bench.main(["--load", "--skip-uploads", "--output", str(output)])
    assert calls[-1] == ("capacity", "--load")


def test_the_app_drivers_figures_come_back_from_its_own_process():
    # Neither the load test nor the upload measurement: the child prints its empty figures at once.
    assert bench.run_appdriver("capacity") == {}


def test_a_failing_app_driver_stops_the_benchmark_with_the_reason(capfd):
    with pytest.raises(SystemExit, match=r"`python -m appdriver no-such-command` failed \(exit status 2\)"):
        bench.run_appdriver("no-such-command")
    assert "invalid choice: 'no-such-command'" in capfd.readouterr().err


def imported_modules(path) -> set[str]:
    """Every module a Python file imports, by its full name (``from showcase import bench`` -> showcase.bench)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_measuring_never_imports_the_app_driver_and_variants_and_the_report_do_not_import_the_benchmark():
    for path in (paths.REPO_ROOT / "showcase").rglob("*.py"):
        assert not any(name.split(".")[0] == "appdriver" for name in imported_modules(path)), path
    for module in ("variants", "format_report"):
        assert "showcase.bench" not in imported_modules(paths.REPO_ROOT / "showcase" / f"{module}.py"), module
