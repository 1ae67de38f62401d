"""A real ``python -m showcase.api`` server on loopback for the API tests, and a small HTTP client for it."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

import pytest

from appdriver.api import start_api, stop_api


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Client:
    """Raw HTTP requests to one server (http.client: no retries, no body rewriting)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.headers = headers or {}

    def request(self, method: str, path: str, body=None, headers: dict[str, str] | None = None,
                timeout: float = 60) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            chunked = body is not None and not isinstance(body, bytes)  # an iterable of chunks
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})},
                               encode_chunked=chunked)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, value, **kwargs) -> Answer:
        return self.request("POST", path, json.dumps(value).encode(), {"Content-Type": "application/json"}, **kwargs)


def serve(log_path, environ: dict[str, str]):
    """Start a server logging to ``log_path`` (appended to, so that reading it never moves the server's writes)."""
    with open(log_path, "ab") as log:
        return start_api(output=log, environ={"SHOWCASE_API_KEY": "", **environ})


@pytest.fixture(scope="session")
def api_log(tmp_path_factory):
    return tmp_path_factory.mktemp("api") / "api.log"


@pytest.fixture(scope="session")
def api(api_log):
    """One API server for the whole session, with default settings (no API key)."""
    server, port = serve(api_log, {})
    yield Client(port)
    stop_api(server)


API_KEY = "test-key-7f3a"


@pytest.fixture(scope="session")
def restricted_log(tmp_path_factory):
    return tmp_path_factory.mktemp("api") / "restricted.log"


@pytest.fixture(scope="session")
def restricted(restricted_log):
    """A server with an API key and small limits (50 kB bodies, batches of 2, one request in flight); its client
    sends the key."""
    server, port = serve(restricted_log, {"SHOWCASE_API_KEY": API_KEY, "SHOWCASE_API_MAX_BODY_BYTES": "50000",
                                          "SHOWCASE_API_MAX_BATCH": "2", "SHOWCASE_API_MAX_CONCURRENT": "1"})
    yield Client(port, headers={"Authorization": f"Bearer {API_KEY}"})
    stop_api(server)
