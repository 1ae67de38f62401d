#!/usr/bin/env bash
# Two replicas of the app behind HAProxy, all on 127.0.0.1 (deploy/haproxy.cfg, appdriver/replicas.py):
# http://127.0.0.1:${PORT:-8500}, replicas on the next two ports, HAProxy's stats on PORT+4. Ctrl-C stops all.
# Needs Debian's haproxy (apt-get install haproxy) and the serving set (bash scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/python" -m appdriver.replicas --port "${PORT:-8500}" "$@"
