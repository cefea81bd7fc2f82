#!/usr/bin/env bash
# Throughput and latency of an authenticated list endpoint of `stackbill serve`, measured
# with wrk from a second process on loopback: 1,000 subscriptions in scope (the generated
# scenario's hierarchy imported into a fresh SQLite database), a platform administrator's
# bearer token, GET /api/v1/subscriptions with the default page (100) and with all 1,000.
#
#   benches/api_wrk.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
connections="${2:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -p stackbill-server >/dev/null
bin="${CARGO_TARGET_DIR:-target}/release/stackbill"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" gen-usage --quiet --tenants 1000 --meters 1 --hours 1 \
  --usage "$work/usage.csv" --scenario "$work/scenario.json"
"$bin" import-scenario "$work/scenario.json" --database "sqlite://$work/db.sqlite" >/dev/null
STACKBILL_ADMIN_EMAIL=bench@stackbill.test STACKBILL_ADMIN_PASSWORD=bench-password-123 \
  "$bin" serve --database "sqlite://$work/db.sqlite" --key-file "$work/key" \
  --bind 127.0.0.1:0 >"$work/out" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/out" && break; sleep 0.1; done
base=$(grep -o 'http://[0-9.:]*' "$work/out" | head -1)
token=$(curl -s -X POST "$base/api/v1/auth/token" -H 'Content-Type: application/json' \
  -d '{"EmailAddress":"bench@stackbill.test","Password":"bench-password-123"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
count=$(curl -s "$base/api/v1/subscriptions?pageSize=1000" -H "Authorization: Bearer $token" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
echo "subscriptions in scope: $count"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for query in "" "?pageSize=1000"; do
  echo
  echo "== GET /api/v1/subscriptions$query  (${seconds}s, $connections connections, 2 wrk threads)"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
    "$base/api/v1/subscriptions$query"
done
