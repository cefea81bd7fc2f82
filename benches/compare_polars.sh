#!/usr/bin/env bash
# StackBill end to end (parse + dedup + aggregate + rate + invoices + commissions) against
# Polars reading the same CSV and computing group_by(subscription, meter, sku).sum(quantity),
# in the same run. Usage: benches/compare_polars.sh [ROWS...]   (default: 5000000 36500000)
# Rows are generated as 2,000 tenants x 25 meters x ROWS/50,000 hours.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${BENCH_DIR:-/tmp/stackbill-bench}"
mkdir -p "$work"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000000 36500000)

cargo build --quiet --release --locked -p stackbill-server
bin="$PWD/target/release/stackbill"
if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet polars
fi
py="$work/venv/bin/python"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "polars: $("$py" -c 'import polars; print(polars.__version__)')"

# Runs a command under /usr/bin/time -v; prints "seconds max_rss_kib".
measure() {
  local log="$work/time.log"
  /usr/bin/time -v "$@" >"$work/stdout" 2>"$log"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  echo "$wall $rss"
}

for rows in "${sizes[@]}"; do
  hours=$(( rows / 50000 ))
  usage="$work/usage-$rows.csv"
  scenario="$work/scenario-$rows.json"
  if [ ! -s "$usage" ]; then
    "$bin" gen-usage --tenants 2000 --meters 25 --hours "$hours" --seed 1 --usage "$usage" --scenario "$scenario" --quiet
  fi
  n=$(( $(wc -l <"$usage") - 1 ))
  size=$(du -h "$usage" | cut -f1)
  cat "$usage" >/dev/null   # same warm page cache for both tools
  read -r sb_s sb_rss < <(measure "$bin" rate "$scenario" --usage "$usage" --quiet)
  read -r pe_s pe_rss < <(measure "$py" benches/polars_groupby.py "$usage" eager)
  read -r pl_s pl_rss < <(measure "$py" benches/polars_groupby.py "$usage" lazy)
  best_pl=$(awk -v a="$pe_s" -v b="$pl_s" 'BEGIN { print (a < b) ? a : b }')
  echo
  echo "rows=$n file=$size"
  awk -v n="$n" -v s="$sb_s" -v r="$sb_rss" 'BEGIN { printf "  stackbill rate:      %7.2f s  %10.0f rows/s  peak RSS %6.0f MiB\n", s, n/s, r/1024 }'
  awk -v n="$n" -v s="$pe_s" -v r="$pe_rss" 'BEGIN { printf "  polars read_csv:     %7.2f s  %10.0f rows/s  peak RSS %6.0f MiB\n", s, n/s, r/1024 }'
  awk -v n="$n" -v s="$pl_s" -v r="$pl_rss" 'BEGIN { printf "  polars scan_csv:     %7.2f s  %10.0f rows/s  peak RSS %6.0f MiB\n", s, n/s, r/1024 }'
  awk -v p="$best_pl" -v s="$sb_s" 'BEGIN { printf "  ratio (best polars time / stackbill time): %.2f  (>= 1 means StackBill is at least as fast)\n", p/s }'
done
