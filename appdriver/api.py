"""One ``python -m showcase.api`` server on 127.0.0.1: start it, wait until ``/v1/health`` answers, stop it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO

from appdriver.server import STOP_WAIT_SECONDS, free_port
from showcase import paths

START_SECONDS = 90


def api_command(port: int, python: str = sys.executable, options: Sequence[str] = ()) -> list[str]:
    return [python, "-m", "showcase.api", "--host", "127.0.0.1", "--port", str(port), *options]


def wait_for_api(port: int, deadline: float) -> bool:
    """Poll ``/v1/health`` until it answers 200 or ``deadline`` (``time.perf_counter``) passes."""
    url = f"http://127.0.0.1:{port}/v1/health"
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def start_api(port: int | None = None, environ: Mapping[str, str] | None = None, output: IO | int = subprocess.DEVNULL,
              options: Sequence[str] = ()) -> tuple[subprocess.Popen, int]:
    """Start the API (with ``environ`` added to this process's environment) and wait until it is healthy."""
    port = port or free_port()
    server = subprocess.Popen(api_command(port, options=options), cwd=paths.REPO_ROOT, stdout=output,
                              stderr=subprocess.STDOUT, env={**os.environ, **(environ or {})})
    if not wait_for_api(port, time.perf_counter() + START_SECONDS):
        stop_api(server)
        raise RuntimeError(f"python -m showcase.api did not become healthy on port {port} within {START_SECONDS} s.")
    return server, port


def stop_api(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=STOP_WAIT_SECONDS)
