"""Bad input never gives a 500: a corpus of bad requests gets 4xx answers that say what was expected, and the
server keeps serving. The app's own hostile inputs (tests/app/hostile_cases.py) go through the task routes too."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from showcase import manifest as manifest_lib
from showcase import runtime
from tests.app import hostile_cases as hostile

DIGIT = np.zeros((28, 28, 1)).tolist()
TOKENS = [0] * manifest_lib.model_entry("sentiment")["input"]["shape"][-1]


def digits_body(text: str) -> tuple[str, str, bytes, dict]:
    return "POST", "/v1/models/digits:predict", text.encode(), {"Content-Type": "application/json"}


def predict(model: str, value, path_suffix: str = "") -> tuple[str, str, bytes, dict]:
    return "POST", f"/v1/models/{model}{path_suffix}:predict", json.dumps(value).encode(), {
        "Content-Type": "application/json"}


def upload(route: str, data: bytes, content_type: str = "image/png") -> tuple[str, str, bytes, dict]:
    return "POST", route, data, {"Content-Type": content_type}


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# (id, request, words the message must contain). Every one must get a 4xx JSON {"error": ...}.
CORPUS = [
    ("malformed_json", digits_body("{bad"), "Malformed JSON"),
    ("empty_body", digits_body(""), "empty"),
    ("json_list_not_object", digits_body("[1, 2]"), "object"),
    ("json_string", digits_body('"instances"'), "object"),
    ("both_layouts", predict("digits", {"instances": [DIGIT], "inputs": [DIGIT]}), "exactly one"),
    ("neither_layout", predict("digits", {"signature_name": "serving_default"}), "exactly one"),
    ("instances_not_list", predict("digits", {"instances": 5}), "must be a list"),
    ("empty_batch", predict("digits", {"instances": []}), "empty"),
    ("empty_columnar_batch", predict("digits", {"inputs": []}), "empty"),
    ("ragged_instances", predict("digits", {"instances": [DIGIT, [[0.0]]]}), "ragged"),
    ("wrong_shape", predict("digits", {"instances": [np.zeros((27, 28, 1)).tolist()]}), "(28, 28, 1)"),
    ("missing_channel", predict("digits", {"instances": [np.zeros((28, 28)).tolist()]}), "(28, 28, 1)"),
    ("scalar_inputs", predict("digits", {"inputs": 3.0}), "(28, 28, 1)"),
    ("strings", predict("digits", {"instances": [[["a"] * 1] * 28] * 1}), "strings"),
    ("booleans", predict("digits", {"instances": [[[[True]] * 28] * 28]}), "booleans"),
    ("nulls", predict("digits", {"instances": [[[[None]] * 28] * 28]}), "nulls"),
    ("nan_literal", digits_body('{"instances": [NaN]}'), "finite"),
    ("infinity_literal", digits_body('{"instances": [-Infinity]}'), "finite"),
    ("overflow_float64", digits_body('{"instances": [' + json.dumps(DIGIT).replace("0.0", "1e400", 1) + "]}"),
     "finite"),
    ("overflow_float32", predict("digits", {"instances": [[[[1e39]] * 28] * 28]}), "finite"),
    ("fractional_token_ids", predict("sentiment", {"instances": [[1.5] * len(TOKENS)]}), "whole number"),
    ("negative_token_ids", predict("sentiment", {"instances": [[-1] * len(TOKENS)]}), "[0,"),
    ("token_id_out_of_range", predict("sentiment", {"instances": [[10**7] * len(TOKENS)]}), "[0,"),
    ("token_id_too_big_for_int", predict("sentiment", {"instances": [[10**30] * len(TOKENS)]}), "int32"),
    ("wrong_signature", predict("digits", {"signature_name": "classify", "instances": [DIGIT]}), "serving_default"),
    ("wrong_input_name", predict("digits", {"instances": [{"pixels": DIGIT}]}), "'image'"),
    ("unknown_model", predict("resnet", {"instances": [DIGIT]}), "Servable not found"),
    ("unknown_version", predict("digits", {"instances": [DIGIT]}, "/versions/7"), "version 1"),
    ("unknown_format", ("POST", "/v1/models/digits:predict?format=tensorrt", b"{}", {}), "Unknown format"),
    ("format_without_artifact", ("POST", "/v1/models/sentiment:predict?format=tflite_int8", b"{}", {}),
     "Unknown format"),
    ("unknown_model_metadata", ("GET", "/v1/models/resnet/metadata", None, {}), "Servable not found"),
    ("unknown_version_status", ("GET", "/v1/models/digits/versions/0", None, {}), "version 1"),
    ("not_utf8", ("POST", "/v1/models/digits:predict", b"\xff\xfe\x00{", {"Content-Type": "application/json"}),
     "UTF-8"),
    ("deeply_nested", digits_body("[" * 100_000 + "]" * 100_000), "deeply"),
    ("batch_over_limit", predict("digits", {"instances": [DIGIT] * 65}), "limit is 64"),
    ("content_length_over_limit", ("POST", "/v1/models/digits:predict", b"{}",
                                   {"Content-Length": str(10**9)}), "limit"),
    ("non_image_bytes", upload("/v1/tasks/digits", b"These are my notes, not a picture."), "not an image"),
    ("empty_upload", upload("/v1/tasks/flowers", b""), "empty"),
    ("decompression_bomb", upload("/v1/tasks/flowers", hostile.png_header_only(60_000, 60_000)), "too large"),
    ("truncated_png", upload("/v1/tasks/anomaly", hostile.truncated(png(hostile.dark_digit_on_white()))), "damaged"),
    ("blank_image", upload("/v1/tasks/digits", png(Image.new("L", (64, 64), 255))), "blank"),
    ("multipart_without_file", upload("/v1/tasks/digits", b"--b\r\nContent-Disposition: form-data; name=\"x\""
                                      b"\r\n\r\n1\r\n--b--\r\n", "multipart/form-data; boundary=b"), "'file'"),
    ("unknown_corruption", upload("/v1/tasks/anomaly?corruption=Blur", png(hostile.mnist_seven())), "corruption"),
    ("task_unknown_format", upload("/v1/tasks/digits?format=onnx_int8", png(hostile.mnist_seven())), "format"),
    ("empty_review", ("POST", "/v1/tasks/sentiment", b'{"text": "  "}', {"Content-Type": "application/json"}),
     "empty"),
    ("review_not_text", ("POST", "/v1/tasks/sentiment", b'{"text": 5}', {"Content-Type": "application/json"}),
     "text"),
    ("binary_review_csv", upload("/v1/tasks/sentiment/csv", hostile.random_bytes(), "text/csv"), "CSV"),
    ("unknown_ticker", ("GET", "/v1/tasks/forecast?ticker=TSLA", None, {}), "ticker"),
    ("horizon_out_of_range", ("GET", "/v1/tasks/forecast?horizon=31", None, {}), "horizon"),
    ("horizon_not_a_number", ("GET", "/v1/tasks/forecast?horizon=soon", None, {}), "horizon"),
    ("price_csv_too_short", upload("/v1/tasks/forecast", hostile.price_csv(40).encode(), "text/csv"), "60"),
    ("price_csv_one_column", upload("/v1/tasks/forecast", hostile.PRICE_CSV_CASES["one_column"], "text/csv"), ""),
    ("gan_digit_out_of_range", ("GET", "/v1/tasks/gan?digit=11", None, {}), "digit"),
    ("gan_seed_negative", ("GET", "/v1/tasks/gan?seed=-1", None, {}), "seed"),
    ("gan_unknown_output", ("GET", "/v1/tasks/gan?output=svg", None, {}), "png or json"),
    ("predict_with_get", ("GET", "/v1/models/digits:predict", None, {}), ""),
    ("unknown_route", ("GET", "/v2/everything", None, {}), "No route"),
]


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("request_", [case[1] for case in CORPUS], ids=[case[0] for case in CORPUS])
def test_a_bad_request_gets_a_4xx_with_a_message(api, request_):
    method, path, body, headers = request_
    answer = api.request(method, path, body, headers)
    assert 400 <= answer.status < 500, (answer.status, answer.body[:300])
    message = answer.json()["error"]
    expected = next(words for _, case, words in CORPUS if case is request_)
    assert message and expected.lower() in message.lower(), message


def test_the_server_still_serves_after_the_corpus(api):
    entry = manifest_lib.model_entry("digits")
    answer = api.post_json("/v1/models/digits:predict", {"instances": runtime.example_batch(entry).tolist()})
    assert answer.status == 200
    metrics = api.get("/metrics").body.decode()
    assert 'status="500"' not in metrics


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(restricted):
    chunks = (b"x" * 10_000 for _ in range(8))
    answer = restricted.request("POST", "/v1/tasks/digits", chunks)
    assert answer.status == 413 and "50,000" in answer.json()["error"]


def test_the_batch_limit_comes_from_the_environment(restricted):
    answer = restricted.post_json("/v1/models/digits:predict", {"instances": [DIGIT] * 3})
    assert answer.status == 400 and "limit is 2" in answer.json()["error"]


@pytest.mark.parametrize("case", sorted(hostile.IMAGE_CASES))
def test_hostile_images_never_get_a_5xx(api, case):
    _, builder = hostile.IMAGE_CASES[case]
    answer = api.request("POST", "/v1/tasks/digits", builder(), {"Content-Type": "application/octet-stream"})
    assert answer.status == 200 or 400 <= answer.status < 500, (answer.status, answer.body[:300])
    if case.endswith("control"):
        assert answer.status == 200


@pytest.mark.parametrize("case", sorted(hostile.PRICE_CSV_CASES))
def test_hostile_price_files_never_get_a_5xx(api, case):
    answer = api.request("POST", "/v1/tasks/forecast", hostile.PRICE_CSV_CASES[case], {"Content-Type": "text/csv"})
    assert answer.status == 200 or 400 <= answer.status < 500, (answer.status, answer.body[:300])


@pytest.mark.parametrize("case", sorted(hostile.GAN_QUERIES))
def test_hostile_gan_queries_never_get_a_5xx(api, case):
    import urllib.parse

    answer = api.get("/v1/tasks/gan?" + urllib.parse.urlencode(hostile.GAN_QUERIES[case]))
    assert answer.status == 200 or 400 <= answer.status < 500, (answer.status, answer.body[:300])
