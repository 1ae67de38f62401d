"""``python -m showcase.api [--host 127.0.0.1] [--port 8500] [--workers 1]``: serve the API with uvicorn.

With several workers, each is its own process with its own models; their Prometheus figures go to
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless set) so that ``/metrics`` adds them up.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import uvicorn

from showcase.api.operations import configure_logging

DEFAULT_PORT = 8500


def app():
    """The app uvicorn's workers build (``factory=True``), each in its own process."""
    from showcase.api import create_app

    configure_logging()
    return create_app()


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m showcase.api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--log-level", default="warning", help="uvicorn's own log level (default warning); the "
                        "API writes one JSON line per request whatever this says")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    if arguments.workers < 1:
        raise SystemExit("--workers must be at least 1.")
    if arguments.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="showcase-api-metrics-")
    uvicorn.run("showcase.api.__main__:app", factory=True, host=arguments.host, port=arguments.port,
                workers=arguments.workers, access_log=False, log_level=arguments.log_level)


if __name__ == "__main__":
    main()
