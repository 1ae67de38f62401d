#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine with Python 3.11, 3.12 or 3.13, run the whole
# suite on it, then the smoke run on the other supported versions found here (scripts/smoke_versions.sh).
# Usage: bash scripts/test.sh [extra pytest arguments]   (with arguments: that pytest run only, no smoke)
#        SMOKE_VERSIONS=off bash scripts/test.sh          (the whole suite without the smoke)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the browser tests, Fashion-MNIST for the anomaly model's evaluation data,
# HAProxy in front of two app replicas (tests/e2e/test_haproxy_browser.py), wrk for the API's load test.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The dev set plus Ray Serve, whose integration test runs the API on it (tests/integration).
bash scripts/install.sh requirements-ray.txt
status=0
"${VENV:-.venv}/bin/python" -m pytest "$@" || status=$?
if [ $# -eq 0 ] && [ "${SMOKE_VERSIONS:-on}" != off ]; then
  bash scripts/smoke_versions.sh || status=1
fi
exit "$status"
