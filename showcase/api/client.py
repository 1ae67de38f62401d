"""A client of the API with the runtime predictors' interface: ``RestPredictor(url, model).predict(batch)``.

It sends TF Serving's columnar request (``{"inputs": batch}``) to ``/v1/models/<model>:predict`` and returns the
outputs as float32, so the serving classes (and the app, with ``SHOWCASE_API_URL`` set) use a remote model as
they use a local one. ``format_name`` is the format the server serves it in (asked once, from the metadata),
so that calibration temperatures and thresholds are that format's. Each thread keeps its own keep-alive
connection (``http.client`` connections are not thread-safe). ``network_hop`` measures what the hop costs
against the same format in this process (the Formats page shows it).
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any

import numpy as np

from showcase import runtime

URL_VARIABLE = "SHOWCASE_API_URL"


class RemoteError(RuntimeError):
    """The API refused a request or could not be reached; the message has its answer."""


class RestPredictor:
    def __init__(self, base_url: str, model: str, format_name: str | None = None, api_key: str | None = None,
                 timeout: float = 30.0):
        parsed = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"The API address must look like http://host:port, not {base_url!r}.")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._parsed = parsed
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._local = threading.local()
        self.format_name = format_name or self.metadata()["metadata"]["showcase"]["default_format"]
        self._predict_path = f"{parsed.path}/v1/models/{model}:predict?format={self.format_name}"

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._parsed.scheme == "https" else http.client.HTTPConnection
            connection = kind(self._parsed.hostname, self._parsed.port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """One request on this thread's connection (reconnecting once if the server closed it)."""
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=body, headers=self._headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError, OSError) as error:
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise RemoteError(f"The API at {self.base_url} cannot be reached ({error}).") from None
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, body: bytes | None = None) -> dict:
        status, data = self.request(method, path, body)
        try:
            answer = json.loads(data)
        except ValueError:
            raise RemoteError(f"The API at {self.base_url} answered {status} with something that is not JSON.") \
                from None
        if status != 200:
            raise RemoteError(f"The API at {self.base_url} answered {status}: {answer.get('error', answer)}")
        return answer

    def metadata(self) -> dict:
        return self._json("GET", f"{self._parsed.path}/v1/models/{self.model}/metadata")

    def predict(self, batch: np.ndarray) -> np.ndarray:
        body = json.dumps({"inputs": np.asarray(batch).tolist()}).encode()
        return np.asarray(self._json("POST", self._predict_path, body)["outputs"], dtype=np.float32)


def latency_percentiles(predictor, batch: np.ndarray, runs: int) -> dict[str, float]:
    """p50 and p95 (ms) of ``runs`` calls of ``predictor.predict(batch)``, after one call that is not timed."""
    predictor.predict(batch)
    timings = [runtime.timed_predict(predictor, batch)[1] for _ in range(runs)]
    p50, p95 = np.percentile(timings, [50, 95])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2)}


def network_hop(model_name: str, local, remote, batch: np.ndarray, runs: int = 20) -> dict[str, Any]:
    """The same batch predicted in this process and through the API, in the same format: each one's p50 and
    p95, and what the hop adds to the median (JSON encoding, HTTP on loopback or the network, the server's
    parsing)."""
    if local.format_name != remote.format_name:
        raise ValueError(f"Compare the same format: the local predictor is {local.format_name}, the API serves "
                         f"{model_name} as {remote.format_name}.")
    in_process = latency_percentiles(local, batch, runs)
    through_api = latency_percentiles(remote, batch, runs)
    return {"model": model_name, "format": remote.format_name, "runs": runs,
            "in-process p50 (ms)": in_process["p50_ms"], "in-process p95 (ms)": in_process["p95_ms"],
            "REST p50 (ms)": through_api["p50_ms"], "REST p95 (ms)": through_api["p95_ms"],
            "hop p50 (ms)": round(through_api["p50_ms"] - in_process["p50_ms"], 2)}
