#!/usr/bin/env bash
# Runs every test: the engine natively (unit, transcript and property tests),
# the UI components in headless Chromium, and the end-to-end run of the
# built page. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export PATH="$HOME/.cargo/bin:$PATH"

echo "== engine and CLI (native)"
cargo test --locked

echo "== lessons (miniplane lesson list / verify)"
cargo run --locked --quiet -- lesson list
cargo run --locked --quiet -- lesson verify
echo "== fault sweep (short; the README reports a long one)"
cargo run --locked -q -- sweep --seeds 20 --steps 40 --from 5000 --jobs 2

echo "== app build"
bash scripts/trunk.sh build --release --offline

if [ -f tests/web.rs ]; then
  echo "== UI components (wasm-bindgen-test, headless Chromium)"
  # The lesson tests wait on virtual time in an unoptimised build: give the run minutes, not the default 20 s.
  WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}" CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked --target wasm32-unknown-unknown --test web
fi

if [ -x tests/e2e/run.sh ]; then
  echo "== end to end (built page in headless Chromium)"
  SKIP_BUILD=1 tests/e2e/run.sh
fi
