#!/usr/bin/env bash
# Cold install of each lock with pip and with uv, from PyPI, into a fresh venv with an empty cache; prints
# one JSON line per install (seconds for the install step alone, venv size in MB). Deletes what it made.
# Usage: bash scripts/measure_install.sh [python] [rounds]   (uv must be on PATH; needs network and ~6 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
rounds="${2:-1}"
scratch="$(mktemp -d /tmp/measure_install.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT

measure() {  # installer, lock file
  local venv="$scratch/venv" cache="$scratch/cache" start end
  rm -rf "$venv" "$cache"
  "$python" -m venv "$venv"
  start=$(date +%s.%N)
  if [ "$1" = uv ]; then
    env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_FIND_LINKS UV_CACHE_DIR="$cache" \
      uv pip install --quiet --python "$venv/bin/python" --require-hashes -r "$2"
  else
    # PIP_CONFIG_FILE=/dev/null leaves out this machine's mirror and find-links: PyPI only, like uv.
    env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null PIP_CACHE_DIR="$cache" \
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$2"
  fi
  end=$(date +%s.%N)
  printf '{"installer": "%s", "lock": "%s", "python": "%s", "seconds": %.1f, "venv_mb": %d}\n' \
    "$1" "$2" "$("$venv/bin/python" -c 'import platform; print(platform.python_version())')" \
    "$(echo "$end - $start" | bc)" "$(du -sm "$venv" | cut -f1)"
  rm -rf "$venv" "$cache"
}

for _ in $(seq "$rounds"); do
  for lock in requirements.lock requirements-dev.lock; do
    for installer in uv pip; do
      measure "$installer" "$lock"
    done
  done
done
