#!/usr/bin/env bash
# Regenerate the locks (requirements.lock, requirements-dev.lock, app/requirements.lock, requirements-ray.lock)
# from the four requirements sets: every package pinned with its hashes, one resolution valid on Python 3.11 to 3.13.
# Also scripts/installer.lock: the uv that scripts/install.sh installs when uv is not on PATH.
# scripts/lock-constraints.txt says why two packages are held back. Needs uv (pip install uv).
# The hosted set names the project itself (`.`); the locks leave it out, since a folder has no hash to pin:
# scripts/install.sh and the Dockerfile install it after the locked packages.
# Run it after changing a requirements file, and commit the locks with it.
set -euo pipefail
cd "$(dirname "$0")/.."
for set in requirements.txt requirements-dev.txt app/requirements.txt; do
  uv pip compile "$set" --quiet --universal --python-version 3.11 --generate-hashes \
    --constraints scripts/lock-constraints.txt --custom-compile-command "bash scripts/lock.sh" \
    --no-emit-package tf-model-showcase --output-file "${set%.txt}.lock"
done
# Ray Serve adds many packages to the dev set; the dev lock constrains it, so that the packages the two sets
# share keep the dev lock's versions (Ray's own resolution would move a few).
uv pip compile requirements-ray.txt --quiet --universal --python-version 3.11 --generate-hashes \
  --constraints scripts/lock-constraints.txt --constraints requirements-dev.lock \
  --custom-compile-command "bash scripts/lock.sh" --output-file requirements-ray.lock
echo "uv==$(uv --version | cut -d' ' -f2)" | uv pip compile - --quiet --universal --python-version 3.11 \
  --generate-hashes --custom-compile-command "bash scripts/lock.sh" --output-file scripts/installer.lock
