"""The Formats page's extra export variants, built on demand into the git-ignored cache.

    python -m showcase.variants                       # every model: TFLite fp16, dynamic-range int8, ONNX int8
    python -m showcase.variants --models digits flowers

A model whose training script did not keep a full-int8 TFLite file (sentiment: see ``drop_int8_if_worse`` in
``training/train_sentiment.py``) also gets one here, so that the page compares every format for every model;
its page still serves only what ``models/`` holds.

The committed serving formats stay in ``models/``; the variants are derived from the committed SavedModel and
ONNX files with the package's export step (``showcase.export.export_variants``); ONNX int8 (and that full int8)
calibrate their activation ranges on ``calibration_inputs`` — the model's committed sample inputs, or inputs
drawn from its training period (forecast) or its latent distribution (GAN), never its evaluation data. They go
to ``.cache/variants/<model>/`` with a ``variants.json`` record (bytes, sha256, and the sha256 of the files they
were made from, so a retrained model's stale variants are rebuilt). Building needs TensorFlow for the TFLite
converter; the app runs this module in a subprocess so that its own process never imports it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from showcase import export, paths, runtime, tasks
from showcase import manifest as manifest_lib
from showcase.formats import ONNX, ONNX_INT8, SAVEDMODEL, TFLITE_DYNAMIC, TFLITE_FP16, TFLITE_INT8

VARIANT_FORMATS = tuple(export.VARIANT_FILES)
OPTIONAL_SERVING_FORMATS = tuple(export.OPTIONAL_SERVING_FILES)
# Bump when the way variants are made changes, so that cached ones are rebuilt.
RECIPE_VERSION = 2
# The committed files each variant is made from.
SOURCES = {TFLITE_FP16: SAVEDMODEL, TFLITE_DYNAMIC: SAVEDMODEL, ONNX_INT8: ONNX,
           TFLITE_INT8: SAVEDMODEL}


def calibration_inputs(model_name: str, entry: dict[str, Any]) -> np.ndarray:
    """The model's calibration inputs (``calibration_inputs`` in its module); for a model outside the registry,
    such as a test's tiny model, random inputs within its input spec."""
    if model_name in tasks.names():
        return tasks.task(model_name).calibration_inputs(entry)
    return runtime.example_batch(entry, batch_size=32)


def formats_to_build(entry: dict[str, Any]) -> tuple[str, ...]:
    """The variants, plus the optional serving formats that the model's training script did not keep."""
    return VARIANT_FORMATS + tuple(name for name in OPTIONAL_SERVING_FORMATS if name not in entry["artifacts"])


def _one_by_one(inputs: np.ndarray) -> list[np.ndarray]:
    return [inputs[index : index + 1] for index in range(len(inputs))]


def _record_path(model_name: str) -> Path:
    return paths.VARIANTS_DIR / model_name / "variants.json"


def built_variants(model_name: str, manifest: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """format -> {"bytes", "sha256", "file"} of the variants in the cache that are up to date with the
    committed model; stale or missing ones are left out."""
    entry = manifest_lib.model_entry(model_name, manifest)
    record_path = _record_path(model_name)
    if not record_path.exists():
        return {}
    records = json.loads(record_path.read_text())
    fresh = {}
    for format_name, record in records.items():
        source = entry["artifacts"].get(SOURCES.get(format_name, ""), {})
        path = record_path.parent / record["file"]
        fresh_record = record.get("recipe") == RECIPE_VERSION and record.get("source_sha256") == source.get("sha256")
        if fresh_record and path.exists():
            fresh[format_name] = record
    return fresh


def build(model_name: str, formats: tuple[str, ...] | None = None, manifest: dict[str, Any] | None = None
          ) -> dict[str, dict[str, Any]]:
    """Build the variants (default: ``formats_to_build``) that are missing or stale; return the records of all
    requested ones."""
    entry = manifest_lib.model_entry(model_name, manifest)
    formats = formats or formats_to_build(entry)
    records = built_variants(model_name, manifest)
    missing = [name for name in formats if name not in records]
    if missing:
        directory = paths.VARIANTS_DIR / model_name
        written = export.export_variants(
            manifest_lib.artifact_path(entry, SAVEDMODEL), manifest_lib.artifact_path(entry, ONNX), directory,
            lambda: _one_by_one(calibration_inputs(model_name, entry)), missing,
        )
        for format_name, path in written.items():
            size, sha256 = manifest_lib.file_digest(path)
            source = entry["artifacts"][SOURCES[format_name]]["sha256"]
            records[format_name] = {"file": path.name, "bytes": size, "sha256": sha256, "source_sha256": source,
                                    "recipe": RECIPE_VERSION}
        _record_path(model_name).write_text(json.dumps(records, indent=2) + "\n")
    return {name: records[name] for name in formats}


def load(model_name: str, format_name: str, manifest: dict[str, Any] | None = None) -> runtime.Predictor:
    """A predictor for a committed format (through the manifest's checks) or a built variant; either is safe to
    share between threads, as ``runtime.open_file`` makes every predictor (docs/concurrency.md)."""
    if format_name in manifest_lib.model_entry(model_name, manifest)["artifacts"]:
        return runtime.load(model_name, format_name, manifest)
    record = built_variants(model_name, manifest).get(format_name)
    if record is None:
        raise runtime.ArtifactError(f"The {model_name} model's {format_name} variant is not built yet. "
                                    f"Build it with `python -m showcase.variants --models {model_name}`.")
    path = _record_path(model_name).parent / record["file"]
    if manifest_lib.file_digest(path)[1] != record["sha256"]:
        raise runtime.ArtifactError(f"{path} was altered. Rebuild it with "
                                    f"`python -m showcase.variants --models {model_name}`.")
    return runtime.open_file(path, format_name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="model names (default: every model in the manifest)")
    parser.add_argument("--formats", nargs="*", choices=VARIANT_FORMATS + OPTIONAL_SERVING_FORMATS,
                        help="default: the variants, and a full-int8 TFLite file where the model has none")
    args = parser.parse_args(argv)
    manifest = manifest_lib.load_manifest()
    for model_name in args.models or manifest["models"]:
        for format_name, record in build(model_name, tuple(args.formats or ()), manifest).items():
            print(f"{model_name:12s} {format_name:15s} {record['bytes'] / 1e6:8.3f} MB")


if __name__ == "__main__":
    main()
