#!/usr/bin/env bash
# The whole test suite: builds certsched plain and with ASan + UBSan and runs every test on
# each, runs the concurrency tests under ThreadSanitizer, then runs each fuzzer for
# FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release
(cd build && ctest --output-on-failure)
bash scripts/build.sh sanitize
# detect_leaks stays on; RocksDB's shared library is not instrumented, so ASan checks our code.
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure)
# The tests that run threads: group commit, subscriptions and read-ahead walks in the store,
# an engine catching up and projections flushing on two threads, concurrent appenders killed
# mid-write, and `serve` (scheduler, API workers, subscription).
bash scripts/build.sh tsan eventstore_test engine_test projection_test crash_test crash_child api_test certsched
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../tests/tsan.supp" \
  ctest --output-on-failure -R '^(eventstore_test|engine_test|projection_test|crash_test|api_test)$')
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
