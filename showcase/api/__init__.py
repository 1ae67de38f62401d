"""A REST API over the showcase's models: TensorFlow Serving's REST protocol, task routes for raw inputs, and
the operations around them (API key, concurrency limit, Prometheus metrics, one JSON log line per request).

Run it with ``python -m showcase.api --host 127.0.0.1 --port 8500 --workers 1`` (uvicorn); docs/api.md lists the
routes. Public names, kept stable for the deployment code that builds on them:

- ``create_app(settings=None, store=None, prefix="/v1") -> FastAPI``: the ASGI app (Ray Serve wraps it with
  ``serve.ingress``);
- ``streamlit_routes(settings=None) -> list[Route]``: the same app mounted under /v1, for ``st.App(routes=...)``;
- ``Settings`` (``Settings.from_environment()`` reads ``SHOWCASE_API_KEY``, ``SHOWCASE_API_MAX_CONCURRENT``,
  ``SHOWCASE_API_MAX_BODY_BYTES``, ``SHOWCASE_API_MAX_BATCH``, ``PROMETHEUS_MULTIPROC_DIR``);
- ``ModelStore``: the models, each format loaded once and shared; ``fastest_format(entry, benchmarks)``;
- ``VERSION``: the version number every model is served under (TF Serving's ``<name>/<version>/`` layout);
- ``SIGNATURE`` / ``OUTPUT_NAME``: the serving signature and its output's name, as the SavedModels have them;
- ``RestPredictor``: a client with the runtime predictors' ``predict(batch)`` interface (``showcase.api.client``).

Importing this package imports no TensorFlow: only ``format=savedmodel`` loads it.
"""

from showcase.api.app import create_app, streamlit_routes
from showcase.api.client import RestPredictor
from showcase.api.operations import ApiError, Settings
from showcase.api.serving import OUTPUT_NAME, SIGNATURE, VERSION, ModelStore, fastest_format

__all__ = [
           "OUTPUT_NAME",
           "SIGNATURE",
           "VERSION",
           "ApiError",
           "ModelStore",
           "RestPredictor",
           "Settings",
           "create_app",
           "fastest_format",
           "streamlit_routes",
]
