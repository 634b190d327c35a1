#!/usr/bin/env bash
# Builds certsched. Usage: scripts/build.sh [release|sanitize|tsan] [TARGET...]
#   release  -> build/           (RelWithDebInfo)
#   sanitize -> build-sanitize/  (AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan     -> build-tsan/      (ThreadSanitizer)
# With TARGETs, builds only those.
set -euo pipefail
cd "$(dirname "$0")/.."
# Lets ccache reuse objects across clones in different folders.
export CCACHE_BASEDIR="$PWD"
kind="${1:-release}"
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) dir=build-sanitize; flags=(-DCMAKE_BUILD_TYPE=Debug -DCERTSCHED_SANITIZE=ON) ;;
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTSCHED_TSAN=ON) ;;
  *) echo "usage: scripts/build.sh [release|sanitize|tsan] [TARGET...]" >&2; exit 2 ;;
esac
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
