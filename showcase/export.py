"""One export step shared by every training script.

``export_all`` turns a trained Keras model into the serving formats the runtime knows: a SavedModel
(``model.export``), TFLite fp32 and full-integer int8 (from that SavedModel, with representative data),
and ONNX (Keras' own ONNX export; ``tf2onnx.convert.from_keras`` does not support Keras 3 models).
Those are committed in ``models/``. ``export_variants`` writes the Formats page's comparison variants —
TFLite fp16, TFLite dynamic-range int8 and ONNX int8 — from a SavedModel and an ONNX file;
``showcase.variants`` calls it on demand with the committed files, into the git-ignored cache.
TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from showcase.formats import ONNX, ONNX_INT8, SAVEDMODEL, TFLITE, TFLITE_DYNAMIC, TFLITE_FP16, TFLITE_INT8


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


def export_tflite_fp16(savedmodel_dir: Path, path: Path) -> Path:
    """Float16 weights (half the fp32 size); the interpreter computes in float32 on CPU."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel_dir))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    path.write_bytes(converter.convert())
    return path


def export_tflite_dynamic_range(savedmodel_dir: Path, path: Path) -> Path:
    """Dynamic-range quantization: int8 weights, activations quantized on the fly; needs no data."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(savedmodel_dir))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path.write_bytes(converter.convert())
    return path


# Rows per calibration run of ONNX Runtime. Its min/max calibration takes the extremes over all runs, so the
# ranges do not depend on how the inputs are batched, but one run per row made the forecast's unrolled LSTM
# take over a minute.
CALIBRATION_ROWS = 64


def _stacked(batches: Iterable[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """The rows of ``batches`` again, in batches of up to ``rows``."""
    pending: list[np.ndarray] = []
    pending_rows = 0
    for batch in batches:
        pending.append(batch)
        pending_rows += len(batch)
        if pending_rows >= rows:
            yield np.concatenate(pending)
            pending, pending_rows = [], 0
    if pending:
        yield np.concatenate(pending)


def export_onnx_int8(onnx_path: Path, path: Path, calibration_batches: Iterable[np.ndarray]) -> Path:
    """ONNX Runtime's static quantization of an fp32 ONNX model: int8 weights (per channel) and uint8
    activations, in QDQ form, with activation ranges calibrated on representative inputs.

    Dynamic quantization (no data) was tried first: on the MobileNetV2 flowers model it ran 12× slower
    than fp32 (ConvInteger) and lost 32 accuracy points, because per-batch activation ranges suit
    depthwise convolutions poorly.
    """
    import onnxruntime
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    input_name = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Batches(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(_stacked(calibration_batches, CALIBRATION_ROWS))

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {input_name: batch}

    quantize_static(onnx_path, path, Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    return path


VARIANT_FILES = {
    TFLITE_FP16: "model_fp16.tflite",
    TFLITE_DYNAMIC: "model_dynamic_int8.tflite",
    ONNX_INT8: "model_int8.onnx",
}
# A serving format that ``export_variants`` can also write, for a model whose training script did not keep it.
OPTIONAL_SERVING_FILES = {TFLITE_INT8: "model_int8.tflite"}


def export_variants(
    savedmodel_dir: Path,
    onnx_path: Path,
    output_dir: Path,
    calibration_batches: Callable[[], Iterable[np.ndarray]],
    formats: Iterable[str] | None = None,
) -> dict[str, Path]:
    """Write the comparison variants (all of ``VARIANT_FILES``, or ``formats``, which may also name those of
    ``OPTIONAL_SERVING_FILES``) into ``output_dir``.

    ``calibration_batches`` yields representative float32 (or int32) model inputs for the int8 formats that
    quantize activations (ONNX int8, TFLite full int8).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    writers = {
        TFLITE_FP16: lambda path: export_tflite_fp16(savedmodel_dir, path),
        TFLITE_DYNAMIC: lambda path: export_tflite_dynamic_range(savedmodel_dir, path),
        ONNX_INT8: lambda path: export_onnx_int8(onnx_path, path, calibration_batches()),
        TFLITE_INT8: lambda path: export_tflite_int8(savedmodel_dir, path, calibration_batches),
    }
    files = VARIANT_FILES | OPTIONAL_SERVING_FILES
    return {name: writers[name](output_dir / files[name]) for name in formats or VARIANT_FILES}


def export_onnx(model, path: Path) -> Path:
    model.export(str(path), format="onnx", verbose=False)
    return path


def export_onnx_from_savedmodel(savedmodel_dir: Path, path: Path, opset: int = 17) -> Path:
    """ONNX through ``python -m tf2onnx.convert --saved-model`` (its serving signature), for SavedModels
    that were not written by Keras 3 (e.g. tf_keras models holding TF Hub layers)."""
    command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(savedmodel_dir),
               "--output", str(path), "--opset", str(opset)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"tf2onnx failed:\n{completed.stderr[-4000:]}")
    return path


def export_serving_savedmodel(model, directory: Path, input_signature) -> Path:
    """A SavedModel with a ``serve`` function (the runtime's entry point) for any callable TF model.

    Keras 3 models use ``model.export``; this is the path for tf_keras models (e.g. around
    ``tensorflow_hub.KerasLayer``) and plain ``tf.Module``s. ``input_signature`` is a list with ONE
    ``tf.TensorSpec``.
    """
    import tensorflow as tf

    shutil.rmtree(directory, ignore_errors=True)
    root = tf.Module()
    # Track the variables, not the model: the SavedModel then holds only the serving function's graph,
    # not one traced function per layer for Keras to revive (several MB for a MobileNet).
    root.model_variables = list(model.variables)
    root.serve = tf.function(lambda inputs: model(inputs, training=False), input_signature=input_signature)
    tf.saved_model.save(root, str(directory), signatures={"serving_default": root.serve})
    return directory


def export_all_from_savedmodel(
    savedmodel_dir: Path,
    output_dir: Path,
    representative_batches: Callable[[], Iterable[np.ndarray]] | None = None,
    onnx_export: Callable[[Path], Path] | None = None,
) -> dict[str, Path]:
    """Convert a SavedModel already written (by ``model.export`` or ``export_serving_savedmodel``) into
    model.tflite, model_int8.tflite and model.onnx beside it; return format name -> path.

    ``onnx_export`` writes the ONNX file to the path it is given; by default tf2onnx converts the SavedModel.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = output_dir / "model.onnx"
    artifacts = {
        SAVEDMODEL: savedmodel_dir,
        TFLITE: export_tflite(savedmodel_dir, output_dir / "model.tflite"),
        ONNX: onnx_export(onnx_path) if onnx_export else export_onnx_from_savedmodel(savedmodel_dir, onnx_path),
    }
    if representative_batches is not None:
        artifacts[TFLITE_INT8] = export_tflite_int8(
            savedmodel_dir, output_dir / "model_int8.tflite", representative_batches
        )
    return artifacts


def export_all(
    model,
    output_dir: Path,
    representative_batches: Callable[[], Iterable[np.ndarray]] | None = None,
) -> dict[str, Path]:
    """Write every serving format of a Keras 3 ``model`` into ``output_dir``; return format name -> path.

    ``representative_batches`` yields float32 batches of real training inputs (a few hundred samples in
    all) for int8 calibration; without it, no int8 artifact is written.
    """
    savedmodel_dir = export_savedmodel(model, output_dir / "savedmodel")
    return export_all_from_savedmodel(
        savedmodel_dir, output_dir, representative_batches, onnx_export=lambda path: export_onnx(model, path)
    )
