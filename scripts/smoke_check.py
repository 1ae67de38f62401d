"""The smoke check that scripts/smoke_versions.sh runs on each extra Python version.

    python scripts/smoke_check.py reference OUT.npz   # on the default interpreter: inputs and outputs
    python scripts/smoke_check.py check OUT.npz       # on another interpreter: every page, same outputs

``reference`` makes one seeded batch per model from the manifest's input description and predicts it in each
light format (every committed format but SavedModel). ``check`` predicts the same inputs with this interpreter
and compares them with the reference within the manifest's tolerance for that model and format (the largest
difference from SavedModel it records, or 1e-5 where it records none), then runs every page in AppTest with
one prediction on each model page. It needs only the serving set, not pytest.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.formats import SAVEDMODEL

BATCH = 2
SEED = 16
SMALLEST_TOLERANCE = 1e-5


def light_formats(entry: dict) -> list[str]:
    return [name for name in entry["artifacts"] if name != SAVEDMODEL]


def sample_input(entry: dict, rng: np.random.Generator) -> np.ndarray:
    """A seeded batch of the shape, type and range the manifest gives for the model's input."""
    shape = [BATCH, *entry["input"]["shape"][1:]]
    low, high = entry["input"]["range"]
    if entry["input"]["dtype"].startswith("int"):
        return rng.integers(int(low), min(int(high), 1000), size=shape).astype(entry["input"]["dtype"])
    return rng.uniform(low, high, size=shape).astype(entry["input"]["dtype"])


def tolerance(entry: dict, format_name: str) -> float:
    """The manifest's own figure for how far this format may stray from SavedModel's outputs."""
    figures = entry["metrics"].get("per_format", {}).get(format_name, {})
    differences = [value for key, value in figures.items() if "difference" in key]
    return max(min(differences, default=0.0), SMALLEST_TOLERANCE)


def write_reference(path: Path) -> None:
    rng = np.random.default_rng(SEED)
    arrays = {}
    for name, entry in sorted(manifest_lib.load_manifest()["models"].items()):
        batch = sample_input(entry, rng)
        arrays[f"{name}/input"] = batch
        for format_name in light_formats(entry):
            arrays[f"{name}/{format_name}"] = runtime.load(name, format_name).predict(batch)
    np.savez(path, **arrays)
    print(f"Reference outputs of {len(arrays)} arrays on Python {platform.python_version()} -> {path}")


def compare_predictions(path: Path) -> list[str]:
    """One prediction per model per light format, against the default interpreter's; returns the failures."""
    failures = []
    models = manifest_lib.load_manifest()["models"]
    with np.load(path, allow_pickle=False) as reference:
        for name, entry in sorted(models.items()):
            for format_name in light_formats(entry):
                output = runtime.load(name, format_name).predict(reference[f"{name}/input"])
                expected = reference[f"{name}/{format_name}"]
                allowed = tolerance(entry, format_name)
                difference = float(np.abs(output - expected).max()) if output.shape == expected.shape else np.inf
                verdict = "ok" if difference <= allowed else "DIFFERENT"
                print(f"  {name:12s} {format_name:12s} differs by {difference:.3g} (allowed {allowed:.3g}) {verdict}")
                if verdict != "ok":
                    failures.append(f"{name} {format_name}: outputs differ by {difference:.3g} > {allowed:.3g}")
    return failures


def open_page(name: str):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(paths.REPO_ROOT / "app" / "streamlit_app.py"), default_timeout=180)
    app.run()
    if name != "home":
        app.switch_page(f"pages/{name}.py")
        app.run()
    return app


def visit_pages() -> dict:
    """Every page in AppTest, with one prediction on each model page."""
    from showcase.tasks import flowers

    apps = {"home": open_page("home")}
    app = apps["digits"] = open_page("digits")
    app.radio(key="digits_input").set_value("MNIST test samples").run()
    app = apps["flowers"] = open_page("flowers")
    app.radio(key="flowers_input").set_value("Sample gallery").run()
    app.button(key="flowers_sample_" + flowers.sample_photos()[0].stem).click().run()
    app = apps["sentiment"] = open_page("sentiment")
    app.text_area(key="sentiment_text").set_value("not good at all").run()
    apps["forecast"] = open_page("forecast")
    app = apps["anomaly"] = open_page("anomaly")
    app.radio(key="anomaly_input").set_value("Samples").run()
    apps["gan"] = open_page("gan")
    apps["formats"] = open_page("formats")
    return apps


def check_pages() -> list[str]:
    failures = []
    for name, app in visit_pages().items():
        problems = [str(exception.value)[:300] for exception in app.exception] + [e.value for e in app.error]
        shown = sum(len(app.get(kind)) for kind in ("metric", "image", "vega_lite_chart", "dataframe", "table"))
        print(f"  page {name:10s} {len(problems)} exceptions or errors, {shown} metrics, images, charts and tables")
        failures += [f"page {name}: {problem}" for problem in problems]
        if name != "home" and not shown:
            failures.append(f"page {name}: showed no result")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["reference", "check"])
    parser.add_argument("reference", type=Path, help="the .npz of inputs and reference outputs")
    args = parser.parse_args(argv)
    if args.mode == "reference":
        write_reference(args.reference)
        return 0
    print(f"Python {platform.python_version()}: predictions against the default interpreter's")
    failures = compare_predictions(args.reference)
    print(f"Python {platform.python_version()}: every page in AppTest")
    failures += check_pages()
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
