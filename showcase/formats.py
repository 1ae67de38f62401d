"""Which formats this process offers: the one place the pages, the Formats page's live run and the benchmark ask.

A format is offered when both hold:

- its runtime is installed. ``importlib.util.find_spec`` looks for the module without importing it, which
  matters for TensorFlow: importing it costs 540–690 MB, and the hosted set (``app/requirements.txt``)
  leaves it out, so SavedModel is not offered there;
- the operator has not restricted the formats. ``SHOWCASE_FORMATS=tflite,onnx`` (comma-separated names from
  ``FORMAT_LABELS``) offers only those, so that a small host can refuse SavedModel even
  where TensorFlow is installed. Unknown names are ignored and reported by ``settings_problem``.

Examples::

    offered_formats(entry["artifacts"])     # what a model page may serve, in the pages' order
    unavailable_reason("savedmodel")        # None, or one sentence that says why not
"""

from __future__ import annotations

import importlib.util
import os
from typing import Iterable, Mapping

# Format names: the keys of a manifest entry's ``artifacts`` and of the benchmark's results.
SAVEDMODEL = "savedmodel"
TFLITE = "tflite"
TFLITE_FP16 = "tflite_fp16"
TFLITE_DYNAMIC = "tflite_dynamic"
TFLITE_INT8 = "tflite_int8"
ONNX = "onnx"
ONNX_INT8 = "onnx_int8"

# Every format the runtime knows, in the order pages list them. The manifest lists the committed serving
# formats; fp16, dynamic-range and ONNX int8 are the Formats page's variants, built on demand into the
# cache by ``showcase.variants``.
FORMAT_LABELS = {
    SAVEDMODEL: "SavedModel (TensorFlow)",
    TFLITE: "TFLite fp32 (LiteRT)",
    TFLITE_FP16: "TFLite fp16 (LiteRT)",
    TFLITE_DYNAMIC: "TFLite dynamic-range int8 (LiteRT)",
    TFLITE_INT8: "TFLite full int8 (LiteRT)",
    ONNX: "ONNX fp32 (ONNX Runtime)",
    ONNX_INT8: "ONNX int8 (ONNX Runtime)",
}
# The format every other one is compared with, in the benchmark's figures and on the Formats page.
REFERENCE_FORMAT = SAVEDMODEL

ENV_VAR = "SHOWCASE_FORMATS"

# The module each family of formats is served with; a format belongs to the family its name starts with.
RUNTIME_MODULES = {SAVEDMODEL: "tensorflow", TFLITE: "ai_edge_litert", ONNX: "onnxruntime"}


def runtime_module(format_name: str) -> str:
    """The module that serves a format (``tflite_int8`` -> ``ai_edge_litert``)."""
    for prefix, module in RUNTIME_MODULES.items():
        if format_name.startswith(prefix):
            return module
    raise ValueError(f"Unknown format {format_name!r}; expected one of {', '.join(FORMAT_LABELS)}.")


def runtime_installed(format_name: str) -> bool:
    """Whether the format's runtime can be imported, found without importing it."""
    module = runtime_module(format_name)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        # find_spec raises these when a module is present in sys.modules as None (a blocked import).
        return False


def _requested_names(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The names in SHOWCASE_FORMATS, lower-cased, or None when it is unset or blank."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    return names or None


def operator_allowed(environ: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """The known formats SHOWCASE_FORMATS names, or None when it does not restrict anything."""
    names = _requested_names(environ)
    return None if names is None else frozenset(name for name in names if name in FORMAT_LABELS)


def settings_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """One sentence about SHOWCASE_FORMATS names that are not formats, or None when every name is known."""
    names = _requested_names(environ) or []
    unknown = [name for name in names if name not in FORMAT_LABELS]
    if not unknown:
        return None
    kept = [name for name in names if name in FORMAT_LABELS]
    outcome = f"only {', '.join(kept)} stay offered" if kept else "no format is offered"
    return (f"{ENV_VAR} names {', '.join(repr(name) for name in unknown)}, which "
            f"{'is not a format' if len(unknown) == 1 else 'are not formats'}; {outcome}. "
            f"Known formats: {', '.join(FORMAT_LABELS)}.")


def unavailable_reason(format_name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why this process does not offer a format, in one sentence; None when it does."""
    label = FORMAT_LABELS.get(format_name, format_name)
    allowed = operator_allowed(environ)
    if allowed is not None and format_name not in allowed:
        return f"{label} is turned off on this server ({ENV_VAR})."
    if not runtime_installed(format_name):
        # Only TensorFlow is left out on purpose (the hosted set); say why, so that nobody reads it as a bug.
        why = " (the hosted set leaves it out: importing it takes 540–690 MB)" if format_name == SAVEDMODEL else ""
        return f"{label} needs {runtime_module(format_name)}, which is not installed on this server{why}."
    return None


def offered_formats(candidates: Iterable[str] = FORMAT_LABELS, environ: Mapping[str, str] | None = None
                    ) -> list[str]:
    """The candidates this process offers, in the pages' order (``FORMAT_LABELS``)."""
    candidates = set(candidates)
    return [name for name in FORMAT_LABELS if name in candidates and unavailable_reason(name, environ) is None]


def unavailable_formats(candidates: Iterable[str] = FORMAT_LABELS, environ: Mapping[str, str] | None = None
                        ) -> dict[str, str]:
    """format -> why it is not offered, for the candidates this process leaves out, in the pages' order."""
    candidates = set(candidates)
    reasons = {name: unavailable_reason(name, environ) for name in FORMAT_LABELS if name in candidates}
    return {name: reason for name, reason in reasons.items() if reason is not None}
