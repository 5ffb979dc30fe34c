#!/usr/bin/env bash
# End-to-end test of the browser app: builds dist/ with Trunk, serves it on
# loopback, drives headless Chromium through chromedriver (WebDriver, from a
# standard-library Python client) and exits non-zero on failure.
#   tests/e2e/run.sh           the scenario (stop scheduler → Deployment → link → fresh
#                              profile), then a short page bench that must report
#   tests/e2e/run.sh --bench   frame times at 10x with 100 nodes and 2,000 pods, and
#                              click latency at 60x (--bench --bench-big: also 1,000
#                              nodes and 50,000 pods, with memory)
set -euo pipefail
cd "$(dirname "$0")/../.."

need() { command -v "$1" >/dev/null 2>&1; }
if ! need chromium || ! need chromedriver || ! need python3; then
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver python3 >/dev/null
fi
if ! need trunk; then
  echo "trunk is missing: cargo install trunk --version 0.21.14 --locked" >&2
  exit 1
fi

if [[ "${SKIP_BUILD:-}" != "1" ]]; then
  bash scripts/trunk.sh build --release --offline
fi
test -f dist/index.html

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PAGE_PORT=$(free_port)
DRIVER_PORT=$(free_port)
python3 -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory dist >/tmp/miniplane-e2e-http.log 2>&1 &
HTTP_PID=$!
chromedriver --port="$DRIVER_PORT" >/tmp/miniplane-e2e-driver.log 2>&1 &
DRIVER_PID=$!
trap 'kill $HTTP_PID $DRIVER_PID 2>/dev/null || true' EXIT

for _ in $(seq 50); do
  if curl -fs "http://127.0.0.1:$DRIVER_PORT/status" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$PAGE_PORT/" >/dev/null 2>&1; then break; fi
  sleep 0.2
done

python3 tests/e2e/e2e.py --page "http://127.0.0.1:$PAGE_PORT/" --driver "http://127.0.0.1:$DRIVER_PORT" --http-log /tmp/miniplane-e2e-http.log "$@"
