"""The models the API serves, and TensorFlow Serving's REST protocol over them.

``ModelStore`` loads each model format once (``showcase.runtime.load``, the same loader and the same checks
against the manifest as the app) and shares it between requests: runtime predictors are thread-safe.

The protocol follows TensorFlow Serving's REST API (https://www.tensorflow.org/tfx/serving/api_rest):

- status: ``{"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {...}}]}``;
- metadata: ``{"model_spec": {...}, "metadata": {"signature_def": {"signature_def": {"serving_default": ...}}}}``,
  plus this project's own ``metadata.showcase`` (labels, input range, formats, the manifest's metrics);
- predict: the row format ``{"instances": [...]}`` answered with ``{"predictions": [...]}``, or the columnar
  format ``{"inputs": ...}`` answered with ``{"outputs": ...}``; each instance may also be an object naming the
  input (``{"image": [...]}``), as TF Serving allows.

Every model has one version, ``VERSION``. Outputs are the model's own (softmax probabilities for the
classifiers, as TF Serving would return them from the same SavedModel); the task routes add calibration.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from showcase import formats, paths, runtime
from showcase import manifest as manifest_lib
from showcase.api.operations import ApiError

VERSION = 1
SIGNATURE = "serving_default"
# The output name of every SavedModel's serving signature (Keras' export names its single output so).
OUTPUT_NAME = "output_0"
# Used when a model has no ONNX artifact to read its input's name from.
FALLBACK_INPUT_NAME = "input"
TF_DTYPES = {"float32": "DT_FLOAT", "int32": "DT_INT32", "int64": "DT_INT64"}


def read_benchmarks() -> dict[str, Any]:
    """The committed benchmark results (``models/benchmarks.json``), or {} before the first run."""
    path = paths.BENCHMARKS_PATH
    return json.loads(path.read_text()) if path.exists() else {}


def fastest_format(entry: dict[str, Any], benchmarks: dict[str, Any]) -> str:
    """The model's offered format with the lowest benchmarked batch-1 p50; TFLite (or the first offered) without
    a benchmark. The app's format selector defaults to the same one."""
    offered = formats.offered_formats(entry["artifacts"])
    if not offered:
        raise ApiError(503, f"This server offers no format of the {entry['name']} model: "
                       + " ".join(formats.unavailable_formats(entry["artifacts"]).values()))
    measured = benchmarks.get("models", {}).get(entry["name"], {}).get("formats", {})
    latencies = {name: measured[name]["p50_ms"] for name in offered if "p50_ms" in measured.get(name, {})}
    if latencies:
        return min(latencies, key=latencies.get)
    return formats.TFLITE if formats.TFLITE in offered else offered[0]


class ModelStore:
    """The manifest's models, each format loaded on first use and kept; thread-safe.

    ``on_load(model, format, seconds)`` hears every load (the API records it as a metric).
    """

    def __init__(self, manifest: dict[str, Any] | None = None, benchmarks: dict[str, Any] | None = None,
                 on_load: Callable[[str, str, float], None] | None = None):
        self.manifest = manifest if manifest is not None else manifest_lib.load_manifest()
        self.benchmarks = benchmarks if benchmarks is not None else read_benchmarks()
        self._on_load = on_load
        self._predictors: dict[tuple[str, str], runtime.Predictor] = {}
        self._resources: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    @property
    def names(self) -> list[str]:
        return list(self.manifest["models"])

    def entry(self, name: str) -> dict[str, Any]:
        """The model's manifest entry; 404 naming the served models for any other name."""
        entry = self.manifest["models"].get(name)
        if entry is None:
            raise ApiError(404, f"Servable not found for request: Latest({name}). This server serves "
                           f"{', '.join(self.names)}.")
        return entry

    def check_version(self, name: str, version: str | None) -> None:
        if version is not None and version != str(VERSION):
            raise ApiError(404, f"Servable not found for request: Specific({name}, {version}). The {name} model has "
                           f"version {VERSION} only.")

    def format_for(self, entry: dict[str, Any], requested: str | None) -> str:
        """The format asked for (validated), or the fastest benchmarked one."""
        if requested is None or requested == "":
            return fastest_format(entry, self.benchmarks)
        if requested not in entry["artifacts"]:
            known = "" if requested in formats.FORMAT_LABELS else " (not a format)"
            raise ApiError(400, f"Unknown format {requested!r}{known} for the {entry['name']} model; it has "
                           f"{', '.join(formats.offered_formats(entry['artifacts']))}.")
        reason = formats.unavailable_reason(requested)
        if reason:
            raise ApiError(400, f"{reason} Offered here: {', '.join(formats.offered_formats(entry['artifacts']))}.")
        return requested

    def predictor(self, name: str, format_name: str) -> runtime.Predictor:
        """The shared predictor of one model format, loaded on first use."""
        return self.resource((name, format_name), lambda: runtime.load(name, format_name, self.manifest),
                             timed=True)

    def resource(self, key: tuple[str, str], load: Callable[[], Any], timed: bool = False) -> Any:
        """Whatever ``load`` returns, made once per key (a predictor, a vocabulary) and shared."""
        found = self._resources.get(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            found = self._resources.get(key)
            if found is None:
                start = time.perf_counter()
                try:
                    found = load()
                except runtime.ArtifactError as error:
                    raise ApiError(503, str(error)) from None
                if timed and self._on_load is not None:
                    self._on_load(key[0], key[1], time.perf_counter() - start)
                self._resources[key] = found
        return found

    def input_name(self, name: str) -> str:
        """The serving signature's input name, read from the ONNX artifact (the SavedModel's own name)."""
        entry = self.entry(name)
        if "onnx" not in entry["artifacts"]:
            return FALLBACK_INPUT_NAME
        return self.resource((name, "input_name"), lambda: _onnx_input_name(entry))

    # ## TF Serving's GET routes

    def status(self, name: str, version: str | None = None) -> dict[str, Any]:
        self.entry(name)
        self.check_version(name, version)
        return {"model_version_status": [
            {"version": str(VERSION), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        entry = self.entry(name)
        self.check_version(name, version)
        spec = entry["input"]
        shapes = self.output_shapes(name)
        output_shape = shapes[runtime.MAIN_OUTPUT] if len(shapes) > 1 else shapes[OUTPUT_NAME]
        signature = {
            "inputs": {self.input_name(name): _tensor_info(self.input_name(name), spec["dtype"], spec["shape"])},
            "outputs": {key: _tensor_info(key, "float32", shape) for key, shape in shapes.items()},
            "method_name": "tensorflow/serving/predict",
        }
        return {
            "model_spec": {"name": name, "signature_name": "", "version": str(VERSION)},
            "metadata": {
                "signature_def": {"signature_def": {SIGNATURE: signature}},
                "showcase": {
                    "title": entry["title"], "task": entry["task"], "labels": entry["labels"],
                    "input": spec, "output_shape": output_shape, "preprocessing": entry["preprocessing"],
                    "formats": formats.offered_formats(entry["artifacts"]),
                    "default_format": fastest_format(entry, self.benchmarks),
                    "metrics": entry["metrics"], "calibration_temperature": _temperature(entry),
                },
            },
        }

    def output_shapes(self, name: str) -> dict[str, list[int | None]]:
        """Each output's shape by its signature key, batch dimension None, measured once by running one example:
        ``OUTPUT_NAME`` for a single output, the model's own names for several (the flowers model's
        probabilities, logits and features; the predict route answers with the probabilities)."""
        entry = self.entry(name)

        def measure() -> dict[str, list[int | None]]:
            predictor = self.predictor(name, fastest_format(entry, self.benchmarks))
            outputs = predictor.predict_outputs(runtime.example_batch(entry))
            shapes = {key: [None, *value.shape[1:]] for key, value in outputs.items()}
            return shapes if len(shapes) > 1 else {OUTPUT_NAME: next(iter(shapes.values()))}

        return self.resource((name, "output_shapes"), measure)

    # ## TF Serving's predict route

    def predict(self, name: str, version: str | None, format_name: str | None, body: bytes,
                max_batch: int) -> tuple[dict[str, Any], str]:
        """Answer one ``:predict`` request body; returns the response and the format that served it."""
        entry = self.entry(name)
        self.check_version(name, version)
        chosen = self.format_for(entry, format_name)
        request = parse_json(body)
        columnar = _request_layout(request)
        batch = to_batch(request["inputs"] if columnar else request["instances"], entry, self.input_name(name),
                         columnar, max_batch)
        outputs = self.predictor(name, chosen).predict(batch)
        if columnar:
            return {"outputs": outputs.tolist()}, chosen
        return {"predictions": outputs.tolist()}, chosen


def _onnx_input_name(entry: dict[str, Any]) -> str:
    """The first graph input's name in an ONNX file, read from its protobuf fields without building a session
    (ONNX Runtime takes seconds to prepare the forecast's unrolled LSTM)."""
    try:
        data = manifest_lib.artifact_path(entry, "onnx").read_bytes()
        graph = _protobuf_field(data, ONNX_MODEL_GRAPH)
        value_info = _protobuf_field(graph, ONNX_GRAPH_INPUT) if graph else None
        name = _protobuf_field(value_info, ONNX_VALUE_INFO_NAME) if value_info else None
        return name.decode() if name else FALLBACK_INPUT_NAME
    except (OSError, IndexError, UnicodeDecodeError):  # A missing or damaged file: the load reports it.
        return FALLBACK_INPUT_NAME


# ModelProto.graph, GraphProto.input and ValueInfoProto.name in onnx.proto.
ONNX_MODEL_GRAPH, ONNX_GRAPH_INPUT, ONNX_VALUE_INFO_NAME = 7, 11, 1


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


def _protobuf_field(data: bytes, number: int) -> bytes | None:
    """The first length-delimited field ``number`` of a serialized protobuf message, or None."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        wire_type = key & 7
        if wire_type == 0:
            _, position = _varint(data, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        elif wire_type == 2:
            length, position = _varint(data, position)
            if key >> 3 == number:
                return data[position:position + length]
            position += length
        else:
            return None
    return None


def _temperature(entry: dict[str, Any]) -> float | None:
    record = entry.get("calibration")
    return None if not record else record.get("temperature")


def _tensor_info(name: str, dtype: str, shape: list[int | None]) -> dict[str, Any]:
    dims = [{"size": str(-1 if size is None else size), "name": ""} for size in shape]
    return {"dtype": TF_DTYPES.get(dtype, dtype), "tensor_shape": {"dim": dims, "unknown_rank": False},
            "name": f"{SIGNATURE}_{name}:0"}


# ## Request parsing


def _refuse_constant(constant: str):
    raise ValueError(f"{constant} is not a number the API takes (every value must be finite)")


def parse_json(body: bytes) -> Any:
    """The request's JSON; 400 for malformed JSON, non-UTF-8 bytes, or NaN/Infinity literals."""
    if not body.strip():
        raise ApiError(400, "The request body is empty; send JSON such as {\"instances\": [...]}.")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not UTF-8 text; send JSON.") from None
    except RecursionError:
        raise ApiError(400, "The JSON is nested too deeply.") from None
    except ValueError as error:
        raise ApiError(400, f"Malformed JSON: {error}.") from None


def _request_layout(request: Any) -> bool:
    """True for the columnar format ("inputs"), False for the row format ("instances"); 400 otherwise."""
    if not isinstance(request, dict):
        raise ApiError(400, "The JSON body must be an object with \"instances\" (row format) or \"inputs\" "
                       "(columnar format).")
    signature = request.get("signature_name", SIGNATURE)
    if signature not in (SIGNATURE, ""):
        raise ApiError(400, f"Serving signature name: {signature!r} not found in signature def; the only "
                       f"signature is {SIGNATURE!r}.")
    has_rows, has_columns = "instances" in request, "inputs" in request
    if has_rows == has_columns:
        raise ApiError(400, "Send exactly one of \"instances\" (row format) and \"inputs\" (columnar format)"
                       + (", not both." if has_rows else "."))
    return has_columns


def _named(value: Any, input_name: str, where: str) -> Any:
    """An object naming the input ({"image": ...}) unwrapped; 400 for an object with other names."""
    if isinstance(value, dict):
        if set(value) != {input_name}:
            raise ApiError(400, f"{where} names {', '.join(map(repr, value)) or 'no input'}; this model has one "
                           f"input, {input_name!r}.")
        return value[input_name]
    return value


def to_batch(value: Any, entry: dict[str, Any], input_name: str, columnar: bool, max_batch: int) -> np.ndarray:
    """A request's instances (or columnar inputs) as the model's input batch, checked against the manifest's
    input spec; 400 naming the expected shape, dtype or limit."""
    spec = entry["input"]
    expected = tuple(spec["shape"][1:])
    shape_text = "(n, " + ", ".join(str(size) for size in expected) + ")"
    if columnar:
        value = _named(value, input_name, "\"inputs\"")
    else:
        if not isinstance(value, list):
            raise ApiError(400, "\"instances\" must be a list, one instance per element.")
        value = [_named(instance, input_name, "An instance") for instance in value]
    if isinstance(value, list) and len(value) == 0:
        raise ApiError(400, f"The batch is empty; send at least one instance of shape {shape_text[4:-1] or '()'}.")
    if isinstance(value, list) and len(value) > max_batch:
        raise ApiError(400, f"The batch has {len(value)} instances; the limit is {max_batch} per request.")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise ApiError(400, f"The instances are ragged (lists of different lengths); expected shape {shape_text}.") \
            from None
    if array.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "bytes", "O": "nulls, objects or mixed values"}.get(
            array.dtype.kind, array.dtype.name)
        raise ApiError(400, f"The instances hold {kind}; the input is {spec['dtype']} numbers of shape {shape_text}.")
    if array.shape[1:] != expected or array.ndim != len(expected) + 1:
        raise ApiError(400, f"Instances of shape {tuple(array.shape[1:])} (batch {array.shape[:1]}); this model takes "
                       f"{spec['dtype']} instances of shape {tuple(expected)}, a batch of shape {shape_text}.")
    return _cast(array, spec)


def _cast(array: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(spec["dtype"])
    low, high = spec["range"]
    if np.issubdtype(dtype, np.integer):
        if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
            raise ApiError(400, f"The input is {spec['dtype']}: every value must be a whole number.")
        if array.size and (array.min() < low or array.max() > high):
            raise ApiError(400, f"The input's values must lie in [{int(low)}, {int(high)}] (token ids), got "
                           f"{array.min():.0f} to {array.max():.0f}.")
        return array.astype(dtype)
    with np.errstate(over="ignore"):
        cast = array.astype(dtype)
    if not np.all(np.isfinite(cast)):
        raise ApiError(400, f"The input holds values that are not finite in {spec['dtype']} (over "
                       f"{np.finfo(dtype).max:.3g} in size); every value must be a finite number, typically in "
                       f"[{low:g}, {high:g}].")
    return cast


