#!/usr/bin/env bash
# Cold installs from PyPI, each into a fresh venv with an empty cache; prints one JSON line per install
# (seconds, venv size in MB) and deletes what it made. Needs network and ~6 GB of disk.
# Usage: bash scripts/measure_install.sh [python] [rounds] [installers...]
#   uv, pip          the install step alone, from the lock (uv must be on PATH for "uv")
#   script, script-pip   the whole `bash scripts/install.sh <set>` on a machine without uv on PATH: venv,
#                    uv installed from scripts/installer.lock, then the lock (script-pip: INSTALLER=pip)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
rounds="${2:-1}"
shift $(( $# < 2 ? $# : 2 ))
installers=("$@")
[ ${#installers[@]} -gt 0 ] || installers=(uv pip)
scratch="$(mktemp -d /tmp/measure_install.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
path_without_uv="$(tr ':' '\n' <<<"$PATH" | while read -r dir; do [ -x "$dir/uv" ] || echo "$dir"; done | paste -sd:)"

install() {  # installer, lock
  local venv="$scratch/venv"
  # pip sees no configuration file (PIP_CONFIG_FILE=/dev/null) and uv none of its own: both read PyPI only.
  local clean=(env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL
               -u UV_FIND_LINKS PIP_CONFIG_FILE=/dev/null PIP_CACHE_DIR="$scratch/cache" UV_CACHE_DIR="$scratch/cache")
  case "$1" in
    uv) "${clean[@]}" uv pip install --quiet --python "$venv/bin/python" --require-hashes -r "$2" ;;
    pip) "${clean[@]}" "$venv/bin/python" -m pip install --quiet --require-hashes -r "$2" ;;
    script) "${clean[@]}" PATH="$path_without_uv" PYTHON="$python" VENV="$venv" \
              bash scripts/install.sh "${2%.lock}.txt" ;;
    script-pip) "${clean[@]}" INSTALLER=pip PYTHON="$python" VENV="$venv" bash scripts/install.sh "${2%.lock}.txt" ;;
  esac
}

measure() {  # installer, lock
  local venv="$scratch/venv" start end
  rm -rf "$venv" "$scratch/cache"
  # The script variants create their venv themselves, and that counts.
  [[ "$1" == script* ]] || "$python" -m venv "$venv"
  start=$(date +%s.%N)
  install "$1" "$2" >/dev/null
  end=$(date +%s.%N)
  printf '{"installer": "%s", "lock": "%s", "python": "%s", "seconds": %.1f, "venv_mb": %d}\n' \
    "$1" "$2" "$("$venv/bin/python" -c 'import platform; print(platform.python_version())')" \
    "$(echo "$end - $start" | bc)" "$(du -sm "$venv" | cut -f1)"
  rm -rf "$venv" "$scratch/cache"
}

for _ in $(seq "$rounds"); do
  for lock in requirements.lock requirements-dev.lock; do
    for installer in "${installers[@]}"; do
      measure "$installer" "$lock"
    done
  done
done
