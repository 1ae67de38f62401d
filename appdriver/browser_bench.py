"""The digits model in a browser: load time, latency and agreement with the server, measured in headless Chromium.

``python -m appdriver.browser_bench`` serves the committed browser runtime (``app/static/browser/``) and the
digits model from ``models/`` on loopback, opens Debian's Chromium through Playwright and measures
onnxruntime-web running ``models/digits/model.onnx`` on WebAssembly, as the Digits page's "In your browser" mode
does:

- **load**: from a cold browser context to the first prediction (the runtime's module and ``.wasm`` fetched and
  compiled, the model fetched, its sha256 checked against the manifest, compiled and run once); the median of
  ``LOADS`` cold loads;
- **latency**: p50 and p95 of ``RUNS`` batch-1 predictions timed with ``performance.now()`` in the page (the
  model alone, as the server's figure; Chromium rounds that clock to 0.1 ms outside a cross-origin-isolated page);
- **agreement**: the JavaScript MNIST recipe (``app/static/browser/digits_recipe.mjs``) against
  ``showcase.tasks.digits.prepare_digit`` on the same ``AGREEMENT_DRAWINGS`` canvas drawings (largest pixel
  difference of the 28×28 images), and the browser's calibrated prediction against the server's ONNX Runtime one
  (same digit, largest probability difference).

The figures go into the manifest's digits entry at ``extra.browser`` (docs/manifest.md), which the Formats page
and the README show. ``--compare`` also tries LiteRT.js on ``model.tflite``, from the build folder that
``COMPARE=1 bash scripts/build_browser_runtime.sh`` fills (that runtime is not committed), and records what it
gives under ``extra.browser.compared``: LiteRT.js 2.5.3 refuses the model, whose batch dimension is dynamic.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import platform
import statistics
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from showcase import manifest as manifest_lib
from showcase import ood_images, paths

RUNTIME_DIR = paths.BROWSER_DIR / "ort"
LITERT_BUILD_DIR = paths.REPO_ROOT / ".cache" / "browser-build" / "dist" / "litert"
ORT_PACKAGE, LITERT_PACKAGE = "onnxruntime-web", "@litertjs/core"
# The served artifact and the files of its runtime (everything a visitor's browser downloads).
BROWSER_FORMAT = "onnx"
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
LITERT_FILES = ("litert.mjs", "litert_wasm_compat_internal.js", "litert_wasm_compat_internal.wasm")
LOADS, RUNS, AGREEMENT_DRAWINGS = 5, 300, 60
COMMAND = "python -m appdriver.browser_bench --compare"
HARNESS = b"<!doctype html><html><head><meta charset='utf-8'><title>browser bench</title></head><body></body></html>"


# ## The assets on loopback


class _AssetHandler(http.server.SimpleHTTPRequestHandler):
    """GET /browser/... from app/static/browser, /models/... from models/, /litert/... from the LiteRT.js build, / a
    blank page; nothing else."""

    roots: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        prefix, _, rest = path.split("?")[0].lstrip("/").partition("/")
        root = self.roots.get(prefix)
        if root is None or ".." in rest.split("/"):
            return str(paths.REPO_ROOT / "no such file")
        return str(root / rest)

    def do_GET(self) -> None:
        if self.path in ("/", "/index.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(HARNESS)))
            self.end_headers()
            self.wfile.write(HARNESS)
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


_AssetHandler.extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                                ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}


@contextlib.contextmanager
def serve_assets() -> Iterator[str]:
    """The browser runtime, the models and (when built) LiteRT.js on a loopback port; yields its address."""
    roots = {"browser": paths.BROWSER_DIR, "models": paths.MODELS_DIR, "litert": LITERT_BUILD_DIR}
    handler = type("Handler", (_AssetHandler,), {"roots": roots})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ## What runs in the page

LOAD_ORT = """async ({recipe, runtimeDir, model, sha256}) => {
    const start = performance.now();
    const lib = await import(recipe);
    const bytes = await lib.fetchVerifiedModel(model, sha256);
    window.__predict = await lib.loadOnnxModel(runtimeDir, bytes);
    await window.__predict(new Float32Array(784));
    window.__recipe = lib;
    return performance.now() - start;
}"""

# LiteRT.js on WebAssembly, for the comparison: it matches an input against the model's declared shape.
LOAD_LITERT = """async ({recipe, runtimeDir, model, sha256}) => {
    const start = performance.now();
    const lib = await import(recipe);
    const bytes = await lib.fetchVerifiedModel(model, sha256);
    const litert = await import(runtimeDir + "litert.mjs");
    if (!litert.getGlobalLiteRtPromise()) await litert.loadLiteRt(runtimeDir + "litert_wasm_compat_internal.js");
    await litert.getGlobalLiteRtPromise();
    const compiled = await litert.loadAndCompile(bytes, {accelerator: "wasm"});
    const shape = Array.from(compiled.getInputDetails()[0].shape);
    window.__predict = async (image) => {
        const input = new litert.Tensor(image, shape);
        const outputs = await compiled.run([input]);
        const probabilities = outputs[0].toTypedArray().slice();
        input.delete();
        outputs.forEach((output) => output.delete());
        return probabilities;
    };
    await window.__predict(new Float32Array(784));
    window.__recipe = lib;
    return performance.now() - start;
}"""

TIME_RUNS = """async ({image, runs}) => {
    const input = Float32Array.from(image);
    const times = [];
    for (let i = 0; i < runs; i++) {
        const start = performance.now();
        await window.__predict(input);
        times.push(performance.now() - start);
    }
    return times;
}"""

# The recipe and the calibrated prediction of one RGBA drawing (base64), as the component computes them.
PREPARE_AND_PREDICT = """async ({rgba, width, height, temperature}) => {
    const bytes = Uint8ClampedArray.from(atob(rgba), (c) => c.charCodeAt(0));
    const image = window.__recipe.prepareDrawing(bytes, width, height);
    if (image === null) return null;
    const raw = await window.__predict(image);
    return {image: Array.from(image), probabilities: window.__recipe.calibrated(raw, temperature)};
}"""


def runtime_format(runtime: str) -> str:
    return "tflite" if runtime == LITERT_PACKAGE else BROWSER_FORMAT


def load_arguments(base_url: str, entry: dict[str, Any], runtime: str) -> dict[str, str]:
    artifact = entry["artifacts"][runtime_format(runtime)]
    runtime_dir = f"{base_url}/litert/" if runtime == LITERT_PACKAGE else f"{base_url}/browser/ort/"
    return {"recipe": f"{base_url}/browser/digits_recipe.mjs", "runtimeDir": runtime_dir,
            "model": f"{base_url}/models/{artifact['path']}", "sha256": artifact["sha256"]}


def open_runtime(browser, base_url: str, entry: dict[str, Any], runtime: str = ORT_PACKAGE):
    """A fresh browser context with the runtime loaded and the model compiled: (context, page, load ms)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "/")
    milliseconds = page.evaluate(LOAD_LITERT if runtime == LITERT_PACKAGE else LOAD_ORT,
                                 load_arguments(base_url, entry, runtime))
    return context, page, float(milliseconds)


def prepare_and_predict(page, drawing: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The browser's 28×28 image and calibrated probabilities for an RGBA drawing (None for a blank one)."""
    height, width = drawing.shape[:2]
    result = page.evaluate(PREPARE_AND_PREDICT, {"rgba": base64.b64encode(np.ascontiguousarray(drawing)).decode(),
                                                 "width": width, "height": height, "temperature": temperature})
    if result is None:
        return None
    return (np.array(result["image"], dtype=np.float32).reshape(28, 28),
            np.array(result["probabilities"], dtype=np.float64))


# ## The drawings both sides read


def agreement_drawings(count: int = AGREEMENT_DRAWINGS, seed: int = 0) -> list[tuple[int, np.ndarray]]:
    """``count`` canvas drawings (RGBA, ink in alpha) of the committed MNIST samples, each redrawn at a random
    size, place and stroke width (``ood_images.canvas_drawing``), the same for a seed: (digit, drawing)."""
    from showcase.tasks import digits

    samples = [(int(path.name.split("_")[0]), np.asarray(Image.open(path).convert("L")))
               for path in digits.sample_paths()]
    rng = np.random.default_rng(seed)
    return [(samples[i % len(samples)][0], ood_images.canvas_drawing(samples[i % len(samples)][1], rng))
            for i in range(count)]


@functools.lru_cache(maxsize=1)
def server_classifier():
    """The server's reading of a drawing: the page's classifier over the ONNX Runtime predictor."""
    from showcase import runtime
    from showcase.tasks import digits

    entry = manifest_lib.model_entry("digits")
    return digits.DigitClassifier(runtime.load("digits", BROWSER_FORMAT), entry)


def agreement(page, drawings: list[tuple[int, np.ndarray]], temperature: float) -> dict[str, Any]:
    """How the browser's recipe and prediction compare with the server's on the same drawings."""
    from showcase.tasks import digits

    classifier = server_classifier()
    pixel_differences, probability_differences, same = [], [], 0
    for _, drawing in drawings:
        browser_image, browser_probabilities = prepare_and_predict(page, drawing, temperature)
        server_image = digits.prepare_digit(drawing)
        server = classifier.classify_prepared(server_image)
        pixel_differences.append(float(np.abs(browser_image - server_image).max()))
        probability_differences.append(float(np.abs(browser_probabilities - server.probabilities).max()))
        same += int(np.argmax(browser_probabilities)) == server.digit
    return {"drawings": len(drawings), "same_digit": same,
            "max_pixel_difference": max(pixel_differences),
            "max_probability_difference": max(probability_differences),
            "what": "canvas drawings of the 10 committed MNIST samples (ood_images.canvas_drawing, seed 0); the "
                    "browser's recipe and calibrated prediction against prepare_digit and the server's ONNX Runtime"}


# ## Measuring


def asset_bytes(runtime: str) -> dict[str, int]:
    files = ([LITERT_BUILD_DIR / name for name in LITERT_FILES] if runtime == LITERT_PACKAGE
             else [RUNTIME_DIR / name for name in ORT_FILES])
    page_files = ("digits_recipe.mjs", "digits_component.js", "digits_component.css")
    return {"runtime": sum(file.stat().st_size for file in files),
            "page": sum((paths.BROWSER_DIR / name).stat().st_size for name in page_files)}


def measure_runtime(browser, base_url: str, entry: dict[str, Any], runtime: str, loads: int = LOADS,
                    runs: int = RUNS) -> dict[str, Any]:
    from showcase import calibration
    from showcase.tasks import digits

    format_name = runtime_format(runtime)
    temperature = calibration.temperature(entry, format_name)
    image = digits.prepare_digit(agreement_drawings(1)[0][1])
    load_times, times, figures = [], [], {}
    for attempt in range(loads):
        context, page, milliseconds = open_runtime(browser, base_url, entry, runtime)
        try:
            load_times.append(milliseconds)
            if attempt == 0:
                times = page.evaluate(TIME_RUNS, {"image": image.ravel().tolist(), "runs": runs})
                figures = agreement(page, agreement_drawings(), temperature)
        finally:
            context.close()
    sizes = asset_bytes(runtime)
    return {"runtime": runtime, "version": runtime_version(runtime), "format": format_name,
            "bytes": {**sizes, "model": entry["artifacts"][format_name]["bytes"]},
            "load_ms": round(statistics.median(load_times), 1), "loads": loads,
            "p50_ms": round(float(np.percentile(times, 50)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3),
            "runs": runs, "agreement": figures}


def measure_or_error(browser, base_url: str, entry: dict[str, Any], runtime: str) -> dict[str, Any]:
    """``measure_runtime``, or the runtime's first error when it cannot run the model (LiteRT.js 2.5.3 refuses a
    model whose batch dimension is dynamic, as the committed ``model.tflite``'s is)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return measure_runtime(browser, base_url, entry, runtime)
    except PlaywrightError as error:
        message = str(error).splitlines()[0].removeprefix("Page.evaluate: ").removeprefix("Error: ")
        return {"runtime": runtime, "version": runtime_version(runtime), "error": message}


def runtime_version(runtime: str) -> str:
    directory = LITERT_BUILD_DIR if runtime == LITERT_PACKAGE else RUNTIME_DIR
    return (directory / "VERSION").read_text().split()[0]


def measure(compare: bool = False) -> dict[str, Any]:
    """The ``extra.browser`` record: onnxruntime-web measured (and LiteRT.js tried beside it with ``compare``)."""
    from playwright.sync_api import sync_playwright

    from appdriver import browser as chromium

    entry = manifest_lib.model_entry("digits")
    with serve_assets() as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium.launch_options())
        try:
            record = measure_runtime(browser, base_url, entry, ORT_PACKAGE)
            if compare:
                if not (LITERT_BUILD_DIR / LITERT_FILES[-1]).exists():
                    raise SystemExit("LiteRT.js is not built: run COMPARE=1 bash scripts/build_browser_runtime.sh")
                record["compared"] = {LITERT_PACKAGE: measure_or_error(browser, base_url, entry, LITERT_PACKAGE)}
            record["browser"] = f"headless Chromium {browser.version}"
        finally:
            browser.close()
    from showcase import bench

    record.update({"machine": bench.machine(), "timer": "performance.now(), rounded to 0.1 ms by Chromium",
                   "command": COMMAND if compare else "python -m appdriver.browser_bench",
                   "created": manifest_lib.utc_now(), "python": platform.python_version()})
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", action="store_true", help="also try LiteRT.js (needs its build)")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave the manifest alone")
    options = parser.parse_args(argv)
    record = measure(options.compare)
    import json

    print(json.dumps(record, indent=2))
    if not options.dry_run:
        entry = manifest_lib.model_entry("digits")
        entry.setdefault("extra", {})["browser"] = record
        manifest_lib.update_model_entry(entry)


if __name__ == "__main__":
    main()
