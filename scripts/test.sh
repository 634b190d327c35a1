#!/usr/bin/env bash
# The whole test suite: builds certsched plain and with ASan + UBSan and runs every test on
# each, runs the tests that use threads under ThreadSanitizer, then runs each fuzzer for
# FUZZ_SECONDS (default 45). Each phase prints how long it took.
# On a cold 2-core machine (no ccache) this stays well under CI's limit: see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
phase() { echo "test.sh: $1 done after $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s"; }
jobs=$(nproc)

bash scripts/build.sh release
phase "plain build"
(cd build && ctest -j "$jobs" --output-on-failure)
phase "plain tests"

bash scripts/build.sh sanitize
phase "ASan + UBSan build"
# detect_leaks stays on; RocksDB's shared library is not instrumented, so ASan checks our code.
# The cluster chaos test runs for a fixed 100 s of kills and pauses of real processes, and
# the CLI and API scenarios run a second time on a PostgreSQL store: the plain run has them
# (and ThreadSanitizer the API's); under ASan they would add minutes for no code the store's
# own PostgreSQL tests, the cluster tests and the embedded runs do not reach.
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  GTEST_FILTER='-Backends/CliSchedulingTest.*/PostgreSQL:Backends/ApiTest.*/PostgreSQL' \
  ctest -j "$jobs" --output-on-failure -E '^cluster_chaos_test$')
phase "ASan + UBSan tests"

# The tests that run threads: group commit, subscriptions and read-ahead walks in the store,
# an engine catching up and projections flushing on two threads, concurrent appenders killed
# mid-write, and `serve` (scheduler loop, mail worker, listener installs, API workers,
# subscription, commands forwarded to it, a backup it takes while a client appends).
tsan_tests=(eventstore_test eventstore_concurrency_test engine_catch_up_test projection_test crash_test api_test stall_test
  live_operations_test backup_test)
bash scripts/build.sh tsan "${tsan_tests[@]}" crash_child certsched
phase "ThreadSanitizer build"
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../tests/tsan.supp" \
  ctest -j "$jobs" --output-on-failure -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$")
phase "ThreadSanitizer tests"

bash scripts/fuzz.sh "${FUZZ_SECONDS:-45}"
phase "fuzzing"
