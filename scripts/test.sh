#!/usr/bin/env bash
# Builds certsched twice (plain, and with ASan + UBSan) and runs the whole test suite on each.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release
(cd build && ctest --output-on-failure)
bash scripts/build.sh sanitize
# detect_leaks stays on; RocksDB's shared library is not instrumented, so ASan checks our code.
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure)
