"""Operations on a real server: the API key, the concurrency limit, Prometheus metrics and the per-request log."""

import http.client
import json
import time

import numpy as np

from tests.api.conftest import Client

DIGIT = np.zeros((1, 28, 28, 1)).tolist()


def without_key(client: Client) -> Client:
    return Client(client.port)


def test_the_api_key_protects_every_model_route(restricted):
    anonymous = without_key(restricted)
    for path in ("/v1/models/digits", "/v1/models/digits/metadata", "/v1/tasks/gan", "/v1/tasks/forecast"):
        answer = anonymous.get(path)
        assert answer.status == 401 and "Bearer" in answer.json()["error"], path
        assert answer.headers["www-authenticate"] == "Bearer"
    wrong = anonymous.get("/v1/models/digits", headers={"Authorization": "Bearer not-the-key"})
    assert wrong.status == 401
    assert anonymous.post_json("/v1/models/digits:predict", {"instances": DIGIT}).status == 401


def test_health_stays_open_and_the_key_lets_requests_through(restricted):
    assert without_key(restricted).get("/v1/health").status == 200
    assert restricted.post_json("/v1/models/digits:predict", {"instances": DIGIT}).status == 200


def test_past_the_concurrency_limit_the_api_answers_503_at_once(restricted):
    # Hold one request in flight: its chunked body is not finished until we say so.
    held = http.client.HTTPConnection("127.0.0.1", restricted.port, timeout=30)
    held.putrequest("POST", "/v1/models/digits:predict")
    for name, value in {**restricted.headers, "Content-Type": "application/json",
                        "Transfer-Encoding": "chunked"}.items():
        held.putheader(name, value)
    held.endheaders()
    body = json.dumps({"instances": DIGIT}).encode()
    held.send(b"%x\r\n%s\r\n" % (10, body[:10]))
    try:
        refused = restricted.get("/v1/models/digits")
        assert refused.status == 503 and refused.headers["retry-after"] == "1"
        assert "limit of 1" in refused.json()["error"]
    finally:
        rest = body[10:]
        held.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(rest), rest))
        finished = held.getresponse()
        assert finished.status == 200
        held.close()
    assert restricted.get("/v1/models/digits").status == 200


def metric_lines(client: Client) -> list[str]:
    return [line for line in client.get("/metrics").body.decode().splitlines() if not line.startswith("#")]


def test_prometheus_metrics_count_requests_latency_in_flight_and_load_time(restricted):
    restricted.post_json("/v1/models/digits:predict?format=onnx", {"instances": DIGIT})
    lines = metric_lines(restricted)
    assert any(line.startswith("showcase_api_requests_total{") and 'model="digits"' in line
               and 'format="onnx"' in line and 'status="200"' in line for line in lines)
    assert any(line.startswith("showcase_api_request_seconds_bucket{") and 'model="digits"' in line
               and 'format="onnx"' in line and 'status="200"' in line for line in lines)
    assert any(line.startswith("showcase_api_in_flight_requests ") for line in lines)
    load = [line for line in lines if line.startswith('showcase_api_model_load_seconds{format="onnx",model="digits"}')]
    assert load and float(load[0].split()[-1]) > 0


def log_records(log_path, path: str, count: int, timeout: float = 10.0) -> list[dict]:
    """The log's records for ``path``, once ``count`` are there: a line is written after its response is sent."""
    deadline = time.monotonic() + timeout
    while True:
        records = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
        mine = [record for record in records if record["path"] == path]
        if len(mine) >= count or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def test_one_json_log_line_per_request(restricted, restricted_log):
    path = "/v1/models/gan/versions/1/metadata"
    for _ in range(3):
        assert restricted.get(path).status == 200
    assert without_key(restricted).get(path).status == 401
    mine = log_records(restricted_log, path, count=4)
    assert [record["status"] for record in mine] == [200, 200, 200, 401]
    assert {"time", "request_id", "method", "ms", "model", "format", "client"} <= set(mine[0])
    assert mine[0]["model"] == "gan"
