#!/usr/bin/env bash
# The Node and .NET bindings' overhead over the CLI on the same usage file.
#
#   benches/bindings_overhead.sh [ROWS] [RUNS]      (defaults: 1000000 rows, 7 runs)
#
# Generates ROWS rows (2000 tenants × 25 meters × ROWS/50,000 hours) with `stackbill
# gen-usage`, then times, alternately, RUNS runs of: `stackbill rate` (a process, stdout
# to /dev/null), `rate(scenario, {usage}).toString()` in Node and
# `Engine.RateFile(scenario, usage).ToJson()` under mono (each in a fresh process, timed
# inside it), and prints every run and the medians. Then one rateAsync run with a 10 ms
# timer shows the event loop staying responsive. Everything is built in release.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rows="${1:-1000000}"
runs="${2:-7}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cli="$CARGO_TARGET_DIR/release/stackbill"
dotnet_out="$CARGO_TARGET_DIR/dotnet-release"

cargo build --quiet --release --locked -p stackbill-server
STACKBILL_NODE_PROFILE=release node bindings/node/scripts/build.js 2>/dev/null
PROFILE=release OUT="$dotnet_out" bindings/dotnet/build.sh >/dev/null
mcs -nologo -langversion:7.2 -optimize+ -r:"$dotnet_out/StackBill.dll" -out:"$dotnet_out/Overhead.exe" benches/bindings/Overhead.cs

work="${BENCH_DIR:-${TMPDIR:-/tmp}}/stackbill-bindings-bench"
mkdir -p "$work"
usage="$work/usage-$rows.csv"
scenario="$work/scenario-$rows.json"
if [ ! -s "$usage" ]; then
  "$cli" gen-usage --tenants 2000 --meters 25 --hours $((rows / 50000)) --usage "$usage" --scenario "$scenario" --quiet
fi
echo "usage: $(($(wc -l <"$usage") - 1)) rows, $(du -h "$usage" | cut -f1); machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version); $(mono --version | head -1 | cut -d'(' -f1)"
cat "$usage" "$scenario" >/dev/null # warm the page cache for all three

export STACKBILL_NODE="$root/bindings/node"
cli_t=() node_t=() mono_t=()
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  "$cli" rate "$scenario" --usage "$usage" --quiet >/dev/null
  cli_t+=("$(echo "$(date +%s.%N) - $start" | bc)")
  node_t+=("$(node benches/bindings/overhead.js "$scenario" "$usage" | cut -d' ' -f1)")
  mono_t+=("$(cd "$dotnet_out" && mono Overhead.exe "$scenario" "$usage" | cut -d' ' -f1)")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
c=$(median "${cli_t[@]}") n=$(median "${node_t[@]}") m=$(median "${mono_t[@]}")
printf 'cli runs:  %s\n' "$(printf '%.3f ' "${cli_t[@]}")"
printf 'node runs: %s\n' "$(printf '%.3f ' "${node_t[@]}")"
printf 'mono runs: %s\n' "$(printf '%.3f ' "${mono_t[@]}")"
awk -v c="$c" -v n="$n" -v m="$m" -v r="$rows" 'BEGIN {
  printf "rows=%d cli_median=%.3fs node_median=%.3fs mono_median=%.3fs node/cli=%.3f mono/cli=%.3f\n", r, c, n, m, n / c, m / c }'
echo "rateAsync with a 10 ms timer: $(node benches/bindings/overhead.js "$scenario" "$usage" --async)"
echo "rate (sync) for contrast:     $(node benches/bindings/overhead.js "$scenario" "$usage")"
