#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds and runs tests/consumer against it
# with find_package(certsched): the installed library, headers and config must suffice.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
test -f "$scratch/prefix/lib/cmake/certsched/certschedConfig.cmake"
if find "$scratch/prefix/include" -name '*.h' -print0 | xargs -0 grep -l 'nternal to ' | grep -q .; then
  echo "an internal header was installed" >&2
  exit 1
fi
cmake -S "$source/tests/consumer" -B "$scratch/consumer" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/consumer" >/dev/null
"$scratch/consumer/consumer" "$scratch/store"
