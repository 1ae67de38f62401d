#!/usr/bin/env bash
# Rebuild the in-browser digits runtime that the app serves from app/static/browser/litert/:
# LiteRT.js (@litertjs/core) bundled into one ES module, its WebAssembly loader and .wasm, and its licence.
#
# The built files are committed because the hosted machine has no Node.js: `bash scripts/app.sh` must serve
# them as they are. Run this only to change the pinned versions below (it needs Node.js and npm, and reaches
# the npm registry). `COMPARE=1` also builds onnxruntime-web into .cache/browser-build/dist/ort/ (not served,
# not committed) for `python -m appdriver.browser_bench --compare`, which measures both runtimes.
set -euo pipefail

LITERT_VERSION=2.5.3
ORT_VERSION=1.30.0
ESBUILD_VERSION=0.28.2
# The variant for browsers with WebAssembly SIMD but no relaxed SIMD or threads: the one every current
# browser runs. LiteRT.js would pick others by feature detection; one variant keeps the repository small.
LITERT_VARIANT=litert_wasm_compat_internal

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/.cache/browser-build"
target="$root/app/static/browser/litert"
command -v npm >/dev/null || { echo "npm is needed to rebuild the browser runtime (Node.js 18 or newer)." >&2; exit 1; }

mkdir -p "$build"
cd "$build"
[ -f package.json ] || npm init -y >/dev/null
packages=("@litertjs/core@$LITERT_VERSION" "esbuild@$ESBUILD_VERSION")
[ "${COMPARE:-0}" = 1 ] && packages+=("onnxruntime-web@$ORT_VERSION")
npm install --no-audit --no-fund --save-exact "${packages[@]}"

core="$build/node_modules/@litertjs/core"
rm -rf "$target" && mkdir -p "$target"
"$build/node_modules/.bin/esbuild" "$core/dist/index.js" --bundle --format=esm --minify --legal-comments=none \
    --outfile="$target/litert.mjs"
cp "$core/wasm/$LITERT_VARIANT.js" "$core/wasm/$LITERT_VARIANT.wasm" "$target/"
# The npm package ships no LICENSE file; its package.json names Apache-2.0 and every source file carries the
# Apache-2.0 header, so the licence's text goes beside the files, after a line naming what it covers.
{
    echo "@litertjs/core $LITERT_VERSION (https://www.npmjs.com/package/@litertjs/core, $(node -p "require('$core/package.json').license")),"
    echo "Copyright 2025 Google LLC. Built by scripts/build_browser_runtime.sh from the npm package."
    echo
    cat /usr/share/common-licenses/Apache-2.0
} > "$target/LICENSE"
echo "$LITERT_VERSION $LITERT_VARIANT" > "$target/VERSION"

if [ "${COMPARE:-0}" = 1 ]; then
    ort="$build/node_modules/onnxruntime-web/dist"
    mkdir -p "$build/dist/ort"
    cp "$ort/ort.wasm.min.mjs" "$ort/ort-wasm-simd-threaded.mjs" "$ort/ort-wasm-simd-threaded.wasm" "$build/dist/ort/"
fi
du -ch "$target"/* | tail -1
