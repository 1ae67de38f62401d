"""One runtime over three serving formats.

``load(model_name, format_name)`` returns a predictor with the same ``predict(batch) -> ndarray``
whatever the format:

- ``savedmodel``: TensorFlow, imported only when this format is asked for (it is slow to import and
  heavy in memory, so the app never pays for it unless a visitor picks it);
- ``tflite`` and ``tflite_int8``: LiteRT (``ai_edge_litert``), the successor of ``tf.lite.Interpreter``;
- ``onnx``: ONNX Runtime.

Every predictor takes a float or integer numpy batch laid out as the manifest's ``input`` spec says,
quantizes it itself where the artifact wants integers, and returns float32 outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from showcase import manifest as manifest_lib

# Threads per predictor. Fixed so that latencies are comparable between formats and runs.
NUM_THREADS = 2


class ArtifactError(RuntimeError):
    """An artifact is missing, does not match the manifest, or cannot be loaded."""


class Predictor(Protocol):
    format_name: str

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class SavedModelPredictor:
    format_name = "savedmodel"

    def __init__(self, path: Path):
        import tensorflow as tf  # Lazy: only this format needs TensorFlow.

        self._tf = tf
        # Keep the loaded object: its variables are freed with it, and `serve` alone does not hold them.
        self._loaded = tf.saved_model.load(str(path))
        self._serve = self._loaded.serve
        self._input_dtype = self._serve.input_signature[0].dtype.as_numpy_dtype

    def predict(self, batch: np.ndarray) -> np.ndarray:
        output = self._serve(self._tf.constant(np.asarray(batch, dtype=self._input_dtype)))
        return np.asarray(output, dtype=np.float32)


class TFLitePredictor:
    def __init__(self, path: Path, format_name: str = "tflite"):
        from ai_edge_litert.interpreter import Interpreter

        self.format_name = format_name
        self._interpreter = Interpreter(model_path=str(path), num_threads=NUM_THREADS)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._input_shape = tuple(self._input["shape"])

    def _resize_for(self, shape: tuple[int, ...]) -> None:
        """Reallocate the interpreter's tensors when the batch shape changes (a cheap no-op otherwise)."""
        if shape != self._input_shape:
            self._interpreter.resize_tensor_input(self._input["index"], list(shape))
            self._interpreter.allocate_tensors()
            self._input_shape = shape

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch)
        self._resize_for(batch.shape)
        self._interpreter.set_tensor(self._input["index"], _quantize(batch, self._input))
        self._interpreter.invoke()
        return _dequantize(self._interpreter.get_tensor(self._output["index"]), self._output)


def _quantize(batch: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Cast a batch to a TFLite input's dtype, applying its quantization when it has one."""
    dtype = detail["dtype"]
    scale, zero_point = detail["quantization"]
    if scale and np.issubdtype(dtype, np.integer) and not np.issubdtype(batch.dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.round(batch / scale + zero_point), info.min, info.max).astype(dtype)
    return batch.astype(dtype, copy=False)


def _dequantize(output: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if scale and np.issubdtype(output.dtype, np.integer):
        return ((output.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return output.astype(np.float32, copy=True)


class OnnxPredictor:
    format_name = "onnx"
    _ONNX_TYPES = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64}

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = NUM_THREADS
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._input_dtype = self._ONNX_TYPES[model_input.type]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        feed = {self._input_name: np.asarray(batch, dtype=self._input_dtype)}
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)


def open_file(path: Path, format_name: str) -> Predictor:
    """A predictor for one artifact file or SavedModel folder, without the manifest's checks."""
    if format_name == "savedmodel":
        return SavedModelPredictor(path)
    if format_name.startswith("tflite"):
        return TFLitePredictor(path, format_name)
    if format_name.startswith("onnx"):
        return OnnxPredictor(path)
    raise ValueError(f"Unknown format {format_name!r}; expected one of {', '.join(manifest_lib.FORMAT_LABELS)}.")


def load(model_name: str, format_name: str, manifest: dict[str, Any] | None = None) -> Predictor:
    """Load one model in one format, checking the artifact against the manifest first.

    Raises ``ArtifactError`` with the command that rebuilds the artifact when it is missing, altered or
    unreadable.
    """
    entry = manifest_lib.model_entry(model_name, manifest)
    record = entry["artifacts"].get(format_name)
    rebuild = f"Rebuild it with `{entry['training']['command']}`."
    if record is None:
        raise ArtifactError(f"The {model_name} model has no {format_name} artifact. {rebuild}")
    problem = manifest_lib.verify_artifact(record)
    if problem:
        raise ArtifactError(f"The {model_name} model's {format_name} artifact: {problem}. {rebuild}")
    try:
        return open_file(manifest_lib.artifact_path(entry, format_name), format_name)
    except Exception as error:  # Any loader failure means the file is unusable; say how to fix it.
        raise ArtifactError(
            f"The {model_name} model's {format_name} artifact could not be loaded "
            f"({type(error).__name__}: {error}). {rebuild}"
        ) from error
