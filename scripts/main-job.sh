#!/usr/bin/env bash
# The main job: builds certsched and runs a realistic rotation on a fresh embedded store,
# with real certificates (openssl), a real TLS listener (nginx) and a real SMTP server
# (aiosmtpd) on loopback. Times are seconds ahead; nothing sleeps for long.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
bash scripts/build.sh release >/dev/null
bin="$PWD/build/adapters/certsched"
work="$(mktemp -d /tmp/certsched-main-job.XXXXXX)"
export CERTSCHED_STORE="$work/store"
smtp_pid=""
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -s stop 2>/dev/null || true
  [ -n "$smtp_pid" ] && kill "$smtp_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
cs() { echo "\$ certsched $*"; "$bin" "$@"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
in_seconds() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
served_fingerprint() { echo | openssl s_client -connect "127.0.0.1:$https_port" 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2; }

step "1. Certificates, made with openssl (keys protected by a password)"
mkdir -p "$work/certs" && cd "$work/certs"
echo 'Rotate-2027!' > pw.txt
make_cert() {  # name [extendedKeyUsage]
  local eku=(); [ -n "${2:-}" ] && eku=(-addext "extendedKeyUsage=$2")
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -passout file:pw.txt -keyout "$1.key" -out "$1.crt" \
    -days 400 -subj "/CN=$1/O=Example Corp" -addext "keyUsage=digitalSignature,keyEncipherment" "${eku[@]}" 2>/dev/null
  echo "  $1: $(openssl x509 -in "$1.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
}
for c in sign-2026 sign-2027 acme-sign-2026 acme-sign-2027; do make_cert "$c"; done
for c in tls-2026 tls-2027; do make_cert "$c" serverAuth; done

step "2. A real SMTP server on loopback (aiosmtpd) and the store"
smtp_port=$(free_port)
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$work/maildir" &
smtp_pid=$!
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break; sleep 0.1; done
cs init --admin-email pki-admin@example.com --smtp "smtp://127.0.0.1:$smtp_port" --mail-from certsched@example.com

step "3. Import our certificates (with keys) and the partner's"
for c in sign-2026 sign-2027 tls-2026 tls-2027; do
  cs cert import --alias "$c" --cert "$c.crt" --key "$c.key" --password-file pw.txt | grep -E "^Imported"
done
for c in acme-sign-2026 acme-sign-2027; do cs cert import --alias "$c" --cert "$c.crt" --partner-cert | grep -E "^Imported"; done

step "4. Partners over several protocols"
cs partner add --id acme --protocol AS2 --email edi@acme.example --local-signing sign-2026 \
   --local-ssl-server tls-2026 --partner-signing acme-sign-2026
cs partner add --id globex --protocol AS2 --cem --email b2b@globex.example --local-signing sign-2026 --local-ssl-server tls-2026
cs partner add --id initech --protocol FTP --email ops@initech.example --local-signing sign-2026

step "5. The HTTP listener: a real nginx serving TLS from the listener directory"
https_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
daemon on; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $work/nginx/tmp;
  server { listen 127.0.0.1:$https_port ssl; ssl_certificate $work/www/cert.pem; ssl_certificate_key $work/www/key.pem;
           location / { return 200 'AS2 endpoint\n'; } } }
NGINX
reload="/usr/sbin/nginx -p $work/nginx -c $work/nginx/nginx.conf -e $work/nginx/error.log -s reload"
cs listener configure HTTP --cert tls-2026 --dir "$work/www"
/usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
cs listener configure HTTP --cert tls-2026 --reload-command "$reload" >/dev/null
echo "  nginx on port $https_port serves $(served_fingerprint)"

step "6. Propose a rotation, then decline it: nothing changes"
cs schedule propose --partners acme,globex,initech --role local-signing=sign-2027 --at "$(in_seconds 4)" --password-file pw.txt
cs schedule decline P1

step "7. Propose again, using the signing certificate for encryption too, mailing the partners; confirm"
at=$(in_seconds 4)
cs schedule propose --partners acme,globex,initech --role local-signing=sign-2027 --use-signing-for-encryption \
   --at "$at" --password-file pw.txt --email-partners
cs schedule confirm P2
cs tick
echo "  mails delivered so far: $(ls "$work/maildir/new" | wc -l)"
grep -h '^Subject:' "$work/maildir/new/"* | sed 's/^/  /'

step "8. New server certificate for the HTTP listener: acme first, so globex blocks it"
cs schedule propose --partners acme --role local-ssl-server=tls-2027 --at "$at" --password-file pw.txt
cs schedule confirm P3
cs listener show HTTP
cs schedule propose --partners globex --role local-ssl-server=tls-2027 --at "$at" --password-file pw.txt
cs schedule confirm P4

step "9. First usage: acme will sign with a new certificate tomorrow, but starts today"
cs schedule propose --partners acme --role partner-signing=acme-sign-2027 --at "$(in_seconds 86400)"
cs schedule confirm P5
echo "UNB+UNOC:3+ACME+EXAMPLE+261129:1000+42'" > order.edi
openssl cms -sign -in order.edi -signer acme-sign-2027.crt -inkey acme-sign-2027.key -passin file:pw.txt -out inbound.smime
cs observe --partner acme --message inbound.smime

step "10. At the scheduled time the scheduler activates everything and installs the listener"
while [ "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \< "$at" ]; do sleep 0.2; done
cs tick
for _ in $(seq 40); do [ "$(served_fingerprint)" = "$(openssl x509 -in tls-2027.crt -noout -fingerprint -sha256 | cut -d= -f2)" ] && break; sleep 0.1; done
echo "  nginx now serves $(served_fingerprint) (tls-2027)"

step "11. The partner and listener views"
cs partner show acme
cs partner show globex
cs listener show
cs schedule list

step "12. The audit trail: who decided what, through which interface, and what it left"
cs audit --partner acme
cs audit --proposal P4

step "13. Compliance reports, and the auditor's question: what did acme use before the rotation?"
cs report inventory
cs report history --format csv
cs report expiring --within 500
cs replay --position 12

step "14. Onboarding and the week's corrections while serve runs: the CLI sends the writes to serve"
api_port=$(free_port)
"$bin" serve --listen "127.0.0.1:$api_port" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do
  curl -sf -H "Authorization: Bearer $(cat "$CERTSCHED_STORE/api-token")" "http://127.0.0.1:$api_port/v1/health" >/dev/null && break
  sleep 0.1
done
echo "  serve (pid $serve_pid) holds the store, API on http://127.0.0.1:$api_port"
make_cert hooli-sign-2027
cs cert import --alias hooli-sign-2027 --cert hooli-sign-2027.crt --partner-cert | grep -E "^Imported"
cs partner add --id hooli --protocol AS4 --email b2b@hooli.example --local-signing sign-2027 --partner-signing hooli-sign-2027
cs audit --partner hooli
echo "  the week's corrections, still through serve: an address, a partner leaving, an old certificate retired"
cs partner update globex --email edi-team@globex.example
cs partner remove initech --reason "contract ended 2026-12-31"
cs cert remove sign-2026 --reason "replaced by sign-2027 everywhere"
cs audit --cert sign-2026 | tail -2
echo "  a backup, taken by serve while it runs"
cs backup "$work/backup"
kill -TERM "$serve_pid" && wait "$serve_pid"
serve_pid=""
echo "  serve stopped; its log:"
sed 's/^/    /' "$work/serve.log"

step "15. Mail sent (aiosmtpd's Maildir)"
grep -h '^Subject:' "$work/maildir/new/"* | sort | uniq -c | sed 's/^/  /'

step "16. The event log, and a verified replay of its hash chain"
cs replay --events
cs replay --verify
echo "  the backup restores to a new store whose log verifies"
cs --store "$work/restored" restore "$work/backup"

step "17. The auditor's evidence pack: exported, then checked with no store"
# Kept after the job (the rest of its files are removed): open its index.html in a browser.
evidence="${CERTSCHED_EVIDENCE_DIR:-$repo/certsched-evidence-$(date -u +%Y%m%dT%H%M%SZ)}"
cs evidence export "$evidence"
"$bin" --store "$CERTSCHED_STORE" --json options show | python3 -c 'import json,sys; print(json.load(sys.stdin)["evidence_public_key"], end="")' > "$work/pinned-evidence-key.pem"
cs evidence verify "$evidence" --key "$work/pinned-evidence-key.pem"
echo "  independently, with the auditor's own checker (Python and openssl, from docs/evidence-format.md):"
python3 "$repo/tests/evidence_check.py" "$evidence" "$work/pinned-evidence-key.pem" | sed 's/^/    /'
echo "  and the signature with openssl alone: $(openssl pkeyutl -verify -pubin -inkey "$work/pinned-evidence-key.pem" -rawin \
  -in "$evidence/checkpoint.json" -sigfile "$evidence/checkpoint.sig")"
echo "  the auditor's page: $evidence/index.html"
