"""What every request goes through: settings, errors, the API key, the concurrency limit, metrics and the log.

``Operations`` is one pure ASGI middleware (cheaper per request than Starlette's ``BaseHTTPMiddleware``). For each
HTTP request it

- refuses a body whose ``Content-Length`` is over the limit (413) before the route reads it;
- checks ``Authorization: Bearer <key>`` on the model routes when ``SHOWCASE_API_KEY`` is set (401);
- counts the requests in flight and answers 503 with ``Retry-After`` past ``SHOWCASE_API_MAX_CONCURRENT``, so that
  a burst is refused at once rather than queued without bound;
- records the Prometheus metrics (``Metrics``) and writes one JSON log line (logger ``showcase.api``).

Routes say which model and format served them in ``request.state.model`` / ``request.state.format``; the metrics
and the log line read them there.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

LOGGER = logging.getLogger("showcase.api")

# Paths under these prefixes are model routes: the API key protects them and the concurrency limit counts them.
MODEL_ROUTE_PREFIXES = ("/v1/models", "/v1/tasks")
# Latency buckets (seconds) from a sub-millisecond digit to a large photo upload.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

API_KEY_VARIABLE = "SHOWCASE_API_KEY"


class ApiError(Exception):
    """A request the API refuses: ``status`` (4xx) and a message naming what was expected."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _positive_int(environ: dict[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """The API's limits and key; ``from_environment`` reads them from ``SHOWCASE_API_*`` variables."""

    api_key: str | None = None
    max_concurrent: int = 64  # model requests in flight before the API answers 503
    max_body_bytes: int = 20 * 2**20  # any request body: JSON tensors, an image, a CSV
    max_batch: int = 64  # instances in one :predict request
    prometheus_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR, set when several workers share the metrics

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        return cls(
            api_key=environ.get(API_KEY_VARIABLE) or None,
            max_concurrent=_positive_int(environ, "SHOWCASE_API_MAX_CONCURRENT", cls.max_concurrent),
            max_body_bytes=_positive_int(environ, "SHOWCASE_API_MAX_BODY_BYTES", cls.max_body_bytes),
            max_batch=_positive_int(environ, "SHOWCASE_API_MAX_BATCH", cls.max_batch),
            prometheus_dir=environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
        )


@dataclass
class Metrics:
    """The API's Prometheus metrics, in a registry of their own (several apps can live in one test process).

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``python -m showcase.api --workers 2`` sets it), every worker writes its
    figures there and ``/metrics`` adds them up, whichever worker answers.
    """

    prometheus_dir: str | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self):
        shared = self.prometheus_dir is not None
        registry = None if shared else self.registry
        self.requests = Counter("showcase_api_requests_total", "Requests answered, by route, model, format and status.",
                                ["route", "model", "format", "status"], registry=registry)
        self.latency = Histogram("showcase_api_request_seconds", "Request latency, by model, format and status.",
                                 ["model", "format", "status"], buckets=LATENCY_BUCKETS, registry=registry)
        self.in_flight = Gauge("showcase_api_in_flight_requests", "Model requests being served now.",
                               registry=registry, **({"multiprocess_mode": "livesum"} if shared else {}))
        self.rejected = Counter("showcase_api_rejected_total", "Requests refused before a route ran, by reason.",
                                ["reason"], registry=registry)
        self.load_seconds = Gauge("showcase_api_model_load_seconds", "Seconds one model format took to load.",
                                  ["model", "format"], registry=registry,
                                  **({"multiprocess_mode": "max"} if shared else {}))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        if self.prometheus_dir is None:
            return generate_latest(self.registry)
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected, path=self.prometheus_dir)
        return generate_latest(collected)


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> tuple[dict, bytes]:
    """The ASGI start message and body of a TF Serving style error, ``{"error": "..."}``."""
    body = json.dumps({"error": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return {"type": "http.response.start", "status": status, "headers": raw_headers}, body


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def route_label(path: str) -> str:
    """A low-cardinality route name for the metrics: the path with the model name and version taken out."""
    if path.startswith("/v1/models/"):
        rest = path[len("/v1/models/"):]
        verb = rest.rsplit(":", 1)[1] if ":" in rest else ("metadata" if rest.endswith("/metadata") else "status")
        return f"/v1/models/{{name}}:{verb}" if verb in ("predict", "classify", "regress") else f"/v1/models/{{name}}/{verb}"
    if path.startswith("/v1/tasks/"):
        return path
    return path if path in ("/v1/health", "/v1/models", "/metrics", "/docs", "/openapi.json") else "other"


class Refusal(NamedTuple):
    status: int
    message: str
    reason: str  # the rejected-requests metric's label
    headers: Mapping[str, str] = MappingProxyType({})


class Operations:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: Callable, settings: Settings, metrics: Metrics):
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.in_flight = 0  # model requests only; the event loop is single-threaded, so a plain int is safe
        self._key = settings.api_key.encode() if settings.api_key else None

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable[[dict], Awaitable[None]]):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        model_route = path.startswith(MODEL_ROUTE_PREFIXES)
        state = scope["state"] = dict(scope.get("state") or {})
        status_holder = {"status": 500, "bytes": 0}

        async def recording_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            elif message["type"] == "http.response.body":
                status_holder["bytes"] += len(message.get("body", b""))
            await send(message)

        refusal = self._refusal(scope, model_route)
        counted = False
        try:
            if refusal is not None:
                self.metrics.rejected.labels(refusal.reason).inc()
                start_message, body = json_error(refusal.status, refusal.message, refusal.headers)
                await recording_send(start_message)
                await recording_send({"type": "http.response.body", "body": body})
                return
            if model_route:
                self.in_flight += 1
                counted = True
                self.metrics.in_flight.inc()
            await self.app(scope, receive, recording_send)
        finally:
            if counted:
                self.in_flight -= 1
                self.metrics.in_flight.dec()
            self._record(scope, state, status_holder, time.perf_counter() - start)

    def _refusal(self, scope: dict[str, Any], model_route: bool) -> Refusal | None:
        """Why the request is refused before any route runs, or None."""
        length = _header(scope, b"content-length")
        limit = self.settings.max_body_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            message = f"The request body is over the limit of {limit:,} bytes (Content-Length {length})."
            return Refusal(413, message, "body_too_large")
        if not model_route:
            return None
        if self._key is not None and not self._authorised(scope):
            message = (f"This route needs the API key: send the header 'Authorization: Bearer <key>' (the server's "
                       f"{API_KEY_VARIABLE}).")
            return Refusal(401, message, "unauthorised", {"WWW-Authenticate": "Bearer"})
        if self.in_flight >= self.settings.max_concurrent:
            message = f"The server is at its limit of {self.settings.max_concurrent} requests in flight; retry shortly."
            return Refusal(503, message, "overloaded", {"Retry-After": "1"})
        return None

    def _authorised(self, scope: dict[str, Any]) -> bool:
        value = _header(scope, b"authorization") or ""
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._key)

    def _record(self, scope: dict[str, Any], state: dict[str, Any], status_holder: dict, seconds: float) -> None:
        status = str(status_holder["status"])
        model, format_name = state.get("model", ""), state.get("format", "")
        path = scope.get("path", "")
        self.metrics.requests.labels(route_label(path), model, format_name, status).inc()
        if model:
            self.metrics.latency.labels(model, format_name, status).observe(seconds)
        if LOGGER.isEnabledFor(logging.INFO):
            client = scope.get("client") or ("", 0)
            LOGGER.info(json.dumps({
                "time": round(time.time(), 3), "request_id": state.get("request_id") or uuid.uuid4().hex[:16],
                "method": scope.get("method"), "path": path, "status": int(status),
                "ms": round(seconds * 1000, 3), "model": model or None, "format": format_name or None,
                "bytes_out": status_holder["bytes"], "client": client[0],
            }))


def configure_logging(level: int = logging.INFO) -> None:
    """Send the API's log lines (one JSON object per request) to stderr, alone on their lines."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    LOGGER.propagate = False
