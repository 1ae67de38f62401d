#!/usr/bin/env bash
# Smoke run on the supported Python versions other than .venv's ($VENV's; the full suite runs there): for each,
# install the serving set into .cache/smoke/venv-3.x, predict with every model in every light format and
# compare with .venv's outputs, run every page in AppTest (scripts/smoke_check.py), then train the digits
# model for one epoch on a small slice into a temporary folder (adding the dev set's training packages).
# A version with no interpreter on this machine is skipped with a message.
# Usage: bash scripts/smoke_versions.sh [3.12 3.13 ...]   (default: the supported versions .venv lacks)
set -euo pipefail
cd "$(dirname "$0")/.."
main_python="${VENV:-.venv}/bin/python"
default="$("$main_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || for version in 3.11 3.12 3.13; do
  [ "$version" = "$default" ] || versions+=("$version")
done
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

find_python() {  # python3.x on PATH if it runs (a pyenv shim of an inactive version does not), else pyenv's
  local candidate
  for candidate in "$(command -v "python$1" || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python; do
    if [ -x "$candidate" ] && "$candidate" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$1'" 2>/dev/null
    then
      echo "$candidate"
      return
    fi
  done
}

mnist="$("$main_python" -c 'from showcase import paths; print(paths.shared_file("data/mnist.npz") or "")')"
"$main_python" scripts/smoke_check.py reference "$scratch/reference.npz"
failed=()
for version in "${versions[@]}"; do
  python="$(find_python "$version")"
  if [ -z "$python" ]; then
    echo "SKIPPED Python $version: no python$version on PATH or under pyenv; install it to run this smoke."
    continue
  fi
  echo "== Python $version smoke ($python)"
  start=$SECONDS
  venv=".cache/smoke/venv-$version"
  if ! (PYTHON="$python" VENV="$venv" bash scripts/install.sh requirements.txt &&
        "$venv/bin/python" scripts/smoke_check.py check "$scratch/reference.npz"); then
    failed+=("$version")
  elif [ -z "$mnist" ]; then
    echo "SKIPPED the training epoch on Python $version: no data/mnist.npz in the shared data folder."
  elif ! (PYTHON="$python" VENV="$venv" bash scripts/install.sh requirements-dev.txt &&
          "$venv/bin/python" -c "import tensorflow_hub, tf2onnx, onnx" &&
          "$venv/bin/python" training/train_digits.py --data "$mnist" --limit 2048 --epochs 1 \
            --output "$scratch/train-$version"); then
    failed+=("$version")
  fi
  echo "== Python $version smoke: $((SECONDS - start)) s"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED smoke on Python ${failed[*]}" >&2
  exit 1
fi
