#!/usr/bin/env bash
# Usage ingest into MariaDB: `stackbill usage import` (first ingest and full re-ingest)
# against the mariadb client's LOAD DATA LOCAL INFILE of the same CSV into the same table,
# in the same run. Usage: benches/ingest_mariadb.sh [ROWS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
work="${BENCH_DIR:-/tmp/stackbill-bench}"
mkdir -p "$work"
cargo build --quiet --release --locked -p stackbill-server
bin="$PWD/target/release/stackbill"
usage="$work/ingest-$rows.csv"
scenario="$work/ingest-$rows.json"
[ -s "$usage" ] || "$bin" gen-usage --tenants 400 --meters 25 --hours $((rows / 10000)) --seed 3 \
  --usage "$usage" --scenario "$scenario" --quiet
n=$(( $(wc -l <"$usage") - 1 ))
sql() { mariadb -uroot -h127.0.0.1 "$@"; }
now() { date +%s.%N; }
rate() { awk -v n="$n" -v a="$1" -v b="$2" 'BEGIN { printf "%.2f s  %.0f rows/s", b-a, n/(b-a) }'; }

db="stackbill_bench_ingest"
sql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
url="mysql://root@127.0.0.1:3306/$db"
"$bin" migrate --database "$url" 2>/dev/null
"$bin" import-scenario "$scenario" --database "$url" 2>/dev/null
cat "$usage" >/dev/null
t0=$(now); "$bin" usage import "$usage" --database "$url" --quiet; t1=$(now)
t2=$(now); "$bin" usage import "$usage" --database "$url" --quiet; t3=$(now)
stored=$(sql -N -e "SELECT COUNT(*) FROM $db.usage_rows")

# The same rows into the same table and indexes, loaded by the server itself.
ref="stackbill_bench_load"
sql -e "DROP DATABASE IF EXISTS $ref; CREATE DATABASE $ref"
"$bin" migrate --database "mysql://root@127.0.0.1:3306/$ref" 2>/dev/null
sql "$ref" -e "INSERT INTO usage_batches (id, token, source, window_start, window_end) VALUES (1, 'load', 'load', 0, 0)"
t4=$(now)
# Rows only: every row under one key, no roll-ups (LOAD DATA cannot keep them), so this
# is the floor of what writing the rows themselves costs.
sql --local-infile=1 "$ref" -e "LOAD DATA LOCAL INFILE '$usage' INTO TABLE usage_rows
  FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES
  (id, @subscription, @meter, @sku, @resource, @start, @end, quantity)
  SET batch_id = 1, key_id = 1, flags = 0,
    start_ns = TIMESTAMPDIFF(SECOND, '1970-01-01', STR_TO_DATE(@start, '%Y-%m-%dT%H:%i:%sZ')) * 1000000000,
    end_ns = TIMESTAMPDIFF(SECOND, '1970-01-01', STR_TO_DATE(@end, '%Y-%m-%dT%H:%i:%sZ')) * 1000000000"
t5=$(now)
loaded=$(sql -N -e "SELECT COUNT(*) FROM $ref.usage_rows")

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); server: $(sql -N -e 'SELECT VERSION()')"
echo "rows=$n stored=$stored loaded=$loaded"
echo "stackbill usage import, first ingest: $(rate "$t0" "$t1")"
echo "stackbill usage import, re-ingest:    $(rate "$t2" "$t3")"
echo "LOAD DATA LOCAL INFILE:               $(rate "$t4" "$t5")"
awk -v a="$t0" -v b="$t1" -v c="$t4" -v d="$t5" 'BEGIN { printf "first ingest / LOAD DATA throughput: %.2f\n", (d-c)/(b-a) }'
sql -e "DROP DATABASE $db; DROP DATABASE $ref"
