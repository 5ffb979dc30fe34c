#!/usr/bin/env bash
# Runs Trunk for the page (`bash scripts/trunk.sh build --release --offline`).
# The page builds its own standard library (cargo's build-std) with the
# page's profile, optimised for size as the rest of the page is, and with
# panics that trap at once (`-Cpanic=immediate-abort`) rather than carrying
# the code that formats a message: a panic ends the page either way, but
# the console no longer gets its message from Yew's panic hook (a plain
# `trunk build` keeps it, to chase one). About 95 KB less gzipped (README,
# "The page's standard library"). Both are unstable cargo and rustc options,
# which RUSTC_BOOTSTRAP lets this stable toolchain use; scripts/setup.sh adds
# the standard library's source (rust-src) and fetches its crates.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ -f "$(rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock" ]; then
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort"
else
  echo "trunk.sh: no rust-src (scripts/setup.sh adds it); the page links the prebuilt standard library" >&2
fi
exec trunk "$@"
