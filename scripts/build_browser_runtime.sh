#!/usr/bin/env bash
# Rebuild the in-browser digits runtime that the app serves from app/static/browser/ort/: onnxruntime-web's
# WebAssembly build (its ES module, the Emscripten loader and the .wasm, copied from the npm package as they
# are), and its licence.
#
# The built files are committed because the hosted machine has no Node.js: `bash scripts/app.sh` must serve
# them as they are. Run this only to change the pinned versions below (it needs Node.js and npm, and reaches
# the npm registry). `COMPARE=1` also builds LiteRT.js (@litertjs/core, bundled into one ES module with its
# WebAssembly loader and .wasm) into .cache/browser-build/dist/litert/ (not served, not committed) for
# `python -m appdriver.browser_bench --compare`, which measures both runtimes.
set -euo pipefail

ORT_VERSION=1.30.0
LITERT_VERSION=2.5.3
ESBUILD_VERSION=0.28.2
# ORT's plain SIMD build: its threads stay unused (a page that is not cross-origin isolated has no shared memory),
# and the JSEP/JSPI/asyncify builds add WebGPU and WebNN, which a 500 KB CNN does not need, for twice the size.
ORT_FILES=(ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm)
# LiteRT.js's variant for browsers with WebAssembly SIMD but no relaxed SIMD or threads.
LITERT_VARIANT=litert_wasm_compat_internal

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/.cache/browser-build"
target="$root/app/static/browser/ort"
command -v npm >/dev/null || { echo "npm is needed to rebuild the browser runtime (Node.js 18 or newer)." >&2; exit 1; }

mkdir -p "$build"
cd "$build"
[ -f package.json ] || npm init -y >/dev/null
packages=("onnxruntime-web@$ORT_VERSION")
[ "${COMPARE:-0}" = 1 ] && packages+=("@litertjs/core@$LITERT_VERSION" "esbuild@$ESBUILD_VERSION")
npm install --no-audit --no-fund --save-exact "${packages[@]}"

ort="$build/node_modules/onnxruntime-web"
rm -rf "$target" && mkdir -p "$target"
for name in "${ORT_FILES[@]}"; do cp "$ort/dist/$name" "$target/"; done
# The npm package ships no LICENSE file; its package.json names MIT, and the text is the onnxruntime
# repository's LICENSE.
{
    echo "onnxruntime-web $ORT_VERSION (https://www.npmjs.com/package/onnxruntime-web, $(node -p "require('$ort/package.json').license")),"
    echo "copied unchanged from the npm package by scripts/build_browser_runtime.sh."
    echo
    cat <<'MIT'
MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
MIT
} > "$target/LICENSE"
echo "$ORT_VERSION" > "$target/VERSION"

if [ "${COMPARE:-0}" = 1 ]; then
    core="$build/node_modules/@litertjs/core"
    litert="$build/dist/litert"
    rm -rf "$litert" && mkdir -p "$litert"
    "$build/node_modules/.bin/esbuild" "$core/dist/index.js" --bundle --format=esm --minify --legal-comments=none \
        --outfile="$litert/litert.mjs"
    cp "$core/wasm/$LITERT_VARIANT.js" "$core/wasm/$LITERT_VARIANT.wasm" "$litert/"
    echo "$LITERT_VERSION $LITERT_VARIANT" > "$litert/VERSION"
fi
du -ch "$target"/* | tail -1
