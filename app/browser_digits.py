"""The Digits page's "In your browser" mode: the committed ONNX digits model run by onnxruntime-web in the
visitor's browser, predicting on every stroke without a request to the server.

Three parts:

- ``browser_routes``: the Starlette routes that ``app/streamlit_app.py`` adds to Streamlit's server, serving
  ``app/static/browser/`` (the recipe, the component and the committed runtime, built by
  ``scripts/build_browser_runtime.sh``) and the digits model's ONNX file, all from the app itself;
- ``browser_canvas``: the Streamlit v2 component (``app/static/browser/digits_component.js``) that draws, reads
  and reports whether its runtime started;
- ``check_on_the_server``: the server's reading of the drawing the visitor sent, beside the browser's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import mimetypes
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from showcase import calibration, paths
from showcase.formats import ONNX
from showcase.tasks import digits

# Where the page's browser fetches its files; the routes below serve them on the app's own port.
URL_PREFIX = "/browser"
MODEL_URL = f"{URL_PREFIX}/models/digits/model.onnx"
CANVAS_SIDE = 280
# Starlette guesses types with mimetypes, which Python 3.11 does not know for these two; a JavaScript module
# and streamed WebAssembly compilation need them right.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")


def browser_routes() -> list:
    """``/browser/...`` from app/static/browser, and ``/browser/models/digits/model.onnx``, the committed model."""
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    model_path = paths.MODELS_DIR / "digits" / "model.onnx"

    async def model_file(request):
        return FileResponse(model_path, media_type="application/octet-stream")

    return [Route(MODEL_URL, model_file), Mount(URL_PREFIX, app=StaticFiles(directory=paths.BROWSER_DIR))]


@functools.cache
def _component():
    return st.components.v2.component("showcase.browser_digits",
                                      css=(paths.BROWSER_DIR / "digits_component.css").read_text(),
                                      js=(paths.BROWSER_DIR / "digits_component.js").read_text())


@dataclass(frozen=True)
class BrowserCanvas:
    """What the component reported on this run: whether its runtime started (None while it loads) and why not,
    and the drawing the visitor sent to the server (None unless this run was that request)."""

    started: bool | None
    reason: str
    drawing: dict[str, Any] | None


def browser_canvas(entry: dict[str, Any], server_timing: str, key: str = "digits_browser") -> BrowserCanvas:
    """Mount the in-browser canvas for the digits ``entry``; ``server_timing`` is the sentence that compares."""
    artifact = entry["artifacts"][ONNX]
    data = {"recipeUrl": f"{URL_PREFIX}/digits_recipe.mjs", "ortDir": f"{URL_PREFIX}/ort/", "modelUrl": MODEL_URL,
            "sha256": artifact["sha256"], "temperature": calibration.temperature(entry, ONNX),
            "labels": [str(label) for label in entry["labels"]], "check": digits.digit_check_rules(entry),
            "outOfDistribution": digits.OOD_REASON, "serverTiming": server_timing}
    result = _component()(data=data, key=key, on_runtime_change=lambda: None, on_drawing_change=lambda: None)
    runtime, drawing = result.get("runtime"), result.get("drawing")
    if not runtime:
        return BrowserCanvas(None, "", drawing)
    return BrowserCanvas(bool(runtime.get("ok")), str(runtime.get("reason", "")), drawing)


def drawing_pixels(drawing: dict[str, Any]) -> np.ndarray:
    """The RGBA canvas (black ink in the alpha channel) that the component sent; ``ValueError`` for anything
    that is not one 280×280 drawing."""
    text = drawing.get("alpha") if isinstance(drawing, dict) else None
    # Base64 takes 4 characters per 3 bytes; anything longer cannot be one canvas, so it is not decoded.
    if not isinstance(text, str) or len(text) > 4 * (CANVAS_SIDE * CANVAS_SIDE + 2) // 3:
        raise ValueError("The drawing did not arrive as one canvas of base64 pixels.")
    try:
        alpha = np.frombuffer(base64.b64decode(text, validate=True), dtype=np.uint8)
    except (binascii.Error, ValueError) as error:
        raise ValueError("The drawing did not arrive as base64 pixels.") from error
    if alpha.size != CANVAS_SIDE * CANVAS_SIDE:
        raise ValueError(f"Expected a {CANVAS_SIDE}×{CANVAS_SIDE} drawing, got {alpha.size} pixels.")
    pixels = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)
    pixels[..., 3] = alpha.reshape(CANVAS_SIDE, CANVAS_SIDE)
    return pixels


def server_timing(entry: dict[str, Any]) -> str:
    """The sentence that sets the browser's latency beside the server's benchmark figure for the same file."""
    import ui

    p50 = ui.measured_latencies(entry).get(ONNX)
    if p50 is None:
        return "Each server reading adds a round trip over the network."
    return (f"On the server, ONNX Runtime takes {p50:.2f} ms (p50 of python -m showcase.bench) for the same "
            "model, plus a round trip over the network.")


def browser_mode(entry: dict[str, Any]) -> bool | None:
    """The in-browser canvas, and the server's reading of a drawing the visitor sent. Returns whether the
    browser's runtime started (None while it loads); after False the page should offer its server canvas."""
    canvas = browser_canvas(entry, server_timing(entry))
    if canvas.started is False:
        st.info(f"Your browser could not run the model ({canvas.reason}), so the server reads your drawing below.",
                icon=":material/cloud:")
    elif canvas.drawing is not None:
        check_on_the_server(entry, canvas.drawing)
    return canvas.started


def check_on_the_server(entry: dict[str, Any], drawing: dict[str, Any]) -> None:
    """The server's reading of the drawing the visitor sent, beside the browser's."""
    import ui

    try:
        result = digits.DigitClassifier(ui.predictor_or_stop("digits", ONNX), entry).classify(drawing_pixels(drawing))
    except digits.EmptyImageError:
        st.info("The canvas is blank: draw a digit, then ask the server again.")
        return
    except ValueError as error:
        st.error(f"The server could not read that drawing: {error}")
        return
    server = result.answer if result.in_distribution else "not a digit"
    browser = drawing.get("browser")
    if isinstance(browser, dict):
        answer = str(browser.get("digit")) if browser.get("inDistribution", True) else "not a digit"
        same = answer == server
        text = (f"The server (ONNX Runtime, {result.milliseconds:.2f} ms) reads **{server}**"
                + (f" at {result.confidence:.1%}" if result.in_distribution else "")
                + f"; your browser read **{answer}**: " + ("the same." if same else "they differ."))
        (st.success if same else st.warning)(text, icon=":material/dns:")
    else:
        st.info(f"The server (ONNX Runtime) reads **{server}**.", icon=":material/dns:")
