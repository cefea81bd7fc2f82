#!/usr/bin/env bash
# Portal page times on a platform with 2,000 tenants: generated with `gen-usage`
# (2,000 tenants x 25 meters x 2 hours), imported into a fresh SQLite file, October 2026
# billed (2,000 preview invoices); then `stackbill serve` (release build) is signed in to
# once and each page is requested REQUESTS times (default 200) one after another over
# loopback, after one warm-up. Prints p50, p95 and the slowest time per page, as curl
# measures the whole request (loopback adds tens of microseconds).
# Usage: benches/portal_pages.sh [REQUESTS]; BENCH_DIR for the scratch files.
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-200}"
work="${BENCH_DIR:-/tmp/stackbill-bench}/portal"
rm -rf "$work"
mkdir -p "$work"

cargo build --quiet --release --locked -p stackbill-server
bin="$PWD/target/release/stackbill"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

db="sqlite://$work/portal.db"
"$bin" gen-usage --tenants 2000 --meters 25 --hours 2 --seed 1 \
  --usage "$work/usage.csv" --scenario "$work/scenario.json" --quiet
"$bin" import-scenario "$work/scenario.json" --database "$db" 2>/dev/null
"$bin" usage import "$work/usage.csv" --quiet --database "$db"
"$bin" bill --period 2026-10 --database "$db" >/dev/null

STACKBILL_ADMIN_EMAIL=bench@stackbill.test STACKBILL_ADMIN_PASSWORD=bench-portal-password-1 \
  "$bin" serve --database "$db" --key-file "$work/key" --bind 127.0.0.1:0 >"$work/out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q "listening on" "$work/out" && break; sleep 0.1; done
base=$(grep -o 'http://[0-9.:]*' "$work/out" | sed -n 1p)
jar="$work/cookies"
curl -sf -o /dev/null -c "$jar" -X POST "$base/sign-in" \
  --data-urlencode email=bench@stackbill.test --data-urlencode password=bench-portal-password-1
invoice=$(curl -sf -b "$jar" "$base/invoices?period=2026-10" | grep -o 'href="/invoices/[0-9]*"' | sed -n 1p | grep -o '[0-9]*')
tenants=$(curl -sf -b "$jar" "$base/tenants" | grep -o '[0-9,]* tenant(s)' | sed -n 1p)
echo "platform: $tenants; $requests requests per page"

tenant=$(curl -sf -b "$jar" "$base/tenants" | grep -o 'href="/objects/tenants/[^"]*"' | sed -n 1p | cut -d/ -f4 | tr -d '"')
subscription=$(curl -sf -b "$jar" "$base/lists/subscriptions" | grep -o 'href="/objects/subscriptions/[^"]*"' | sed -n 1p | cut -d/ -f4 | tr -d '"')
pricing=$(curl -sf -b "$jar" "$base/lists/pricing" | grep -o 'href="/objects/pricing/[^"]*"' | sed -n 1p | cut -d/ -f4 | tr -d '"')

# Each page REQUESTS times after one warm-up: p50, p95 and the slowest, in milliseconds.
time_pages() {
  local path
  for path in "$@"; do
    curl -sf -o /dev/null -b "$jar" "$base$path"
    for _ in $(seq "$requests"); do
      curl -sf -o /dev/null -b "$jar" -w '%{time_total}\n' "$base$path"
    done | sort -n | awk -v p="$path" '{ t[NR] = $1 * 1000 } END {
      i95 = int(NR * 0.95); if (i95 < 1) i95 = 1
      printf "  %-36s %7.2f ms %6.2f ms %6.2f ms\n", p, t[int((NR + 1) / 2)], t[i95], t[NR] }'
  done
}

printf '  %-36s %9s %9s %9s\n' page p50 p95 slowest
time_pages /dashboard /tenants "/tenants?q=ten-01&sort=subscriptions" "/tenants?page=20" \
  "/invoices?period=2026-10" "/invoices/$invoice" /lists/subscriptions /lists/users \
  /settings/invoices /relationships/new/tenant "/objects/tenants/$tenant" \
  "/objects/subscriptions/$subscription" "/objects/pricing/$pricing" /lists/pricing \
  /lists/commissions /estimate /authenticator "/dashboard?by=region" "/dashboard?by=tenant" \
  "/subscriptions/summary?tenant=$tenant&from=2026-10-01&to=2026-10-31" /settings/identity

# The same pages with a naming override set ("Tenant" shown as "Department"): the cost of
# renaming every label of a page.
token=$(curl -sf -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
  -d '{"EmailAddress":"bench@stackbill.test","Password":"bench-portal-password-1"}' | grep -o '"token":"[^"]*"' | cut -d'"' -f4)
curl -sf -o /dev/null -X PUT "$base/api/v1/settings/branding" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"tenantTerm":"Department"}'
echo "with tenantTerm = Department:"
time_pages /dashboard /tenants "/invoices?period=2026-10" "/objects/tenants/$tenant"
