#!/usr/bin/env bash
# The documented long fuzz run (not part of CI): builds every cargo-fuzz
# target and runs each for SECONDS (default 300) from a fresh corpus, one
# after the other, then prints each target's executions and coverage.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#   scripts/fuzz-long.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode decode_shaped kubectl_args kubectl_run jsonpath selectors patches script fragment scene_replay)
fi
work="${FUZZ_WORK:-$(mktemp -d /tmp/miniplane-fuzz.XXXXXX)}"
mkdir -p "$work"
cargo +nightly fuzz build -O
bin=target/x86_64-unknown-linux-gnu/release
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/artifacts"
  dict=()
  case $t in decode|decode_shaped|kubectl_args|kubectl_run|script|fragment) dict=(-dict=dicts/kubectl.dict) ;; esac
  if ! "$bin/$t" "$work/corpus/$t" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/$t-" -rss_limit_mb=4096 -timeout=30 >"$work/$t.log" 2>&1; then
    echo "$t: FOUND A CRASH (see $work/$t.log and $work/artifacts/)"
    status=1
  fi
done
total=0
printf '%-14s %12s %8s %s\n' target executions seconds coverage
for t in "${targets[@]}"; do
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$work/$t.log" | awk '{print $2}' || true)
  secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+' "$work/$t.log" | awk '{print $5}' || true)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/$t.log" | tail -1 || true)
  printf '%-14s %12s %8s %s\n' "$t" "${runs:-?}" "${secs:-?}" "$cov"
  total=$((total + ${runs:-0}))
done
echo "total executions: $total (logs and corpora in $work)"
exit $status
