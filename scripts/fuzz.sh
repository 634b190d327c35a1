#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (with ASan + UBSan) and runs each one for
# SECONDS (default 60), starting from the seed corpora in tests/fuzz/corpus/. New inputs go
# to build-fuzz/corpus/, anything that crashes to build-fuzz/crashes/, and the run fails.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(record_fuzzer certificate_fuzzer smime_fuzzer arguments_fuzzer api_fuzzer)
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTSCHED_FUZZ=ON >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "$t"); done
cmake --build build-fuzz -j "$(nproc)" "${build_targets[@]}"
mkdir -p build-fuzz/crashes
# Scratch stores the targets make (the API target's) stay inside build-fuzz/.
rm -rf build-fuzz/tmp && mkdir -p build-fuzz/tmp
export TMPDIR="$PWD/build-fuzz/tmp"
# One target per core at a time (libFuzzer runs on one thread).
run_target() {
  local t=$1 name="${1%_fuzzer}"
  mkdir -p "build-fuzz/corpus/$name"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: one using 2 GiB is a leak or a bomb.
  if ! "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/crashes/$name-" "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" \
       >"build-fuzz/$name.log" 2>&1; then
    tail -n 60 "build-fuzz/$name.log"
    echo "fuzz: $t FAILED; the input is in build-fuzz/crashes/" >&2
    return 1
  fi
  echo "fuzz: $t ran ${seconds}s: $(grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)" \
    "build-fuzz/$name.log" | tr '\n' ' ')"
}
pids=() failed=0
for t in "${targets[@]}"; do
  if [ ${#pids[@]} -ge "$(nproc)" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
  echo "fuzz: $t for ${seconds}s"
  run_target "$t" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" -eq 0 ] || exit 1
echo "fuzz: every target ran ${seconds}s without a finding"
