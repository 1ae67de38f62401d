"""The API mounted into a real ``streamlit run`` server (``st.App(..., routes=...)`` in app/streamlit_app.py): the
app's own port answers ``/v1/...`` as ``python -m showcase.api`` does, and still serves the app."""

import time
import urllib.request

import numpy as np
import pytest

from appdriver.server import free_port, start_app, stop_app, wait_for_health
from showcase import manifest as manifest_lib
from showcase import runtime
from showcase.api import SIGNATURE, fastest_format
from showcase.api.serving import read_benchmarks
from tests.api.conftest import Client

START_SECONDS = 90


@pytest.fixture(scope="module")
def app_port(tmp_path_factory):
    port = free_port()
    with open(tmp_path_factory.mktemp("streamlit") / "app.log", "ab") as log:
        server = start_app(port, output=log)
    try:
        if not wait_for_health(port, time.perf_counter() + START_SECONDS):
            pytest.fail(f"streamlit run did not become healthy on port {port} within {START_SECONDS} s")
        yield port
    finally:
        stop_app(server)


def test_the_apps_port_answers_the_apis_health(app_port):
    answer = Client(app_port).get("/v1/health")
    assert answer.status == 200
    assert answer.json()["status"] == "ok"


def test_the_apps_port_predicts_as_the_runtime_does(app_port):
    entry = manifest_lib.model_entry("digits")
    batch = runtime.example_batch(entry, batch_size=2, seed=3)
    answer = Client(app_port).post_json("/v1/models/digits:predict",
                                        {"signature_name": SIGNATURE, "instances": batch.tolist()})
    assert answer.status == 200, answer.body
    expected = runtime.load("digits", fastest_format(entry, read_benchmarks())).predict(batch)
    np.testing.assert_allclose(np.asarray(answer.json()["predictions"]), expected, rtol=1e-5, atol=1e-6)


def test_the_apps_port_still_serves_the_app(app_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{app_port}/", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200 and "<div id=\"root\">" in page
    assert Client(app_port).get("/v1/models/no-such-model").status == 404
