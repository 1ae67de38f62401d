"""Two ``streamlit run`` replicas of the app behind HAProxy (``deploy/haproxy.cfg``), all on 127.0.0.1.

    bash scripts/replicas.sh                   # http://127.0.0.1:8500 until Ctrl-C; stats at :8504/stats
    python -m appdriver.replicas --port 9000   # the same on other ports (replicas on 9001, 9002; stats 9004)

HAProxy pins each browser to one replica with its cookie ``SHOWCASE_REPLICA`` (``app1`` or ``app2``) and passes
Streamlit's WebSocket through. Both replicas get the same cookie secret, so that the XSRF cookie that one
replica gave a browser is valid on the other after a failover (uploads check it). docs/deploy.md says what a
visitor sees when a replica stops; tests/e2e/test_haproxy_browser.py checks it.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from appdriver import server as app_server
from showcase import paths

HAPROXY_CONFIG = paths.REPO_ROOT / "deploy" / "haproxy.cfg"
REPLICA_NAMES = ("app1", "app2")
COOKIE = "SHOWCASE_REPLICA"
DEFAULT_PORT = 8500
# Offsets from the balancer's port: the replicas follow it, the stats page is 4 above.
STATS_PORT_OFFSET = 4
SERVER_OPTIONS = ("--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false")


class ReplicasUnavailable(RuntimeError):
    """HAProxy is not installed, or a replica or the balancer did not come up."""


def haproxy_path() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)


@dataclass
class Replicas:
    """The running balancer and replicas: their ports, processes and logs."""

    port: int
    stats_port: int
    replica_ports: dict[str, int]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    haproxy: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop_replica(self, name: str) -> None:
        """Stop one replica (SIGTERM, as a container orchestrator would) and wait until HAProxy marks it down."""
        app_server.stop_app(self.processes[name])
        deadline = time.perf_counter() + 15
        while self.server_states().get(name, "").startswith("UP") and time.perf_counter() < deadline:
            time.sleep(0.2)

    def server_stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's counters per replica (its CSV stats: ``status``, ``stot`` sessions in all, ...)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5) as response:
            rows = csv.DictReader(io.StringIO(response.read().decode().lstrip("# ")))
            return {row["svname"]: row for row in rows if row["pxname"] == "streamlit" and row["svname"] in
                    REPLICA_NAMES}

    def server_states(self) -> dict[str, str]:
        """``UP`` or ``DOWN`` (HAProxy may add a transition, like ``UP 1/2``) per replica."""
        return {name: row["status"] for name, row in self.server_stats().items()}


def environment(replicas: Replicas, cookie_secret: str) -> dict[str, str]:
    return os.environ | {
        "SHOWCASE_LB_ADDRESS": "127.0.0.1",
        "SHOWCASE_LB_PORT": str(replicas.port),
        "SHOWCASE_LB_STATS_PORT": str(replicas.stats_port),
        **{f"SHOWCASE_{name.upper()}_PORT": str(port) for name, port in replicas.replica_ports.items()},
        # Streamlit reads its options from STREAMLIT_* variables too; a secret there stays out of `ps`.
        "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret,
    }


def wait_for_balancer(replicas: Replicas, deadline: float) -> bool:
    """Until HAProxy's health checks have marked every replica up."""
    while time.perf_counter() < deadline:
        try:
            if all(state == "UP" for state in replicas.server_states().values()):
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


@contextmanager
def running_replicas(log_dir: Path, port: int | None = None, timeout: float = 90.0) -> Iterator[Replicas]:
    """Start the replicas and HAProxy, wait until HAProxy sees both healthy, and stop everything at the end.

    Without ``port`` every port is a free one; with it, the replicas take the next two and the stats page
    ``port + 4``. Each process's output goes to a log file in ``log_dir``.
    """
    haproxy = haproxy_path()
    if haproxy is None:
        raise ReplicasUnavailable("HAProxy is not installed (Debian: apt-get install haproxy)")
    if port is None:
        replicas = Replicas(app_server.free_port(), app_server.free_port(),
                            {name: app_server.free_port() for name in REPLICA_NAMES}, log_dir)
    else:
        replicas = Replicas(port, port + STATS_PORT_OFFSET,
                            {name: port + index for index, name in enumerate(REPLICA_NAMES, 1)}, log_dir)
    env = environment(replicas, secrets.token_hex(32))
    log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for name, replica_port in replicas.replica_ports.items():
            log = stack.enter_context((log_dir / f"{name}.log").open("wb"))
            replicas.processes[name] = app_server.start_app(replica_port, log, options=SERVER_OPTIONS, env=env)
            stack.callback(app_server.stop_app, replicas.processes[name])
        log = stack.enter_context((log_dir / "haproxy.log").open("wb"))
        # -db: stay in the foreground, so that this process owns it and stops it.
        replicas.haproxy = subprocess.Popen([haproxy, "-db", "-f", str(HAPROXY_CONFIG)], env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        stack.callback(app_server.stop_app, replicas.haproxy)
        deadline = time.perf_counter() + timeout
        if not all(app_server.wait_for_health(p, deadline) for p in replicas.replica_ports.values()):
            raise ReplicasUnavailable(f"a replica did not become healthy within {timeout:.0f} s (logs in {log_dir})")
        if not wait_for_balancer(replicas, deadline):
            raise ReplicasUnavailable(f"HAProxy did not mark both replicas up within {timeout:.0f} s "
                                      f"(logs in {log_dir})")
        yield replicas


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m appdriver.replicas", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the balancer's port")
    parser.add_argument("--log-dir", type=Path, default=paths.REPO_ROOT / ".cache" / "replicas")
    args = parser.parse_args(argv)
    # SIGTERM ends the wait below like Ctrl-C, so that everything started here is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with running_replicas(args.log_dir, args.port) as replicas:
            print(f"{replicas.url} -> {', '.join(f'{n} :{p}' for n, p in replicas.replica_ports.items())}; "
                  f"stats http://127.0.0.1:{replicas.stats_port}/stats; logs in {args.log_dir}. Ctrl-C stops.",
                  flush=True)
            while all(process.poll() is None for process in [replicas.haproxy, *replicas.processes.values()]):
                time.sleep(1)
            print("A process exited; stopping the rest.", flush=True)
    except KeyboardInterrupt:
        pass
    except ReplicasUnavailable as reason:
        raise SystemExit(f"Could not start the replicas: {reason}.") from None


if __name__ == "__main__":
    main()
