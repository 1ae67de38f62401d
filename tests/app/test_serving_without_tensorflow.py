"""Serving a model page in TFLite, full-int8 TFLite and ONNX never imports TensorFlow.

Each case runs the page in a fresh process (so that nothing imported earlier counts), gives it a sample input,
switches through every light format the model ships and records the page's first metric after each switch.
TensorFlow is installed here: the check is that nothing on the serving path imports it unless SavedModel is
picked (tests/app/test_without_tensorflow.py covers a host where it is not installed at all).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from showcase import manifest as manifest_lib
from showcase import paths
from showcase.formats import FORMAT_LABELS, SAVEDMODEL
from showcase.tasks import flowers

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")
PRICE_CSV = paths.SAMPLES_DIR / "forecast" / "msft_2012_2013.csv"

SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({entry!r}, default_timeout=120)
app.run()
app.switch_page("pages/{page}.py")
app.run()
{give_input}
metrics = []
for format_name in {formats!r}:
    app.selectbox(key="{page}_format").set_value(format_name).run()
    metrics.append(app.metric[0].value if app.metric else None)
{then}
print(json.dumps({{"tensorflow_imported": "tensorflow" in sys.modules, "metrics": metrics,
                  "exceptions": [str(exception.value)[:300] for exception in app.exception]}}))
"""

FLOWER_SAMPLE = flowers.sample_photos()[0]

# page -> (what the visitor does before picking formats, what they do after, the metric every format shows)
CASES = {
    "digits": ('app.radio(key="digits_input").set_value("MNIST test samples").run()', "", "0"),
    "flowers": ('app.radio(key="flowers_input").set_value("Sample gallery").run()\n'
                f'app.button(key="flowers_sample_{FLOWER_SAMPLE.stem}").click().run()', "",
                flowers.sample_label(FLOWER_SAMPLE)),
    "sentiment": ('app.text_area(key="sentiment_text").set_value("not good at all").run()', "", "Negative"),
    # An uploaded price series is forecast too, after the built-in ones.
    "forecast": ("", 'app.radio(key="forecast_source").set_value("Upload a CSV").run()\n'
                     'app.file_uploader(key="forecast_upload").set_value(\n'
                     f'    ("s.csv", open({str(PRICE_CSV)!r}, "rb").read(), "text/csv")).run()\n'
                     'assert app.metric, "no forecast of the uploaded CSV"', None),
    "gan": ("", "", None),
}


def light_formats(model_name: str) -> list[str]:
    """The model's committed formats other than SavedModel, in the pages' order."""
    artifacts = manifest_lib.model_entry(model_name)["artifacts"]
    return [name for name in FORMAT_LABELS if name in artifacts and name != SAVEDMODEL]


@pytest.mark.parametrize("page", list(CASES))
def test_serving_in_light_formats_never_imports_tensorflow(page):
    give_input, then, expected_metric = CASES[page]
    formats = light_formats(page)
    script = SCRIPT.format(entry=ENTRY, page=page, give_input=give_input, formats=formats, then=then)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                               cwd=paths.REPO_ROOT)
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == []
    assert result["tensorflow_imported"] is False
    assert len(result["metrics"]) == len(formats) >= 2
    if expected_metric is not None:
        assert result["metrics"] == [expected_metric] * len(formats)
    elif page == "forecast":
        assert None not in result["metrics"]
