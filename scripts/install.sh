#!/usr/bin/env bash
# Create a virtual environment (once) and install a requirements set into it from its lock, which pins every
# package with its hashes (requirements.txt -> requirements.lock; scripts/lock.sh writes the locks).
# Usage: bash scripts/install.sh requirements.txt|requirements-dev.txt|requirements-ray.txt|app/requirements.txt
#        bash scripts/install.sh --which-python   (prints the interpreter a new environment would get)
#   PYTHON=/path/to/python3.x   the interpreter for a new environment (default: the newest supported one found)
#   VENV=dir                    the environment (default: .venv)
#   INSTALLER=pip|uv            force an installer (default: uv, from PATH or installed into the environment
#                               from scripts/installer.lock; pip when uv cannot be had or fails)
set -euo pipefail
cd "$(dirname "$0")/.."
SUPPORTED="3.11 3.12 3.13"
requirements="${1:-requirements.txt}"
lock="${requirements%.txt}.lock"
venv="${VENV:-.venv}"

version_of() {  # prints "3.x" for a working interpreter, nothing for a missing or broken one
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

is_supported() {
  [ -n "$1" ] && [[ " $SUPPORTED " == *" $1 "* ]]
}

refuse() {
  echo "$1" >&2
  echo "This project runs on Python 3.11, 3.12 or 3.13. Install one of them, or point at one, e.g." >&2
  echo "  PYTHON=/usr/bin/python3.12 bash scripts/app.sh   (the same for scripts/test.sh)" >&2
  exit 1
}

pick_python() {  # $PYTHON, else the newest supported interpreter on PATH
  if [ -n "${PYTHON:-}" ]; then
    local version
    version="$(version_of "$PYTHON")"
    [ -n "$version" ] || refuse "PYTHON=$PYTHON does not run."
    is_supported "$version" || refuse "PYTHON=$PYTHON is Python $version."
    echo "$PYTHON"
    return
  fi
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    # pyenv puts a shim for every installed version on PATH; one that is not active fails here and is skipped.
    if command -v "$candidate" >/dev/null && is_supported "$(version_of "$candidate")"; then
      command -v "$candidate"
      return
    fi
  done
  refuse "No supported Python found ($(python3 --version 2>&1 || echo "no python3") on PATH)."
}

make_venv() {
  if [ -x "$venv/bin/python" ]; then
    local existing chosen wanted=""
    existing="$(version_of "$venv/bin/python")"
    is_supported "$existing" || refuse "$venv has Python ${existing:-that does not run}; remove $venv to recreate it."
    if [ -n "${PYTHON:-}" ]; then
      chosen="$(pick_python)"
      wanted="$(version_of "$chosen")"
    fi
    if [ -n "$wanted" ] && [ "$wanted" != "$existing" ]; then
      echo "$venv has Python $existing, not $wanted: remove it, or keep both with VENV=.venv-$wanted." >&2
      exit 1
    fi
    return
  fi
  local python
  python="$(pick_python)"
  echo "Creating $venv with $python (Python $(version_of "$python"))"
  "$python" -m venv "$venv"
}

find_uv() {  # uv from PATH, else installed into the environment with pip (a few seconds, saves minutes)
  if command -v uv >/dev/null; then
    command -v uv
  elif [ -x "$venv/bin/uv" ] || install_with_pip scripts/installer.lock >&2; then
    echo "$venv/bin/uv"
  fi
}

install_with_uv() {
  local uv
  uv="$(find_uv)"
  [ -n "$uv" ] || return 1
  "$uv" pip install --quiet --python "$venv/bin/python" --require-hashes -r "$lock"
}

install_with_pip() {  # [lock]
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "${1:-$lock}"
}

if [ "$requirements" = --which-python ]; then
  pick_python
  exit
fi
[ -f "$lock" ] || { echo "No lock $lock for $requirements (bash scripts/lock.sh writes it)." >&2; exit 1; }
make_venv
if [ "${INSTALLER:-uv}" = uv ]; then
  install_with_uv || { echo "uv failed; installing with pip instead." >&2; install_with_pip; }
else
  install_with_pip
fi
# The project itself, editable: `import showcase` works from any folder (the app, training scripts, tests).
if [ "${INSTALLER:-uv}" = uv ] && uv="$(find_uv)" && [ -n "$uv" ]; then
  "$uv" pip install --quiet --python "$venv/bin/python" --no-deps -e .
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
fi
