"""One export step shared by every training script.

``export_all`` turns a trained Keras model into the serving formats the runtime knows: a SavedModel
(``model.export``), TFLite fp32 and full-integer int8 (from that SavedModel, with representative data),
and ONNX (Keras' own ONNX export; ``tf2onnx.convert.from_keras`` does not support Keras 3 models).
TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterable

import numpy as np


def export_savedmodel(model, directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    model.export(str(directory), format="tf_saved_model", verbose=False)
    return directory


def export_tflite(savedmodel_dir: Path, path: Path) -> Path:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel_dir))
    path.write_bytes(converter.convert())
    return path


def export_tflite_int8(
    savedmodel_dir: Path, path: Path, representative_batches: Callable[[], Iterable[np.ndarray]]
) -> Path:
    """Full-integer quantization: int8 weights and activations, calibrated on representative inputs.

    Inputs and outputs stay float32 (the converter adds quantize/dequantize ops at the edges), so the
    runtime feeds this artifact exactly like the fp32 one.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel_dir))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([batch] for batch in representative_batches())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path.write_bytes(converter.convert())
    return path


def export_onnx(model, path: Path) -> Path:
    model.export(str(path), format="onnx", verbose=False)
    return path


def export_all(
    model,
    output_dir: Path,
    representative_batches: Callable[[], Iterable[np.ndarray]] | None = None,
) -> dict[str, Path]:
    """Write every serving format of ``model`` into ``output_dir``; return format name -> path.

    ``representative_batches`` yields float32 batches of real training inputs (a few hundred samples in
    all) for int8 calibration; without it, no int8 artifact is written.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    savedmodel_dir = export_savedmodel(model, output_dir / "savedmodel")
    artifacts = {
        "savedmodel": savedmodel_dir,
        "tflite": export_tflite(savedmodel_dir, output_dir / "model.tflite"),
        "onnx": export_onnx(model, output_dir / "model.onnx"),
    }
    if representative_batches is not None:
        artifacts["tflite_int8"] = export_tflite_int8(
            savedmodel_dir, output_dir / "model_int8.tflite", representative_batches
        )
    return artifacts
