"""The API on Ray Serve (``python -m showcase.ray_serve`` with deploy/ray-serve.yaml, two replicas), started
on loopback: every model answers ``:predict`` as the same app does in this process, in the same format; errors
are the app's own; and the deployment is gone within a bounded time after it is stopped."""

from __future__ import annotations

import importlib.util
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from appdriver import apiload
from appdriver.api import wait_for_api
from showcase import manifest as manifest_lib
from showcase import runtime

# Found, not imported: only the server's process needs Ray.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray Serve is not installed (requirements-ray.txt)")
REPLICAS = 2


def post(port: int, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_ray_serve_answers_every_model_as_in_process_and_stops(tmp_path):
    from showcase.api import ModelStore

    store = ModelStore()
    with apiload.ray_serve_api(REPLICAS, tmp_path) as port:
        for name, entry in manifest_lib.load_manifest()["models"].items():
            body = {"instances": runtime.example_batch(entry, batch_size=2, seed=3).tolist()}
            status, answer = post(port, f"/v1/models/{name}:predict", body)
            assert status == 200, (name, answer)
            expected, _ = store.predict(name, None, None, json.dumps(body).encode(), max_batch=64)
            np.testing.assert_allclose(answer["predictions"], expected["predictions"], rtol=1e-5, atol=1e-6,
                                       err_msg=name)
        status, answer = post(port, "/v1/models/nope:predict", {"instances": [1]})
        assert status == 404 and "nope" in answer["error"]
        stopping = time.perf_counter()
    assert time.perf_counter() - stopping < 2 * apiload.STOP_TIMEOUT_S
    assert not wait_for_api(port, time.perf_counter() + 1)
