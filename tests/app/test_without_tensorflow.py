"""AppTest without TensorFlow: what the hosted set (app/requirements.txt) serves.

The app runs in a subprocess whose first import finder refuses ``tensorflow`` and ``keras``, as on a host where
they are not installed. Every page must render, every model page must predict, the format pickers must leave
SavedModel out and say why in one line, and the benchmark must skip SavedModel with that reason. Another
subprocess checks SHOWCASE_FORMATS, the operator's restriction, with TensorFlow importable.
"""

import json
import os
import subprocess
import sys

import pytest

from showcase import paths

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")

BLOCK_TENSORFLOW = """
import importlib.abc, sys

class BlockTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras", "tensorflow_hub"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockTensorFlow())
"""

VISIT_EVERY_PAGE = """
import json, sys
from streamlit.testing.v1 import AppTest
from showcase.tasks import flowers

def open_page(name):
    app = AppTest.from_file({entry!r}, default_timeout=180)
    app.run()
    if name != "home":
        app.switch_page(f"pages/{{name}}.py")
        app.run()
    return app

def report(app, format_key=None):
    return {{
        "exceptions": [str(exception.value)[:500] for exception in app.exception],
        "errors": [error.value for error in app.error],
        "warnings": [warning.value for warning in app.warning],
        "captions": [caption.value for caption in app.caption],
        "metrics": [metric.value for metric in app.metric],
        "images": len(app.get("image")),
        "format_options": list(app.selectbox(key=format_key).options) if format_key else None,
    }}

pages = {{}}
pages["home"] = report(open_page("home"))

app = open_page("digits")
app.radio(key="digits_input").set_value("MNIST test samples").run()
pages["digits"] = report(app, "digits_format")

app = open_page("flowers")
app.radio(key="flowers_input").set_value("Sample gallery").run()
app.button(key="flowers_sample_" + flowers.sample_photos()[0].stem).click().run()
pages["flowers"] = report(app, "flowers_format")

app = open_page("sentiment")
app.text_area(key="sentiment_text").set_value("not good at all").run()
pages["sentiment"] = report(app, "sentiment_format")

pages["forecast"] = report(open_page("forecast"), "forecast_format")

app = open_page("anomaly")
app.radio(key="anomaly_input").set_value("Samples").run()
pages["anomaly"] = report(app, "anomaly_format")

pages["gan"] = report(open_page("gan"), "gan_format")
pages["formats"] = report(open_page("formats"))

result = {{"pages": pages, "tensorflow_imported": "tensorflow" in sys.modules}}
if {with_benchmark!r}:
    from showcase import bench
    figures = bench.run_benchmark(["digits"], ["savedmodel"], runs=5, include_app=False)
    result["benchmark"] = figures["models"]["digits"]["formats"]
print(json.dumps(result))
"""

MODEL_PAGES = ["digits", "flowers", "sentiment", "forecast", "anomaly", "gan"]


def run_app_script(prelude: str, with_benchmark: bool, environ: dict[str, str] | None = None) -> dict:
    script = prelude + VISIT_EVERY_PAGE.format(entry=ENTRY, with_benchmark=with_benchmark)
    env = {key: value for key, value in os.environ.items() if key != "SHOWCASE_FORMATS"} | (environ or {})
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                               cwd=paths.REPO_ROOT, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def without_tensorflow() -> dict:
    return run_app_script(BLOCK_TENSORFLOW, with_benchmark=True)


@pytest.mark.parametrize("page", ["home", *MODEL_PAGES, "formats"])
def test_every_page_renders_without_tensorflow(without_tensorflow, page):
    report = without_tensorflow["pages"][page]
    assert report["exceptions"] == [] and report["errors"] == [], report
    assert without_tensorflow["tensorflow_imported"] is False


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_every_model_page_predicts_without_tensorflow(without_tensorflow, page):
    report = without_tensorflow["pages"][page]
    if page == "gan":
        assert report["images"] > 0, report
    else:
        assert report["metrics"], report
    assert any(" took " in caption for caption in report["captions"]), report


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_the_format_picker_leaves_savedmodel_out_and_says_why(without_tensorflow, page):
    report = without_tensorflow["pages"][page]
    assert report["format_options"] and not any("SavedModel" in option for option in report["format_options"])
    reasons = [caption for caption in report["captions"] if caption.startswith("Not offered here")]
    assert len(reasons) == 1 and "SavedModel" in reasons[0] and "tensorflow" in reasons[0], report["captions"]


def test_the_benchmark_skips_savedmodel_with_the_reason(without_tensorflow):
    figures = without_tensorflow["benchmark"]["savedmodel"]
    assert "p50_ms" not in figures and "tensorflow, which is not installed" in figures["skipped"]


@pytest.fixture(scope="module")
def restricted_to_onnx() -> dict:
    # 'bogus' is not a format: the pages say so and serve what the rest of the list allows.
    return run_app_script("", with_benchmark=False, environ={"SHOWCASE_FORMATS": "onnx, bogus"})


@pytest.mark.parametrize("page", MODEL_PAGES)
def test_showcase_formats_restricts_the_picker_and_names_unknown_entries(restricted_to_onnx, page):
    report = restricted_to_onnx["pages"][page]
    assert report["exceptions"] == [] and report["errors"] == [], report
    assert report["format_options"] and all("ONNX fp32" in option for option in report["format_options"])
    assert any("'bogus', which is not a format" in warning for warning in report["warnings"]), report["warnings"]
    assert any(caption.startswith("Not offered here") and "SHOWCASE_FORMATS" in caption
               for caption in report["captions"]), report["captions"]
    assert restricted_to_onnx["tensorflow_imported"] is False


def test_a_restriction_that_leaves_a_model_no_format_says_so_on_its_page():
    script = """
import json
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({entry!r}, default_timeout=120)
app.run()
app.switch_page("pages/digits.py")
app.run()
print(json.dumps({{"errors": [error.value for error in app.error], "exceptions": len(app.exception)}}))
""".format(entry=ENTRY)
    env = os.environ | {"SHOWCASE_FORMATS": "onnx_int8"}  # A variant: no model page serves it.
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                               cwd=paths.REPO_ROOT, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == 0
    assert len(result["errors"]) == 1 and "offers no format of the digits model" in result["errors"][0]
