#!/usr/bin/env bash
# Cargo's rustc wrapper (.cargo/config.toml, `build.rustc-wrapper`): a native
# build at opt-level 3 (`cargo build --release`, `cargo run --release`) is
# optimised with the run profile in pgo/ (profile-guided optimisation: README,
# "The profile-guided build"). Everything else runs rustc exactly as asked:
# any build that names a --target (the page's, cargo-fuzz's), debug builds
# and tests, build scripts, an instrumented build (scripts/pgo.sh), and any
# build when the profile is missing or was written by another LLVM than
# this rustc's, or when this rustc does not say which LLVM it has.
set -euo pipefail
rustc="$1"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile="$root/pgo/miniplane.profdata"
optimised=false
prev=""
for arg in "$@"; do
  case "$arg" in
    --target|--target=*|-Cprofile-generate*|-Cprofile-use*|profile-generate*|profile-use*) exec "$rustc" "$@" ;;
    -Copt-level=3) optimised=true ;;
    opt-level=3) [[ "$prev" == "-C" ]] && optimised=true ;;
  esac
  prev="$arg"
done
if $optimised && [[ -f "$profile" ]]; then
  llvm="$({ "$rustc" -vV 2>/dev/null || true; } | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
  written="$(cat "$root/pgo/llvm-major" 2>/dev/null || true)"
  if [[ -n "$llvm" && "$llvm" == "$written" ]]; then
    exec "$rustc" "$@" "-Cprofile-use=$profile"
  fi
fi
exec "$rustc" "$@"
