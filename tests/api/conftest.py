"""A real ``python -m showcase.api`` server on loopback for the API tests, and a small HTTP client for it."""

from __future__ import annotations

import http.client
import json
import tempfile
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

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 60) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, value, **kwargs) -> Answer:
        return self.request("POST", path, json.dumps(value).encode(), {"Content-Type": "application/json"}, **kwargs)


@pytest.fixture(scope="session")
def api_log():
    with tempfile.TemporaryFile("w+") as log:
        yield log


@pytest.fixture(scope="session")
def api(api_log):
    """One API server for the whole session, with default settings (no API key)."""
    server, port = start_api(output=api_log, environ={"SHOWCASE_API_KEY": ""})
    yield Client(port)
    stop_api(server)
