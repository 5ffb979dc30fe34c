#!/usr/bin/env bash
# Trunk post-build hook: shrinks the page's wasm with `wasm-opt -Oz`.
# wasm-bindgen 0.2.130 emits reference-type instructions (table.fill) that
# binaryen before version 116 cannot read, and Debian's binaryen is 108; so
# this uses binaryen from npm (pinned in tools/package.json) when the system
# one is too old. Without any usable wasm-opt the page stays unshrunk and
# works the same.
set -euo pipefail
[[ "${TRUNK_PROFILE:-}" == "release" ]] || exit 0
here="$(cd "$(dirname "$0")" && pwd)"
version_of() { "$1" --version 2>/dev/null | grep -o 'version [0-9]*' | grep -o '[0-9]*' || echo 0; }
opt=""
if command -v wasm-opt >/dev/null && (( $(version_of wasm-opt) >= 116 )); then
  opt="wasm-opt"
elif [[ -x "$here/node_modules/.bin/wasm-opt" ]]; then
  opt="$here/node_modules/.bin/wasm-opt"
elif command -v npm >/dev/null && npm install --prefix "$here" --no-audit --no-fund --silent >/dev/null 2>&1; then
  opt="$here/node_modules/.bin/wasm-opt"
fi
if [[ -z "$opt" ]]; then
  echo "wasm-opt: no binaryen >= 116 found; the page's wasm is left unshrunk" >&2
  exit 0
fi
# -ocimfs=0: a function with one caller is not inlined into it for that
# reason alone. The browser compiles each function the first time it runs, so
# a cold path folded into a hot caller is compiled at start-up all the same;
# kept apart it is compiled only if it runs (a faster first render, and the
# page is smaller too: see README, "First render").
for wasm in "$TRUNK_STAGING_DIR"/*_bg.wasm; do
  "$opt" -Oz -ocimfs=0 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-mutable-globals --enable-multivalue "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
done
