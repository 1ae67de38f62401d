"""TF Serving's REST protocol against a real server: a client written to TF Serving's documentation works as it is.

Shapes from https://www.tensorflow.org/tfx/serving/api_rest: GET status and metadata, POST predict in the row
("instances" -> "predictions") and columnar ("inputs" -> "outputs") formats, signature_name, /versions/{v}.
"""

import numpy as np
import pytest

from showcase import manifest as manifest_lib
from showcase import runtime, tasks
from showcase.api import SIGNATURE, VERSION, fastest_format
from showcase.api.serving import read_benchmarks
from showcase.formats import offered_formats

MODELS = tasks.names()


def test_health_lists_every_model(api):
    answer = api.get("/v1/health")
    assert answer.status == 200
    assert answer.json()["models"] == sorted(MODELS)


@pytest.mark.parametrize("path", ["/v1/models/digits", f"/v1/models/digits/versions/{VERSION}"])
def test_status_has_tf_servings_shape(api, path):
    assert api.get(path).json() == {"model_version_status": [
        {"version": str(VERSION), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


@pytest.mark.parametrize("name", MODELS)
def test_metadata_describes_the_signature_and_the_manifest(api, name):
    entry = manifest_lib.model_entry(name)
    metadata = api.get(f"/v1/models/{name}/metadata").json()
    assert metadata["model_spec"] == {"name": name, "signature_name": "", "version": str(VERSION)}
    signature = metadata["metadata"]["signature_def"]["signature_def"][SIGNATURE]
    (tensor,) = signature["inputs"].values()
    assert tensor["dtype"] == {"float32": "DT_FLOAT", "int32": "DT_INT32"}[entry["input"]["dtype"]]
    assert [int(dim["size"]) for dim in tensor["tensor_shape"]["dim"]] == [-1, *entry["input"]["shape"][1:]]
    output_dims = [[int(dim["size"]) for dim in output["tensor_shape"]["dim"]]
                   for output in signature["outputs"].values()]
    predicted = runtime.load(name, fastest_format(entry, read_benchmarks())).predict(runtime.example_batch(entry))
    # One output is what ``predict`` returns; flowers also has its logits and features.
    assert [-1, *predicted.shape[1:]] in output_dims
    showcase = metadata["metadata"]["showcase"]
    assert showcase["labels"] == entry["labels"] and showcase["metrics"] == entry["metrics"]
    assert showcase["default_format"] == fastest_format(entry, read_benchmarks())


@pytest.mark.parametrize("name", MODELS)
def test_row_format_predicts_as_the_runtime_does(api, name):
    entry = manifest_lib.model_entry(name)
    batch = runtime.example_batch(entry, batch_size=3, seed=1)
    answer = api.post_json(f"/v1/models/{name}:predict", {"signature_name": SIGNATURE, "instances": batch.tolist()})
    assert answer.status == 200, answer.body
    served = fastest_format(entry, read_benchmarks())
    expected = runtime.load(name, served).predict(batch)
    np.testing.assert_allclose(np.asarray(answer.json()["predictions"]), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("format_name", [name for name in offered_formats(manifest_lib.model_entry("digits")
                                                                         ["artifacts"]) if name != "savedmodel"])
def test_columnar_format_with_a_named_input_and_a_version(api, format_name):
    entry = manifest_lib.model_entry("digits")
    batch = runtime.example_batch(entry, batch_size=2, seed=2)
    metadata = api.get("/v1/models/digits/metadata").json()
    (input_name,) = metadata["metadata"]["signature_def"]["signature_def"][SIGNATURE]["inputs"]
    answer = api.post_json(f"/v1/models/digits/versions/{VERSION}:predict?format={format_name}",
                           {"inputs": {input_name: batch.tolist()}})
    assert answer.status == 200, answer.body
    expected = runtime.load("digits", format_name).predict(batch)
    np.testing.assert_allclose(np.asarray(answer.json()["outputs"]), expected, rtol=1e-5, atol=1e-6)


def test_instances_may_name_the_input(api):
    entry = manifest_lib.model_entry("sentiment")
    batch = runtime.example_batch(entry, batch_size=2)
    rows = [{"token_ids": row} for row in batch.tolist()]
    answer = api.post_json("/v1/models/sentiment:predict", {"instances": rows})
    assert answer.status == 200, answer.body
    assert np.asarray(answer.json()["predictions"]).shape == (2, 1)
