#!/usr/bin/env bash
# Month-end billing from the database against rating the same usage file, in the same
# run: for each size, `stackbill usage import` into SQLite and into MariaDB (a fresh
# database each), `stackbill bill` from each, and `stackbill rate --usage` on the CSV.
# Prints rows/s, bill/rate ratios, peak RSS and database bytes per stored row (SQLite's
# file and log; MariaDB's files as allocated on disk, and their uncompressed size).
# Usage: benches/bill_from_store.sh [ROWS...]   (default: 1000000 36500000)
# Rows are generated as 2,000 tenants x 25 meters x ROWS/50,000 hours.
# MariaDB at 127.0.0.1:3306 (root, no password); BENCH_DIR for the scratch files.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${BENCH_DIR:-/tmp/stackbill-bench}"
mkdir -p "$work"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 36500000)

cargo build --quiet --release --locked -p stackbill-server
bin="$PWD/target/release/stackbill"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "mariadb: $(mariadb -uroot -h127.0.0.1 -N -e 'SELECT VERSION()')"

# Runs a command under /usr/bin/time -v; prints "seconds max_rss_kib".
measure() {
  local log="$work/time.log"
  /usr/bin/time -v "$@" >"$work/stdout" 2>"$log" || { cat "$log" >&2; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  echo "$wall $rss"
}

line() { # label seconds rss rows
  awk -v l="$1" -v s="$2" -v r="$3" -v n="$4" 'BEGIN { printf "  %-22s %8.2f s %11.0f rows/s  peak RSS %6.0f MiB\n", l, s, n/s, r/1024 }'
}

for rows in "${sizes[@]}"; do
  hours=$(( rows / 50000 ))
  usage="$work/usage-$rows.csv"
  scenario="$work/scenario-$rows.json"
  if [ ! -s "$usage" ]; then
    "$bin" gen-usage --tenants 2000 --meters 25 --hours "$hours" --seed 1 --usage "$usage" --scenario "$scenario" --quiet
  fi
  n=$(( $(wc -l <"$usage") - 1 ))
  cat "$usage" >/dev/null
  read -r rate_s rate_rss < <(measure "$bin" rate "$scenario" --usage "$usage" --quiet)

  sqlite="$work/bill-$rows.db"
  rm -f "$sqlite" "$sqlite-wal" "$sqlite-shm"
  lite="sqlite://$sqlite"
  "$bin" import-scenario "$scenario" --database "$lite" 2>/dev/null
  read -r lite_in_s lite_in_rss < <(measure "$bin" usage import "$usage" --quiet --database "$lite")
  read -r lite_bill_s lite_bill_rss < <(measure "$bin" bill --period 2026-10 --database "$lite")
  lite_bytes=$(( $(stat -c %s "$sqlite") + $(stat -c %s "$sqlite-wal" 2>/dev/null || echo 0) ))

  db="stackbill_bench_$rows"
  mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  maria="mysql://root@127.0.0.1:3306/$db"
  "$bin" migrate --database "$maria" 2>/dev/null
  "$bin" import-scenario "$scenario" --database "$maria" 2>/dev/null
  read -r my_in_s my_in_rss < <(measure "$bin" usage import "$usage" --quiet --database "$maria")
  read -r my_bill_s my_bill_rss < <(measure "$bin" bill --period 2026-10 --database "$maria")
  # Fresh statistics first, so information_schema reports the tables' real size.
  mariadb -uroot -h127.0.0.1 -e "ANALYZE TABLE $db.usage_rows, $db.usage_rollups, $db.usage_keys" >/dev/null
  my_logical=$(mariadb -uroot -h127.0.0.1 -N -e "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = '$db'")
  # On disk: the usage tables are page-compressed, so their files hold holes. Their dirty
  # pages are written out first (FLUSH ... FOR EXPORT), then the allocated bytes read.
  mariadb -uroot -h127.0.0.1 "$db" -e "FLUSH TABLES usage_rows, usage_keys, usage_rollups FOR EXPORT; UNLOCK TABLES"
  my_bytes=$(mariadb -uroot -h127.0.0.1 -N -e "SELECT SUM(ALLOCATED_SIZE) FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE '$db/%'")
  mariadb -uroot -h127.0.0.1 -e "DROP DATABASE $db"

  echo
  echo "rows=$n"
  line "stackbill rate --usage" "$rate_s" "$rate_rss" "$n"
  line "sqlite usage import" "$lite_in_s" "$lite_in_rss" "$n"
  line "sqlite bill" "$lite_bill_s" "$lite_bill_rss" "$n"
  line "mariadb usage import" "$my_in_s" "$my_in_rss" "$n"
  line "mariadb bill" "$my_bill_s" "$my_bill_rss" "$n"
  awk -v r="$rate_s" -v a="$lite_bill_s" -v b="$my_bill_s" 'BEGIN { printf "  bill / rate: sqlite %.1fx, mariadb %.1fx (goal <= 2x)\n", a/r, b/r }'
  awk -v n="$n" -v a="$lite_bytes" -v b="$my_bytes" -v c="$my_logical" 'BEGIN { printf "  bytes per stored row: sqlite %.0f, mariadb %.0f on disk, %.0f uncompressed (goal <= 150)\n", a/n, b/n, c/n }'
done
