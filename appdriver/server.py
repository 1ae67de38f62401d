"""One ``streamlit run`` of the app on 127.0.0.1: its command, its start, its health check and its stop."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO

from showcase import paths

ENTRY_SCRIPT = paths.REPO_ROOT / "app" / "streamlit_app.py"
STOP_WAIT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(port: int, deadline: float) -> bool:
    """Poll Streamlit's health endpoint until it answers 200 or ``deadline`` (``time.perf_counter``) passes."""
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def app_command(port: int, python: str = sys.executable, options: Sequence[str] = ()) -> list[str]:
    """``streamlit run`` of the app's entry script, headless and without a file watcher, plus ``options``."""
    return [python, "-m", "streamlit", "run", str(ENTRY_SCRIPT), "--server.port", str(port),
            "--server.headless", "true", "--server.fileWatcherType", "none", *options]


def start_app(port: int, output: IO | int = subprocess.DEVNULL, python: str = sys.executable,
              options: Sequence[str] = (), env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start the app's server from the repository root; its stdout and stderr both go to ``output``. ``env``
    (default: this process's environment) is the server's environment."""
    return subprocess.Popen(app_command(port, python, options), cwd=paths.REPO_ROOT, stdout=output,
                            stderr=subprocess.STDOUT, env=env)


def stop_app(server: subprocess.Popen) -> None:
    """Ask the server to stop (Streamlit shuts down cleanly on SIGTERM), and kill it if it has not within 30 s."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=STOP_WAIT_SECONDS)
