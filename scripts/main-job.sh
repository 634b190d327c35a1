#!/usr/bin/env bash
# The main job: builds certsched and runs a realistic scenario on a fresh embedded store.
# At this stage certsched has its foundation (the event store, `init`, `replay`); the
# scheduling commands land with later issues and this scenario grows with them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release >/dev/null
bin="$PWD/build/adapters/certsched"
work="$(mktemp -d /tmp/certsched-main-job.XXXXXX)"
trap 'rm -rf "$work"' EXIT
store="$work/store"

step() { printf '\n== %s\n' "$*"; }

step "1. Initialise a store"
"$bin" --store "$store" init --admin-email pki-admin@example.com \
  --smtp smtp://127.0.0.1:2525 --mail-from certsched@example.com
ls -l "$store"

step "2. A retried init is refused and changes nothing (exit 3)"
set +e; "$bin" --store "$store" init --admin-email someone@example.com; rc=$?; set -e
echo "exit code $rc"

step "3. The event log, and its verified hash chain"
"$bin" --store "$store" replay
"$bin" --store "$store" --json replay --verify

step "4. The event store at work: durable appends, group commit, idempotency, subscription"
tour="$work/tour"
build/tools/eventstore_tour "$tour"

step "5. An attacker edits one byte of record 100 in a copy, through RocksDB's own ldb tool"
cp -r "$tour" "$work/tampered"
key=0x0000000000000064
value=$(ldb --db="$work/tampered/events" --column_family=log get --key_hex --value_hex "$key")
forged=$(printf '%s' "$value" | sed 's/7878787878/7878797878/')
ldb --db="$work/tampered/events" --column_family=log put --key_hex --value_hex "$key" "$forged" >/dev/null
set +e; "$bin" --store "$work/tampered" replay --verify; rc=$?; set -e
echo "exit code $rc (4 = integrity failure)"
step "The untouched original still verifies"
"$bin" --store "$tour" replay --verify
