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
what="certsched"
[ ${#targets[@]} -eq 0 ] || what="$*"
echo "build.sh: building $what ($kind, in $dir/): about 5 minutes on 2 cores from nothing (more for the sanitizer builds), seconds when ccache has it" >&2
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
