"""The ASGI app: TF Serving's REST routes, the task routes, health, metrics and the OpenAPI docs.

``create_app()`` builds it; ``python -m showcase.api`` serves it with uvicorn, ``app/streamlit_app.py`` mounts it
into the Streamlit server (``streamlit_routes``), and Ray Serve can wrap it with ``serve.ingress``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from showcase import formats
from showcase import tasks as registry
from showcase.api import serving, tasks
from showcase.api.operations import LOGGER, ApiError, Metrics, Operations, Settings
from showcase.formats import FORMAT_LABELS

FORMAT_HELP = ("Serving format (" + ", ".join(FORMAT_LABELS) + "); default: the model's fastest benchmarked format "
               "(models/benchmarks.json).")
IMAGE_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                 "format": "binary"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
CSV_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                 "format": "binary"}}}},
    "text/csv": {"schema": {"type": "string"}}}}}
PREDICT_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"signature_name": {"type": "string", "default": "serving_default"},
                                     "instances": {"type": "array", "items": {}}, "inputs": {}}},
    "example": {"instances": [[[[0.0]] * 28] * 28]}}}}}
TEXT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "properties": {"text": {"type": "string"}},
                                    "required": ["text"]}, "example": {"text": "A wonderful, moving film."}},
    "text/plain": {"schema": {"type": "string"}}}}}


class JSONAnswer(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONAnswer:
    return JSONAnswer({"error": message}, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 once it passes ``limit`` bytes (a chunked body has no Content-Length)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"The request body is over the limit of {limit:,} bytes.")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's own cache, so that request.form() parses these bytes.
    return body


async def upload_bytes(request: Request, limit: int, what: str) -> bytes:
    """An upload's bytes: the multipart field ``file`` (``curl -F file=@x``), or the raw body otherwise."""
    body = await read_body(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body
    form = await request.form(max_files=1, max_fields=8)
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(400, f"The multipart form has no file field named 'file'; send {what} as "
                           "-F file=@path, or as the raw request body.")
        return await upload.read()
    finally:
        await form.close()


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("query", "path"))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "Invalid request parameters: " + "; ".join(parts) + "."


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError):
        return error_response(error.status, error.message, error.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        message = error.detail if isinstance(error.detail, str) else str(error.detail)
        if error.status_code == 404:
            message = f"No route {request.method} {request.url.path}; see /docs for the API's routes."
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs."
        return error_response(error.status_code, message, getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        return error_response(400, _validation_message(error))

    @app.exception_handler(ValueError)
    async def value_error(request: Request, error: ValueError):
        # The serving classes raise ValueError with a message for the caller for any input they refuse.
        return error_response(400, str(error))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        LOGGER.exception("Unexpected error on %s", request.url.path)
        return error_response(500, f"Internal error ({type(error).__name__}); the server logged it.")


def create_app(settings: Settings | None = None, store: serving.ModelStore | None = None,
               prefix: str = "/v1") -> FastAPI:
    """The API as an ASGI app. ``prefix`` is where the routes live ("" when mounted under /v1 by another app)."""
    settings = settings or Settings.from_environment()
    metrics = Metrics(settings.prometheus_dir)

    def record_load(model: str, format_name: str, seconds: float) -> None:
        metrics.load_seconds.labels(model, format_name).set(seconds)

    if store is None:
        store = serving.ModelStore(on_load=record_load)
    work = tasks.Tasks(store)
    app = FastAPI(title="TensorFlow model showcase API", version=str(serving.VERSION),
                  description="TF Serving compatible REST API and task routes over the showcase's models. "
                  "See docs/api.md.", docs_url="/docs", redoc_url=None)
    app.state.settings, app.state.store, app.state.metrics = settings, store, metrics
    _add_error_handlers(app)
    app.include_router(_routes(store, work, settings), prefix=prefix)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics():
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_middleware(Operations, settings=settings, metrics=metrics)
    return app


def _served(request: Request, model: str, format_name: str) -> None:
    request.state.model, request.state.format = model, format_name


def _routes(store: serving.ModelStore, work: tasks.Tasks, settings: Settings) -> APIRouter:
    router = APIRouter()
    limit = settings.max_body_bytes

    @router.get("/health", tags=["operations"], summary="Liveness: open even when an API key is set")
    def health():
        return {"status": "ok", "models": store.names, "version": serving.VERSION}

    @router.get("/models", tags=["TF Serving"], summary="The served models, their formats and default format")
    def models():
        return {"models": [{"name": name, "version": str(serving.VERSION),
                            "formats": formats.offered_formats(store.entry(name)["artifacts"]),
                            "default_format": serving.fastest_format(store.entry(name), store.benchmarks)}
                           for name in store.names]}

    async def status(request: Request, name: str, version: str | None = None):
        _served(request, name, "")
        return store.status(name, version)

    async def metadata(request: Request, name: str, version: str | None = None):
        _served(request, name, "")
        return await run_in_threadpool(store.metadata, name, version)

    async def predict(request: Request, name: str, version: str | None = None,
                      format: str | None = Query(None, description=FORMAT_HELP)):
        _served(request, name, format or "")
        body = await read_body(request, limit)
        answer, chosen = await run_in_threadpool(store.predict, name, version, format, body, settings.max_batch)
        _served(request, name, chosen)
        return JSONAnswer(answer)

    tf_tags = ["TF Serving"]
    router.add_api_route("/models/{name}", status, methods=["GET"], tags=tf_tags, summary="Version status")
    router.add_api_route("/models/{name}/versions/{version}", status, methods=["GET"], tags=tf_tags,
                         summary="Version status of one version")
    router.add_api_route("/models/{name}/metadata", metadata, methods=["GET"], tags=tf_tags,
                         summary="Signature, shapes, dtypes, labels and metrics")
    router.add_api_route("/models/{name}/versions/{version}/metadata", metadata, methods=["GET"], tags=tf_tags,
                         summary="Metadata of one version")
    router.add_api_route("/models/{name}:predict", predict, methods=["POST"], tags=tf_tags, openapi_extra=PREDICT_BODY,
                         summary="Predict: {\"instances\": [...]} or {\"inputs\": ...}")
    router.add_api_route("/models/{name}/versions/{version}:predict", predict, methods=["POST"], tags=tf_tags,
                         openapi_extra=PREDICT_BODY, summary="Predict with one version")

    def image_task(name: str, run: Callable[..., tuple[dict, str]]):
        async def route(request: Request, format: str | None = Query(None, description=FORMAT_HELP),
                        corruption: str | None = Query(None, description="anomaly only: None, Gaussian noise, "
                                                       "Occlusion blocks or Inverted colours")):
            _served(request, name, format or "")
            data = await upload_bytes(request, limit, "the image")
            extra = (corruption,) if name == "anomaly" else ()
            answer, chosen = await run_in_threadpool(run, data, format, *extra)
            _served(request, name, chosen)
            return JSONAnswer(answer)
        return route

    for name, run, summary in (("digits", work.digits, "Read the digit in an image"),
                               ("flowers", work.flowers, "Name the flower in a photo"),
                               ("anomaly", work.anomaly, "Score an image for being anything but a digit")):
        if name in registry.names():
            router.add_api_route(f"/tasks/{name}", image_task(name, run), methods=["POST"], tags=["tasks"],
                                 summary=summary, openapi_extra=IMAGE_BODY)

    @router.post("/tasks/sentiment", tags=["tasks"], summary="Score one review (JSON {\"text\"} or text/plain)",
                 openapi_extra=TEXT_BODY)
    async def sentiment_text(request: Request, format: str | None = Query(None, description=FORMAT_HELP)):
        _served(request, "sentiment", format or "")
        body = await read_body(request, limit)
        text = _review_text(body, request.headers.get("content-type", ""))
        answer, chosen = await run_in_threadpool(work.sentiment, text, format)
        _served(request, "sentiment", chosen)
        return JSONAnswer(answer)

    @router.post("/tasks/sentiment/csv", tags=["tasks"], summary="Score every row of a CSV of reviews",
                 openapi_extra=CSV_BODY)
    async def sentiment_csv(request: Request, format: str | None = Query(None, description=FORMAT_HELP),
                            column: str | None = Query(None, description="text column; default: the longest")):
        _served(request, "sentiment", format or "")
        data = await upload_bytes(request, limit, "the CSV")
        answer, chosen = await run_in_threadpool(work.sentiment_csv, data, column, format)
        _served(request, "sentiment", chosen)
        return JSONAnswer(answer)

    @router.get("/tasks/forecast", tags=["tasks"], summary="Forecast a built-in ticker")
    async def forecast_ticker(request: Request, ticker: str = Query("MSFT", description="AAPL, GOOG, IBM or MSFT"),
                              horizon: int = Query(tasks.DEFAULT_HORIZON, description="trading days, 1 to 30"),
                              backtest: bool = False, format: str | None = Query(None, description=FORMAT_HELP)):
        _served(request, "forecast", format or "")
        answer, chosen = await run_in_threadpool(work.forecast, ("ticker", ticker), horizon, backtest, format)
        _served(request, "forecast", chosen)
        return JSONAnswer(answer)

    @router.post("/tasks/forecast", tags=["tasks"], summary="Forecast an uploaded price CSV (date and close columns)",
                 openapi_extra=CSV_BODY)
    async def forecast_csv(request: Request, horizon: int = Query(tasks.DEFAULT_HORIZON, description="1 to 30"),
                           backtest: bool = False, date_column: str | None = None, price_column: str | None = None,
                           day_first: bool | None = None,
                           format: str | None = Query(None, description=FORMAT_HELP)):
        _served(request, "forecast", format or "")
        data = await upload_bytes(request, limit, "the CSV")
        source = ("csv", (data, date_column, price_column, day_first))
        answer, chosen = await run_in_threadpool(work.forecast, source, horizon, backtest, format)
        _served(request, "forecast", chosen)
        return JSONAnswer(answer)

    @router.get("/tasks/gan", tags=["tasks"], summary="Generate a grid of digits (PNG, or JSON with output=json)",
                responses={200: {"content": {"image/png": {}}}})
    async def gan_grid(request: Request, digit: str = Query("any", description="any or 0-9"),
                       seed: str = Query("42", description="0 to 2147483647"),
                       size: str = Query("4", description="grid side, 1 to 6"),
                       output: str = Query("png", description="png or json"),
                       format: str | None = Query(None, description=FORMAT_HELP)):
        _served(request, "gan", format or "")
        if output not in ("png", "json"):
            raise ApiError(400, f"output must be png or json, not {output!r}.")
        grid, chosen = await run_in_threadpool(work.gan, {"digit": digit, "seed": seed, "size": size}, format)
        _served(request, "gan", chosen)
        if output == "json":
            return JSONAnswer(tasks.answer("gan", chosen, grid, captions=grid.captions()))
        png = await run_in_threadpool(grid.grid_png)
        return Response(png, media_type="image/png", headers={"Content-Disposition":
                                                              f'inline; filename="{grid.file_name}"'})

    return router


def _review_text(body: bytes, content_type: str) -> str:
    """The review in a JSON body ({"text": "..."}) or a text/plain one."""
    if content_type.startswith("application/json"):
        request = serving.parse_json(body)
        if not isinstance(request, dict) or not isinstance(request.get("text"), str):
            raise ApiError(400, "Send JSON {\"text\": \"the review\"}, or the review as a text/plain body.")
        return request["text"]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The review is not UTF-8 text.") from None


def streamlit_routes(settings: Settings | None = None) -> list:
    """The API as Starlette routes for ``st.App(..., routes=...)``: everything under /v1 on the app's own port
    (its docs at /v1/docs, its metrics at /v1/metrics)."""
    from starlette.routing import Mount

    return [Mount("/v1", app=create_app(settings, prefix=""))]
