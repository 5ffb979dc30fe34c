#!/usr/bin/env bash
# Writes pgo/miniplane.profdata, the run profile that optimised native builds
# use (tools/rustc-pgo.sh; README, "The profile-guided build"): builds the
# command line instrumented, runs the bench, and merges what it counted.
# Code the bench never runs is laid out as cold (smaller); transcripts and
# the sweep ran no slower for it than without a profile (README). Run it
# again after changes to the engine's hot paths: a function whose code
# changed since is optimised without its counts. About 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
host="$(rustc -vV | sed -n 's/^host: //p')"
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
if [[ ! -x "$tools/llvm-profdata" ]]; then
  rustup component add llvm-tools
fi
work="$PWD/target/pgo"
rm -rf "$work/raw"
mkdir -p "$work/raw"
# The wrapper passes an instrumented build through as it is.
RUSTFLAGS="-Cprofile-generate=$work/raw" CARGO_TARGET_DIR="$work/build" cargo build --release --locked --bin miniplane
bin="$work/build/release/miniplane"

# The bench's counts alone: the build's own instrumented build scripts and
# proc macros write theirs beside them.
LLVM_PROFILE_FILE="$work/raw/bench-%m.profraw" "$bin" bench --nodes 1000 --pods 30000

mkdir -p pgo
# Not --sparse: a function the bench never ran is recorded as such and laid
# out cold; left out, it is optimised as if unprofiled (2.5 % slower, and
# 2 MB more code, measured).
"$tools/llvm-profdata" merge -o pgo/miniplane.profdata "$work/raw"/bench-*.profraw
rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p' > pgo/llvm-major
echo "pgo/miniplane.profdata: $(wc -c < pgo/miniplane.profdata) bytes, LLVM $(cat pgo/llvm-major)"
