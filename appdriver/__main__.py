"""``python -m appdriver cold-start`` or ``python -m appdriver capacity --load --uploads``: the figures as JSON;
``python -m appdriver screenshots``: the README's screenshots and GIF (``appdriver/screenshots.py``).

The JSON is the last line on stdout; progress goes to stderr. ``python -m showcase.bench --app-only``, ``--load``
and ``--uploads`` run this in a subprocess and merge its figures into ``models/benchmarks.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from appdriver import loadtest, screenshots, tour


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
    args = parser.parse_args(argv)
    if args.command == "screenshots":
        screenshots.take_screenshots(args.output, log=log)
        return
    if args.command == "cold-start":
        figures = tour.app_cold_start(args.timeout)
    else:
        try:
            figures = loadtest.measure_capacity(args.load, args.uploads, args.sessions or loadtest.SESSION_COUNTS,
                                                rounds_time_limit=args.rounds_time_limit, log=log)
        except loadtest.LoadTestUnavailable as reason:
            sys.exit(f"The load test cannot run: {reason}.")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
