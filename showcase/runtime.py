"""One runtime over three serving formats.

``load(model_name, format_name)`` returns a predictor with the same ``predict(batch) -> ndarray``
whatever the format:

- ``savedmodel``: TensorFlow, imported only when this format is asked for (it is slow to import and
  heavy in memory, so the app never pays for it unless a visitor picks it);
- ``tflite`` and ``tflite_int8``: LiteRT (``ai_edge_litert``), the successor of ``tf.lite.Interpreter``;
- ``onnx``: ONNX Runtime.

Every predictor takes a float or integer numpy batch laid out as the manifest's ``input`` spec says,
quantizes it itself where the artifact wants integers, and returns float32 outputs. A model with several
outputs names them (the flowers model: ``probabilities``, ``logits``, ``features``): ``predict`` returns the one
named ``MAIN_OUTPUT`` (what every consumer reads), ``predict_outputs`` all of them by name.

Every predictor may be called from several threads at once (the app shares one per model and format between
all sessions): a TFLite predictor lends each call one interpreter of a small bounded pool, since a LiteRT
interpreter is not thread-safe; ONNX Runtime sessions and SavedModel functions are thread-safe themselves.
See docs/concurrency.md for the measurements behind the pool.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from showcase import manifest as manifest_lib
from showcase.formats import FORMAT_LABELS, ONNX, SAVEDMODEL, TFLITE

# Threads per predictor. Fixed so that latencies are comparable between formats and runs.
NUM_THREADS = 2
# LiteRT interpreters per TFLite predictor, shared by every thread that calls it (see docs/concurrency.md).
INTERPRETERS_PER_MODEL = 2
# The output ``predict`` returns when a model has several (named) outputs.
MAIN_OUTPUT = "probabilities"
# The name ``predict_outputs`` gives the only output of a single-output model.
SINGLE_OUTPUT = "output"


class ArtifactError(RuntimeError):
    """An artifact is missing, does not match the manifest, or cannot be loaded."""


class Predictor(Protocol):
    format_name: str

    def predict(self, batch: np.ndarray) -> np.ndarray: ...

    def predict_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]: ...


def main_output_name(names: list[str]) -> str:
    """The name of the output ``predict`` returns: the only one, or ``MAIN_OUTPUT``."""
    if len(names) == 1:
        return names[0]
    if MAIN_OUTPUT not in names:
        raise ArtifactError(f"A model with several outputs must name one {MAIN_OUTPUT!r}; it has {sorted(names)}.")
    return MAIN_OUTPUT


def main_output(outputs: dict[str, Any]) -> Any:
    """The output ``predict`` returns: the only one, or the one named ``MAIN_OUTPUT``."""
    return outputs[main_output_name(list(outputs))]


class SavedModelPredictor:
    format_name = SAVEDMODEL

    def __init__(self, path: Path):
        import tensorflow as tf  # Lazy: only this format needs TensorFlow.

        self._tf = tf
        # Keep the loaded object: its variables are freed with it, and `serve` alone does not hold them.
        self._loaded = tf.saved_model.load(str(path))
        self._serve = self._loaded.serve
        self._input_dtype = self._serve.input_signature[0].dtype.as_numpy_dtype

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return main_output(self.predict_outputs(batch))

    def predict_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        output = self._serve(self._tf.constant(np.asarray(batch, dtype=self._input_dtype)))
        if isinstance(output, dict):
            return {name: np.asarray(value, dtype=np.float32) for name, value in output.items()}
        return {SINGLE_OUTPUT: np.asarray(output, dtype=np.float32)}


class InterpreterSlot:
    """One LiteRT interpreter and the batch shape its tensors are allocated for."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=NUM_THREADS)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = named_outputs(self.interpreter)
        self.output = main_output(self.outputs)
        self._input_shape = tuple(self.input["shape"])

    def _resize_for(self, shape: tuple[int, ...]) -> None:
        """Reallocate the interpreter's tensors when the batch shape changes (a cheap no-op otherwise)."""
        if shape != self._input_shape:
            self.interpreter.resize_tensor_input(self.input["index"], list(shape))
            self.interpreter.allocate_tensors()
            self._input_shape = shape

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._run(batch, {MAIN_OUTPUT: self.output})[MAIN_OUTPUT]

    def predict_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return self._run(batch, self.outputs)

    def _run(self, batch: np.ndarray, outputs: dict[str, dict]) -> dict[str, np.ndarray]:
        self._resize_for(batch.shape)
        self.interpreter.set_tensor(self.input["index"], _quantize(batch, self.input))
        self.interpreter.invoke()
        return {name: _dequantize(self.interpreter.get_tensor(detail["index"]), detail)
                for name, detail in outputs.items()}


def named_outputs(interpreter) -> dict[str, dict[str, Any]]:
    """An interpreter's output details by name: the serving signature's names when it has several outputs."""
    details = interpreter.get_output_details()
    if len(details) == 1:
        return {SINGLE_OUTPUT: details[0]}
    by_index = {detail["index"]: detail for detail in details}
    signature = interpreter.get_signature_runner().get_output_details()
    return {name: by_index[detail["index"]] for name, detail in signature.items()}


class _Waiter:
    """A caller queued for an interpreter; the caller that returns one hands it over directly."""

    def __init__(self):
        self.handed_over = threading.Event()
        self.slot: InterpreterSlot | None = None


class InterpreterPool:
    """At most ``size`` interpreters of one file, created when callers first need them; each call borrows one.

    A LiteRT interpreter is not thread-safe, and Streamlit calls one cached predictor from every session's
    thread. A caller that finds every interpreter busy waits for one, so memory stays bounded however many
    sessions come and go. Waiting callers are served first come, first served: a returned interpreter goes
    straight to the longest waiter, so a thread that predicts in a loop cannot starve the others (a plain
    lock lets the releasing thread take it again; see docs/concurrency.md).
    """

    def __init__(self, path: Path, size: int):
        if size < 1:
            raise ValueError(f"An interpreter pool needs at least one interpreter, not {size}.")
        self._path = path
        self._size = size
        self._lock = threading.Lock()
        self._idle = [InterpreterSlot(path)]  # The first one now, so that a bad file fails at load time.
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self.created = 1

    @property
    def waiting(self) -> int:
        """How many callers are queued for an interpreter now."""
        with self._lock:
            return len(self._waiters)

    def _take(self) -> InterpreterSlot:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self.created < self._size:
                self.created += 1
                waiter = None
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
        if waiter is None:
            return self._create()
        waiter.handed_over.wait()
        return waiter.slot

    def _create(self) -> InterpreterSlot:
        try:
            return InterpreterSlot(self._path)
        except BaseException:
            with self._lock:
                self.created -= 1
            raise

    def _give_back(self, slot: InterpreterSlot) -> None:
        with self._lock:
            if not self._waiters:
                self._idle.append(slot)
                return
            waiter = self._waiters.popleft()
        waiter.slot = slot
        waiter.handed_over.set()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[InterpreterSlot]:
        slot = self._take()
        try:
            yield slot
        finally:
            self._give_back(slot)


class TFLitePredictor:
    def __init__(self, path: Path, format_name: str = TFLITE, pool_size: int | None = None):
        self.format_name = format_name
        self._pool = InterpreterPool(path, pool_size or INTERPRETERS_PER_MODEL)

    @property
    def interpreters(self) -> int:
        """How many interpreters this predictor has created so far (at most its pool size)."""
        return self._pool.created

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch)
        with self._pool.borrow() as slot:
            return slot.predict(batch)

    def predict_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.asarray(batch)
        with self._pool.borrow() as slot:
            return slot.predict_outputs(batch)


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
    format_name = ONNX
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
        names = [output.name for output in self._session.get_outputs()]
        self._output_names = names if len(names) > 1 else [SINGLE_OUTPUT]
        self._main_output = main_output_name(names)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        feed = {self._input_name: np.asarray(batch, dtype=self._input_dtype)}
        return np.asarray(self._session.run([self._main_output], feed)[0], dtype=np.float32)

    def predict_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        feed = {self._input_name: np.asarray(batch, dtype=self._input_dtype)}
        outputs = self._session.run(None, feed)
        return {name: np.asarray(value, dtype=np.float32) for name, value in zip(self._output_names, outputs)}


def open_file(path: Path, format_name: str) -> Predictor:
    """A predictor for one artifact file or SavedModel folder, without the manifest's checks."""
    if format_name == SAVEDMODEL:
        return SavedModelPredictor(path)
    if format_name.startswith(TFLITE):
        return TFLitePredictor(path, format_name)
    if format_name.startswith(ONNX):
        return OnnxPredictor(path)
    raise ValueError(f"Unknown format {format_name!r}; expected one of {', '.join(FORMAT_LABELS)}.")


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


def timed_predict(predictor: Predictor, batch: np.ndarray) -> tuple[np.ndarray, float]:
    """Run one prediction; return the output and its wall-clock latency in milliseconds."""
    start = time.perf_counter()
    output = predictor.predict(batch)
    return output, (time.perf_counter() - start) * 1000


def outputs_of(predictor, batch: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of a prediction by name; a predictor with ``predict`` alone (the API's ``RestPredictor``)
    gives its one output as ``SINGLE_OUTPUT``."""
    if hasattr(predictor, "predict_outputs"):
        return predictor.predict_outputs(batch)
    return {SINGLE_OUTPUT: predictor.predict(batch)}


def timed_outputs(predictor, batch: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """Run one prediction for every output by name; return them and the wall-clock latency in milliseconds."""
    start = time.perf_counter()
    outputs = outputs_of(predictor, batch)
    return outputs, (time.perf_counter() - start) * 1000


def example_batch(entry: dict[str, Any], batch_size: int = 1, seed: int = 0) -> np.ndarray:
    """Random inputs shaped and ranged as the manifest's input spec says."""
    spec = entry["input"]
    shape = [batch_size] + [dimension or 1 for dimension in spec["shape"][1:]]
    low, high = spec["range"]
    generator = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(spec["dtype"]), np.integer):
        return generator.integers(int(low), int(high) + 1, size=shape).astype(spec["dtype"])
    return generator.uniform(low, high, size=shape).astype(spec["dtype"])
