#!/usr/bin/env bash
# The shipped unit file passes `systemd-analyze verify` with no warning (a warning, such as
# an unknown Type=, does not change its exit code, so any output fails the test), with
# ExecStart pointed at the binary just built.
# Usage: systemd_unit_test.sh UNIT_FILE CERTSCHED_BINARY
set -euo pipefail
unit=$1 binary=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
sed "s#/usr/local/bin/certsched#$binary#" "$unit" > "$scratch/certsched.service"
for directive in Type=notify WatchdogSec= Restart=on-failure User=certsched StateDirectory=certsched \
                 ProtectSystem=strict ReadWritePaths= NoNewPrivileges=yes; do
  grep -q "^$directive" "$scratch/certsched.service" || { echo "the unit has no $directive" >&2; exit 1; }
done
out=$(systemd-analyze verify "$scratch/certsched.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
echo "unit verified"
