#!/usr/bin/env bash
# Installs what is missing, builds the app and serves it at http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export PATH="$HOME/.cargo/bin:$PATH"
exec bash scripts/trunk.sh serve --release --offline --address 127.0.0.1 --port "${PORT:-8080}"
