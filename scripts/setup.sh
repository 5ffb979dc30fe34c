#!/usr/bin/env bash
# Installs whatever the build and the tests need and is missing:
# the wasm target, the standard library's source and the crates the builds
# use, trunk, the wasm-bindgen CLI matching Cargo.lock, and
# Debian's Chromium, ChromeDriver and binaryen (wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$HOME/.cargo/bin:$PATH"
# Tools are built without this project's rustc wrapper (.cargo/config.toml),
# whose run profile is the engine's.
export RUSTC_WRAPPER=""
TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The page builds its own standard library (scripts/trunk.sh): its source,
# and the crates it and the project use, fetched for Trunk's offline builds.
sysroot=$(rustc --print sysroot)
if [ ! -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]; then
  echo "setup: adding rust-src (the page builds its own standard library)"
  rustup component add rust-src
fi
if ! { cargo fetch --locked -q && RUSTC_BOOTSTRAP=1 cargo fetch --locked -q --manifest-path "$sysroot/lib/rustlib/src/rust/library/Cargo.toml"; }; then
  echo "setup: could not fetch crates; builds use the ones already here" >&2
fi

if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  echo "setup: installing trunk $TRUNK_VERSION (takes several minutes)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: one of its locked dependencies is no longer on the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ "${1:-}" = "--browser" ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v wasm-opt >/dev/null || missing+=(binaryen)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
  fi
fi
