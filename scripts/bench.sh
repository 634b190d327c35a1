#!/usr/bin/env bash
# Builds certsched (plain) and runs the benchmark program: every figure beside a raw RocksDB
# baseline measured in the same run. Takes several minutes; pass --json for one JSON object,
# --smoke for a seconds-long run whose figures mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release >/dev/null
exec build/benchmarks/certsched-bench "$@"
