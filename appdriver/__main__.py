"""``python -m appdriver cold-start``, ``python -m appdriver capacity --load --uploads`` or ``python -m appdriver
api-load``: the figures as JSON; ``python -m appdriver screenshots``: the README's screenshots and GIF
(``appdriver/screenshots.py``).

The JSON is the last line on stdout; progress goes to stderr. ``python -m showcase.bench --app-only``, ``--load``
``--uploads`` and ``--api`` run this in a subprocess and merge its figures into ``models/benchmarks.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from appdriver import apiload, loadtest, screenshots, tour


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m appdriver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    cold_start = commands.add_parser("cold-start", help="the app's cold start and its memory after every page")
    cold_start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server and each page")
    capacity = commands.add_parser("capacity", help="the browser load test and/or the upload-memory measurement")
    capacity.add_argument("--load", action="store_true", help="the browser load test")
    capacity.add_argument("--uploads", action="store_true", help="the upload-memory measurement")
    capacity.add_argument("--sessions", type=int, nargs="*", default=list(loadtest.SESSION_COUNTS),
                          help="with --load: concurrent sessions per round")
    capacity.add_argument("--rounds-time-limit", type=float, default=loadtest.ROUNDS_TIME_LIMIT_S,
                          help="with --load: seconds for all the rounds together; later rounds are skipped")
    pictures = commands.add_parser("screenshots", help="a screenshot of every page and the drawing GIF, for the README")
    pictures.add_argument("--output", type=Path, default=screenshots.OUTPUT_DIR, help="folder for the pictures")
    api_load = commands.add_parser("api-load", help="the prediction API's load test with wrk (appdriver.apiload)")
    api_load.add_argument("--paths", nargs="*", default=list(apiload.PATHS), choices=apiload.PATHS)
    api_load.add_argument("--models", nargs="*", default=list(apiload.MODELS))
    api_load.add_argument("--concurrency", type=int, nargs="*", default=list(apiload.CONCURRENCIES))
    api_load.add_argument("--duration", type=float, default=apiload.DURATION_S, help="seconds per wrk run at most")
    api_load.add_argument("--max-requests", type=int, default=apiload.MAX_REQUESTS, help="requests per run at most")
    args = parser.parse_args(argv)
    if args.command == "screenshots":
        screenshots.take_screenshots(args.output, log=log)
        return
    if args.command == "cold-start":
        figures = tour.app_cold_start(args.timeout)
    elif args.command == "api-load":
        try:
            figures = {"api_load": apiload.measure_api_load(args.paths, args.models, args.concurrency, args.duration,
                                                            args.max_requests, log=log)}
        except apiload.LoadTestUnavailable as reason:
            sys.exit(f"The API load test cannot run: {reason}.")
    else:
        try:
            figures = loadtest.measure_capacity(args.load, args.uploads, args.sessions or loadtest.SESSION_COUNTS,
                                                rounds_time_limit=args.rounds_time_limit, log=log)
        except loadtest.LoadTestUnavailable as reason:
            sys.exit(f"The load test cannot run: {reason}.")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
